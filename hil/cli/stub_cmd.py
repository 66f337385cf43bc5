"""``hil stub radar`` and ``hil stub plc``: run an emulated device until SIGINT/SIGTERM.

Prints exactly one line ``READY <pyserial-url>`` on stdout once a client can connect; logs go to
stderr. Leaves no pty, symlink or socket behind when it stops.
"""

from __future__ import annotations

import argparse
import asyncio
import signal
import sys
from pathlib import Path
from typing import Any

from drivers.plc.register_map import load_register_map
from firmware_stubs.plc.server import PlcEmulator
from firmware_stubs.radar.emulator import RadarEmulator
from firmware_stubs.radar.endpoints import Endpoint, PtyEndpoint, TcpEndpoint
from firmware_stubs.radar.faults import LinkFaults
from hil.cli.arguments import (
    add_overrides,
    host_port,
    non_negative_int,
    positive_float,
    probability,
    seed,
)
from hil.config.loader import load_config, load_plc_emulator
from hil.config.scenario import ScenarioConfig
from hil.radar_stub import build_radar_firmware

DEFAULT_PLC_CONFIG = (
    Path(__file__).resolve().parents[2] / "configs" / "plc" / "emulator-default.toml"
)


def register(commands: Any) -> None:
    parser = commands.add_parser("stub", help="run an emulated bench device")
    devices = parser.add_subparsers(dest="device", required=True, metavar="DEVICE")
    radar = devices.add_parser("radar", help="the turntable radar (serial ICD) on a pty or TCP")
    radar.add_argument(
        "--scenario",
        type=Path,
        required=True,
        metavar="FILE",
        help="scenario whose real targets and [radar] the firmware simulates",
    )
    add_overrides(radar, "scenario", "'radar.position_enu_m=[0, 0, 2.5]'")
    radar.add_argument(
        "--seed",
        type=seed,
        default=0,
        metavar="N",
        help="seed of the sensor noise, detections and clutter (default 0)",
    )
    where = radar.add_mutually_exclusive_group(required=True)
    where.add_argument("--pty", action="store_true", help="serve on a pseudo-terminal")
    where.add_argument(
        "--tcp", type=host_port, metavar="HOST:PORT", help="serve raw TCP (port 0: any free port)"
    )
    radar.add_argument(
        "--pty-link",
        type=Path,
        default=None,
        metavar="PATH",
        help="with --pty: the symlink clients open (default: in a temp dir)",
    )
    radar.add_argument(
        "--rotate",
        type=float,
        default=None,
        metavar="RPM",
        help="power on ROTATING at this speed instead of STANDBY",
    )
    faults = radar.add_argument_group("fault injection")
    faults.add_argument(
        "--corrupt-rate",
        type=probability,
        default=0.0,
        metavar="P",
        help="chance per byte sent of one flipped bit",
    )
    faults.add_argument(
        "--drop-rate",
        type=probability,
        default=0.0,
        metavar="P",
        help="chance per frame of never sending it",
    )
    faults.add_argument(
        "--garbage-rate",
        type=probability,
        default=0.0,
        metavar="P",
        help="chance per frame of a 1-64 byte garbage burst before it",
    )
    faults.add_argument(
        "--stall-ms",
        type=non_negative_int,
        default=0,
        metavar="N",
        help="length of each stall (needs --stall-every)",
    )
    faults.add_argument(
        "--stall-every",
        type=positive_float,
        default=0.0,
        metavar="S",
        help="stall period in seconds",
    )
    faults.add_argument(
        "--hangup-every",
        type=positive_float,
        default=0.0,
        metavar="S",
        help="close the link every S seconds, then reopen / accept again",
    )
    faults.add_argument("--fault-seed", type=seed, default=0, metavar="N")
    radar.set_defaults(handler=run_radar_stub)

    plc = devices.add_parser("plc", help="the launcher PLC (Modbus TCP, or RTU on a pty pair)")
    where_plc = plc.add_mutually_exclusive_group(required=True)
    where_plc.add_argument(
        "--tcp",
        type=host_port,
        metavar="HOST:PORT",
        help="Modbus TCP server (port 0: any free port)",
    )
    where_plc.add_argument(
        "--rtu-pty", action="store_true", help="Modbus RTU on a pseudo-terminal pair"
    )
    plc.add_argument(
        "--pty-link",
        type=Path,
        default=None,
        metavar="PATH",
        help="with --rtu-pty: the symlink clients open (default: in a temp dir)",
    )
    plc.add_argument(
        "--config",
        type=Path,
        default=DEFAULT_PLC_CONFIG,
        metavar="FILE",
        help="emulated-PLC settings (default: configs/plc/emulator-default.toml)",
    )
    plc.set_defaults(handler=run_plc_stub)


