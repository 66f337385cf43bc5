"""``hil radar monitor`` and ``hil radar command``: operator tools on a radar link.

The monitor only listens: it sends nothing. ``t_host_s`` is the host's monotonic clock in seconds
(arrival time, or the device time mapped onto it once a PING has synchronised the clocks).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import sys
from dataclasses import asdict
from typing import Any

from drivers.errors import DriverError
from drivers.radar.driver import RadarDriver, RadarFrame, RadarHealth
from drivers.radar.messages import Ack, Detections, Pong, RadarMode, Status, Unknown
from hil.cli.arguments import non_negative_int, positive_float

BAUDS = (115200, 460800, 921600, 3000000)


def register(commands: Any) -> None:
    parser = commands.add_parser("radar", help="talk to a turntable radar (bench or emulated)")
    actions = parser.add_subparsers(dest="action", required=True, metavar="ACTION")

    monitor = actions.add_parser("monitor", help="print decoded frames; sends nothing")
    monitor.add_argument("url", metavar="URL", help="pyserial URL (device, socket://, rfc2217://)")
    monitor.add_argument("--baud", type=int, choices=BAUDS, default=921600)
    monitor.add_argument(
        "--count",
        type=non_negative_int,
        default=0,
        metavar="N",
        help="stop after N frames (default: until interrupted)",
    )
    monitor.add_argument(
        "--json",
        action="store_true",
        help="one JSON object per frame on stdout; health counters to stderr",
    )
    monitor.add_argument("--connect-timeout", type=positive_float, default=5.0, metavar="S")
    monitor.set_defaults(handler=run_monitor)

    command = actions.add_parser("command", help="send one command and print the answer")
    command.add_argument("url", metavar="URL")
    command.add_argument("--baud", type=int, choices=BAUDS, default=921600)
    command.add_argument("--connect-timeout", type=positive_float, default=5.0, metavar="S")
    verbs = command.add_subparsers(dest="verb", required=True, metavar="VERB")
    verbs.add_parser("set-rpm", help="turntable speed").add_argument(
        "rpm", type=float, help="rpm, positive clockwise, −60..60"
    )
    verbs.add_parser("set-mode", help="standby | rotating | sector").add_argument(
        "mode", choices=["standby", "rotating", "sector"]
    )
    sector = verbs.add_parser("set-sector", help="sector-scan limits in degrees")
    sector.add_argument("centre_deg", type=float)
    sector.add_argument("width_deg", type=float)
    verbs.add_parser("ping", help="round trip and clock offset").add_argument(
        "--count", type=non_negative_int, default=5
    )
    verbs.add_parser("status", help="request a STATUS")
    command.set_defaults(handler=run_command)


def frame_json(frame: RadarFrame) -> dict[str, Any]:
    """A frame as the monitor's JSON object, in SI units."""
    m = frame.message
    out: dict[str, Any] = {
        "type": type(m).__name__.upper(),
        "seq": frame.seq,
        "t_device_s": frame.t_device_s,
        "t_host_s": frame.t_host_s,
    }
    if isinstance(m, Detections):
        out |= {
            "type": "DETECTIONS",
            "scan_id": m.scan_id,
            "antenna_az_rad": m.antenna_az_rad,
            "antenna_el_rad": m.antenna_el_rad,
            "detections": [
                {"range_m": r, "az_rad": a, "el_rad": e, "vr_mps": v, "snr_db": s, "flags": f}
                for r, a, e, v, s, f in zip(
                    m.range_m.tolist(),
                    m.az_rad.tolist(),
                    m.el_rad.tolist(),
                    m.vr_mps.tolist(),
                    m.snr_db.tolist(),
                    m.flags.tolist(),
                    strict=True,
                )
            ],
        }
    elif isinstance(m, Status):
        out |= {
            "mode": m.mode.name,
            "fault_bits": m.fault_bits,
            "rpm": m.rpm,
            "temp_c": m.temp_c,
            "frames_sent": m.frames_sent,
            "crc_errors": m.crc_errors,
            "uptime_s": m.uptime_s,
        }
    elif isinstance(m, Ack):
        out |= {"acked_seq": m.acked_seq, "acked_type": m.acked_type, "result": m.result_name}
    elif isinstance(m, Pong):
        out |= {"nonce": m.nonce}
    elif isinstance(m, Unknown):
        out |= {"type": "UNKNOWN", "msg_type": m.msg_type, "payload_hex": m.payload.hex()}
    return out


