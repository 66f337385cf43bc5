"""``hil stub radar`` and ``hil stub plc``: run an emulated device until told to stop.

Prints exactly one line ``READY <pyserial-url>`` on stdout once a client can connect (the radar
with ``--control`` adds `` control=tcp://HOST:PORT``, its emulator-only control port); logs go to
stderr. Stops cleanly on SIGINT, SIGTERM or SIGHUP and, with ``--parent-pid PID``, when that
process (its parent) dies or closes the stub's stdin (``firmware_stubs.lifeline``). Leaves no
pty, symlink or socket behind when it stops. Exit codes: 0 after a stop, 2 for bad arguments
or settings, 1 when it cannot serve (port in use, pty link path unusable, parent gone).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import signal
import sys
from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import Any, NoReturn

from drivers.plc.register_map import load_register_map
from firmware_stubs.errors import EndpointError, ParentGoneError
from firmware_stubs.lifeline import die_with_parent, is_pipe, watch_pipe
from firmware_stubs.plc.server import PlcEmulator
from firmware_stubs.radar.control import ControlServer
from firmware_stubs.radar.emulator import RadarEmulator
from firmware_stubs.radar.endpoints import Endpoint, PtyEndpoint, TcpEndpoint
from firmware_stubs.radar.faults import LinkFaults
from hil.cli.arguments import add_overrides, probability, seed
from hil.cli.stub_arguments import MAX_RPM, listen_address, milliseconds, period_s, process_id, rpm
from hil.config.bundled import bundled_file
from hil.config.loader import load_config
from hil.config.scenario import ScenarioConfig
from hil.errors import HilError
from hil.rig.emulators import build_radar_firmware, load_plc_settings

DEFAULT_PLC_CONFIG = bundled_file("plc/emulator-default.toml")
STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)


def add_parent_pid(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--parent-pid",
        type=process_id,
        default=None,
        metavar="PID",
        help="stop when process PID, which started this stub, dies or closes the stub's stdin "
        "(a pipe); refuse to start if PID is not the parent (hil run passes its own)",
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
        "--tcp",
        type=listen_address,
        metavar="HOST:PORT",
        help="serve raw TCP (port 0: any free port; IPv6 as [::1]:PORT)",
    )
    radar.add_argument(
        "--pty-link",
        type=Path,
        default=None,
        metavar="PATH",
        help="with --pty: the symlink clients open (default: in a new temp dir); removed when "
        "the stub stops",
    )
    radar.add_argument(
        "--control",
        type=listen_address,
        default=None,
        metavar="HOST:PORT",
        help="serve the emulator-only control port (faults switched at run time, one JSON "
        "line per command; docs/radar-protocol.md) on HOST:PORT (port 0: any free port), "
        "announced on the READY line as control=tcp://HOST:PORT",
    )
    radar.add_argument(
        "--rotate",
        type=rpm,
        default=None,
        metavar="RPM",
        help=f"power on ROTATING at this speed instead of STANDBY (-{MAX_RPM:g} to {MAX_RPM:g}; "
        "positive is clockwise)",
    )
    add_parent_pid(radar)
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
        type=milliseconds,
        default=0,
        metavar="N",
        help="length of each stall (needs --stall-every)",
    )
    faults.add_argument(
        "--stall-every",
        type=period_s,
        default=0.0,
        metavar="S",
        help="stall period in seconds (needs --stall-ms)",
    )
    faults.add_argument(
        "--hangup-every",
        type=period_s,
        default=0.0,
        metavar="S",
        help="close the link every S seconds, then reopen / accept again",
    )
    faults.add_argument(
        "--fault-seed",
        type=seed,
        default=0,
        metavar="N",
        help="seed of the injected faults (default 0)",
    )
    radar.set_defaults(handler=run_radar_stub, usage_error=radar.error)

    plc = devices.add_parser("plc", help="the launcher PLC (Modbus TCP, or RTU on a pty pair)")
    where_plc = plc.add_mutually_exclusive_group(required=True)
    where_plc.add_argument(
        "--tcp",
        type=listen_address,
        metavar="HOST:PORT",
        help="Modbus TCP server (port 0: any free port; IPv6 as [::1]:PORT)",
    )
    where_plc.add_argument(
        "--rtu-pty", action="store_true", help="Modbus RTU on a pseudo-terminal pair"
    )
    plc.add_argument(
        "--pty-link",
        type=Path,
        default=None,
        metavar="PATH",
        help="with --rtu-pty: the symlink clients open (default: in a new temp dir); removed when "
        "the stub stops",
    )
    plc.add_argument(
        "--config",
        type=Path,
        default=DEFAULT_PLC_CONFIG,
        metavar="FILE",
        help="emulated-PLC settings (default: the bundled plc/emulator-default.toml)",
    )
    add_parent_pid(plc)
    plc.set_defaults(handler=run_plc_stub, usage_error=plc.error)


def run_radar_stub(args: argparse.Namespace) -> int:
    usage_error: Callable[[str], NoReturn] = args.usage_error
    if args.pty_link is not None and not args.pty:
        usage_error("--pty-link goes with --pty")
    if bool(args.stall_ms) != bool(args.stall_every):
        usage_error("--stall-ms and --stall-every go together (a stall's length and its period)")
    _tie_to_parent(args.parent_pid)
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
    control = ControlServer(emulator, *args.control) if args.control else None
    _run(_serve_radar(emulator, control, watch_parent=args.parent_pid is not None))
    return 0


def run_plc_stub(args: argparse.Namespace) -> int:
    usage_error: Callable[[str], NoReturn] = args.usage_error
    if args.pty_link is not None and not args.rtu_pty:
        usage_error("--pty-link goes with --rtu-pty")
    _tie_to_parent(args.parent_pid)
    settings = load_plc_settings(args.config)
    host, port = args.tcp if args.tcp else ("127.0.0.1", 0)
    emulator = PlcEmulator(
        load_register_map(),
        settings,
        host=host,
        port=port,
        rtu_pty=args.rtu_pty,
        pty_link=args.pty_link,
    )
    _run(_serve_plc(emulator, watch_parent=args.parent_pid is not None))
    return 0


def _tie_to_parent(parent_pid: int | None) -> None:
    if parent_pid is None:
        return
    try:
        die_with_parent(parent_pid)
    except (ParentGoneError, OSError) as error:
        raise HilError(f"--parent-pid {parent_pid}: {error}") from error


def _run(serve: Coroutine[Any, Any, None]) -> None:
    """Run the serving coroutine; an endpoint it cannot serve is one clear error."""
    try:
        asyncio.run(serve)
    except EndpointError as error:
        raise HilError(str(error)) from error


def _stop_requests(watch_parent: bool) -> asyncio.Event:
    """An event set by SIGINT, SIGTERM or SIGHUP and, with ``watch_parent``, by end of file on
    stdin when it is a pipe (its other end is the parent's). Installed before the READY line is
    printed, so a client that signals as soon as it reads READY still gets a clean shutdown."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in STOP_SIGNALS:
        loop.add_signal_handler(signum, stop.set)
    if watch_parent and is_pipe(sys.stdin.fileno()):
        watch_pipe(sys.stdin.fileno(), stop.set)
    return stop


async def _until_stopped(stop: asyncio.Event, serving: asyncio.Task[None]) -> None:
    """Wait for a stop request; if the emulator's own task fails first, raise its error (the
    caller's ``async with`` then closes the emulator, removing its pty link)."""
    stopped = asyncio.create_task(stop.wait(), name="stop request")
    try:
        await asyncio.wait({stopped, serving}, return_when=asyncio.FIRST_COMPLETED)
    finally:
        stopped.cancel()
        await asyncio.gather(stopped, return_exceptions=True)
    if serving.done():
        serving.result()  # raises what ended it


def _after_stop() -> None:
    """Once the emulator is closed nothing is left to clean up: a late SIGTERM (say, from a
    parent that sent SIGINT too) must not turn a clean stop into death by signal."""
    loop = asyncio.get_running_loop()
    for signum in STOP_SIGNALS:
        loop.remove_signal_handler(signum)
        signal.signal(signum, signal.SIG_IGN)


def _say(text: str) -> None:
    """A line on stderr; a parent that has gone no longer reads it."""
    with contextlib.suppress(BrokenPipeError):
        print(text, file=sys.stderr, flush=True)


async def _serve_plc(emulator: PlcEmulator, watch_parent: bool) -> None:
    stop = _stop_requests(watch_parent)
    async with emulator:
        _say(f"panel tcp {emulator.panel_url} (unit {emulator.panel_unit_id})")
        print(f"READY {emulator.url}", flush=True)
        await _until_stopped(stop, emulator.serving)
    _after_stop()
    m = emulator.model
    _say(
        f"plc stub stopped: {emulator.requests} requests, {emulator.dropped} dropped, "
        f"{m.launch_count} launches, {m.fire_reject_count} refused FIRE requests, "
        f"{emulator.scans_late} late scans"
    )


async def _serve_radar(
    emulator: RadarEmulator, control: ControlServer | None, watch_parent: bool
) -> None:
    stop = _stop_requests(watch_parent)
    async with emulator, contextlib.AsyncExitStack() as stack:
        endpoint = emulator.endpoint
        if isinstance(endpoint, PtyEndpoint):
            _say(
                f"pty slave {endpoint.slave_path} (clients open the link {emulator.url}, which "
                "follows the pty across hangups)"
            )
        ready = f"READY {emulator.url}"
        if control is not None:
            await stack.enter_async_context(control)
            ready += f" control={control.url}"
        print(ready, flush=True)
        await _until_stopped(stop, emulator.serving)
    _after_stop()
    c = emulator.firmware.counters
    f = emulator.injector.counters
    _say(
        f"radar stub stopped: {c.frames_sent} DETECTIONS frames, {c.crc_errors} host CRC "
        f"errors, {f.frames_dropped} frames dropped, {f.bytes_corrupted} bytes corrupted, "
        f"{emulator.hangups} hangups, {emulator.stalls} stalls"
    )