def run_radar_stub(args: argparse.Namespace) -> int:
    if args.pty_link is not None and not args.pty:
        raise SystemExit("error: --pty-link goes with --pty")
    config = load_config(args.scenario, ScenarioConfig, args.overrides)
    assert isinstance(config, ScenarioConfig)
    firmware = build_radar_firmware(config, args.seed, args.rotate)
    faults = LinkFaults(
        corrupt_byte_rate=args.corrupt_rate,
        drop_frame_rate=args.drop_rate,
        garbage_burst_rate=args.garbage_rate,
        stall_ms=args.stall_ms,
        stall_every_s=args.stall_every,
        hangup_every_s=args.hangup_every,
    )
    endpoint: Endpoint = PtyEndpoint(args.pty_link) if args.pty else TcpEndpoint(*args.tcp)
    emulator = RadarEmulator(firmware, endpoint, faults, args.fault_seed)
    asyncio.run(_serve(emulator))
    return 0


def run_plc_stub(args: argparse.Namespace) -> int:
    if args.pty_link is not None and not args.rtu_pty:
        raise SystemExit("error: --pty-link goes with --rtu-pty")
    settings = load_plc_emulator(args.config).settings()
    host, port = args.tcp if args.tcp else ("127.0.0.1", 0)
    emulator = PlcEmulator(
        load_register_map(),
        settings,
        host=host,
        port=port,
        rtu_pty=args.rtu_pty,
        pty_link=args.pty_link,
    )
    asyncio.run(_serve_plc(emulator))
    return 0


def _stop_on_signals() -> asyncio.Event:
    """An event set by SIGINT/SIGTERM. Installed before the READY line is printed, so a client
    that signals as soon as it reads READY still gets a clean shutdown."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    return stop


async def _serve_plc(emulator: PlcEmulator) -> None:
    stop = _stop_on_signals()
    async with emulator:
        print(
            f"panel tcp {emulator.panel_url} (unit {emulator.panel_unit_id})",
            file=sys.stderr,
            flush=True,
        )
        print(f"READY {emulator.url}", flush=True)
        await stop.wait()
    m = emulator.model
    print(
        f"plc stub stopped: {emulator.requests} requests, {emulator.dropped} dropped, "
        f"{m.launch_count} launches, {m.fire_reject_count} refused FIRE requests, "
        f"{emulator.scans_late} late scans",
        file=sys.stderr,
    )


async def _serve(emulator: RadarEmulator) -> None:
    stop = _stop_on_signals()
    async with emulator:
        endpoint = emulator.endpoint
        if isinstance(endpoint, PtyEndpoint):
            print(
                f"pty slave {endpoint.slave_path} (clients open the link {emulator.url}, which "
                "follows the pty across hangups)",
                file=sys.stderr,
                flush=True,
            )
        print(f"READY {emulator.url}", flush=True)
        await stop.wait()
    c = emulator.firmware.counters
    f = emulator.injector.counters
    print(
        f"radar stub stopped: {c.frames_sent} DETECTIONS frames, {c.crc_errors} host CRC "
        f"errors, {f.frames_dropped} frames dropped, {f.bytes_corrupted} bytes corrupted, "
        f"{emulator.hangups} hangups, {emulator.stalls} stalls",
        file=sys.stderr,
    )