def frame_text(frame: RadarFrame) -> str:
    return f"{frame.t_host_s:12.6f} seq {frame.seq:5d} {message_text(frame.message)}"


def message_text(m: object) -> str:
    """One message for people: SI values, angles in degrees."""
    if isinstance(m, Detections):
        line = (
            f"DETECTIONS t {m.t_device_s:.6f} s scan {m.scan_id} "
            f"az {math.degrees(m.antenna_az_rad):7.2f}° {m.count} detections"
        )
        for r, a, e, v, s in zip(m.range_m, m.az_rad, m.el_rad, m.vr_mps, m.snr_db, strict=True):
            line += (
                f"\n    r {r:9.1f} m  az {math.degrees(a):8.3f}°  el {math.degrees(e):7.3f}°"
                f"  vr {v:8.2f} m/s  snr {s:6.2f} dB"
            )
        return line
    if isinstance(m, Status):
        return (
            f"STATUS {m.mode.name} {m.rpm:.2f} rpm {m.temp_c:.1f} °C faults "
            f"{m.fault_bits:#06x} sent {m.frames_sent} crc_errors {m.crc_errors} "
            f"uptime {m.uptime_s} s"
        )
    return repr(m)


def health_text(health: RadarHealth) -> str:
    fields = asdict(health)
    fields["link_state"] = health.link_state.value
    return "health: " + " ".join(f"{k}={v}" for k, v in fields.items())


def run_monitor(args: argparse.Namespace) -> int:
    return asyncio.run(_monitor(args))


async def _monitor(args: argparse.Namespace) -> int:
    received = 0
    async with RadarDriver(args.url, args.baud) as radar:
        try:
            await radar.wait_up(args.connect_timeout)
            while not args.count or received < args.count:
                frame = await radar.receive()
                received += 1
                print(json.dumps(frame_json(frame)) if args.json else frame_text(frame), flush=True)
        except DriverError as error:
            print(f"error: {error}", file=sys.stderr)
            return 1
        finally:
            health = radar.health()
            if args.json:
                payload = asdict(health) | {"link_state": health.link_state.value}
                print(json.dumps({"health": payload}), file=sys.stderr)
            else:
                print(health_text(health))
    return 0


def run_command(args: argparse.Namespace) -> int:
    return asyncio.run(_command(args))


async def _command(args: argparse.Namespace) -> int:
    async with RadarDriver(args.url, args.baud, reconnect_after_silence_s=None) as radar:
        try:
            await radar.wait_up(args.connect_timeout)
            if args.verb == "set-rpm":
                await radar.set_rpm(args.rpm)
            elif args.verb == "set-mode":
                await radar.set_mode(RadarMode[args.mode.upper()])
            elif args.verb == "set-sector":
                await radar.set_sector(math.radians(args.centre_deg), math.radians(args.width_deg))
            elif args.verb == "status":
                print(message_text(await radar.request_status()))
                return 0
            else:
                for _ in range(max(args.count, 1)):
                    result = await radar.ping()
                    print(
                        f"rtt {result.rtt_s * 1e3:.3f} ms  device {result.device_s:.6f} s  "
                        f"offset {result.clock_offset_s:.6f} s"
                    )
                return 0
        except (DriverError, ValueError) as error:
            print(f"error: {error}", file=sys.stderr)
            return 1
    print("OK")
    return 0
