"""``hil radar monitor`` and ``hil radar command``: operator tools on a radar link.

The monitor only listens: it sends nothing. It prints every delivered frame and every change of
the link's state (UP, STALE, DOWN and why) as it happens, then the link's health counters.
``t_host_s`` is the host's monotonic clock in seconds (arrival time, or the device time mapped
onto it once a PING has synchronised the clocks).

Exit codes (as for every ``hil`` command): 0 done; 1 the radar could not be reached or refused a
command; 2 bad input (URL, option or value), said in one line with the fix; 130 interrupted
(Ctrl-C); the monitor also stops on SIGTERM, with its health line, and exits 143.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import os
import sys
from dataclasses import asdict
from typing import Any

from drivers.errors import CommandRejectedError, DriverError, DriverTimeoutError
from drivers.radar.driver import LinkChange, RadarDriver, RadarFrame, RadarHealth
from drivers.radar.messages import Ack, AckResult, Detections, Pong, RadarMode, Status, Unknown
from drivers.radar.url import device_problem, url_problem
from hil.cli.arguments import connect_timeout_s, finite_float, non_negative_int
from hil.cli.device_tool import StdoutLines, until_sigterm
from hil.errors import ConfigError, HilError

BAUDS = (115200, 460800, 921600, 3000000)
MAX_RPM = 60.0
"""The ICD's SET_RPM range is −6000..6000 centi-rpm."""


def rpm(text: str) -> float:
    """A turntable speed in rpm inside the ICD's range."""
    value = finite_float(text)
    if abs(value) > MAX_RPM:
        raise argparse.ArgumentTypeError(
            f"{text} rpm is outside the ICD's −{MAX_RPM:g}..{MAX_RPM:g} rpm (positive clockwise)"
        )
    return value


def sector_centre_deg(text: str) -> float:
    value = finite_float(text)
    if not -360.0 <= value <= 360.0:
        raise argparse.ArgumentTypeError(f"sector centre must lie in −360..360°, got {text}")
    return value


def sector_width_deg(text: str) -> float:
    value = finite_float(text)
    if not 0.0 <= value <= 360.0:
        raise argparse.ArgumentTypeError(f"sector width must lie in 0..360°, got {text}")
    return value


def positive_int(text: str) -> int:
    value = non_negative_int(text)
    if value == 0:
        raise argparse.ArgumentTypeError("must be ≥ 1, got 0")
    return value


def _add_link_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "url",
        metavar="URL",
        help="the radar's port: a device path (/dev/ttyUSB0), socket://HOST:PORT, "
        "rfc2217://HOST:PORT",
    )
    parser.add_argument("--baud", type=int, choices=BAUDS, default=921600)
    parser.add_argument(
        "--connect-timeout",
        type=connect_timeout_s,
        default=5.0,
        metavar="S",
        help="give up if the link is not up after S seconds (default 5)",
    )


def register(commands: Any) -> None:
    parser = commands.add_parser("radar", help="talk to a turntable radar (bench or emulated)")
    actions = parser.add_subparsers(dest="action", required=True, metavar="ACTION")

    monitor = actions.add_parser(
        "monitor", help="print decoded frames and link state changes; sends nothing"
    )
    _add_link_arguments(monitor)
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
        help="one JSON object per frame or link change on stdout; health counters to stderr",
    )
    monitor.set_defaults(handler=run_monitor)

    command = actions.add_parser("command", help="send one command and print the answer")
    _add_link_arguments(command)
    verbs = command.add_subparsers(dest="verb", required=True, metavar="VERB")
    verbs.add_parser("set-rpm", help="turntable speed").add_argument(
        "rpm", type=rpm, help=f"rpm, positive clockwise, −{MAX_RPM:g}..{MAX_RPM:g}"
    )
    verbs.add_parser("set-mode", help="standby | rotating | sector").add_argument(
        "mode", choices=["standby", "rotating", "sector"]
    )
    sector = verbs.add_parser("set-sector", help="sector-scan limits in degrees")
    sector.add_argument(
        "centre_deg", type=sector_centre_deg, help="centre, degrees clockwise from zero"
    )
    sector.add_argument("width_deg", type=sector_width_deg, help="width, 0..360 degrees")
    verbs.add_parser("ping", help="round trip and clock offset").add_argument(
        "--count", type=positive_int, default=5, metavar="N"
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


def link_change_json(change: LinkChange) -> dict[str, Any]:
    """A change of link state as the monitor's JSON object (``type`` ``LINK``)."""
    return {
        "type": "LINK",
        "state": change.state.value,
        "t_host_s": change.t_host_s,
        "detail": change.detail,
    }


def link_change_text(change: LinkChange) -> str:
    return f"{change.t_host_s:12.6f} link {change.state.name}: {change.detail}"


def health_text(health: RadarHealth) -> str:
    """``health: key=value ...``; a text with spaces is quoted, a missing value is ``-``."""
    return "health: " + " ".join(f"{k}={_value_text(v)}" for k, v in asdict(health).items())


def _value_text(value: object) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:.6g}"
    if isinstance(value, str) and (not value or any(c.isspace() for c in value)):
        return json.dumps(value, ensure_ascii=False)
    return str(value)


def _check_target(url: str) -> None:
    """Raise ``ConfigError`` (exit 2) for a URL or path that can never be a radar's port."""
    problem = url_problem(url)
    if problem is None and os.path.exists(url):
        problem = device_problem(url)
    if problem is not None:
        raise ConfigError([problem])


async def _connect(radar: RadarDriver, timeout_s: float) -> None:
    """Wait for the link; ``HilError`` (exit 1) saying why it did not come up, and the fix."""
    try:
        await radar.wait_up(timeout_s)
    except DriverTimeoutError as error:
        url = radar.url
        reason = device_problem(url) or radar.health().last_error or "no answer"
        for repeat in (f"Could not open port {url}: ", f"{url}: "):  # the URL is said once
            reason = reason.replace(repeat, "")
        if url.startswith(("socket://", "rfc2217://")):
            reason += (
                "; check that the radar's serial server (or `hil stub radar --tcp`) runs there"
            )
        raise HilError(f"radar {url}: not connected after {timeout_s:g} s: {reason}") from error


def run_monitor(args: argparse.Namespace) -> int:
    _check_target(args.url)
    return asyncio.run(_monitor(args))


async def _monitor(args: argparse.Namespace) -> int:
    """Until ``--count`` frames, Ctrl-C (exit 130) or SIGTERM (exit 143); health at the end."""
    out = StdoutLines()

    def on_link_change(change: LinkChange) -> None:
        out.line(json.dumps(link_change_json(change)) if args.json else link_change_text(change))

    async def monitoring() -> None:
        async with RadarDriver(args.url, args.baud, on_link_change=on_link_change) as radar:
            await _connect(radar, args.connect_timeout)
            try:
                await _print_frames(radar, args, out)
            finally:
                health = radar.health()
                if args.json:
                    print(json.dumps({"health": asdict(health)}), file=sys.stderr)
                else:
                    out.line(health_text(health))

    return await until_sigterm(monitoring)


async def _print_frames(radar: RadarDriver, args: argparse.Namespace, out: StdoutLines) -> None:
    received = 0
    try:
        while not out.closed and (not args.count or received < args.count):
            frame = await radar.receive()
            received += 1
            out.line(json.dumps(frame_json(frame)) if args.json else frame_text(frame))
    except DriverError as error:
        raise HilError(str(error)) from error


REJECTION_HINTS: dict[int, str] = {
    AckResult.BAD_ARGUMENT: "the radar refused the value (ICD: speed −60..60 rpm, sector width "
    "0..360°)",
    AckResult.BAD_STATE: "the radar is in FAULT mode; read its fault bits with "
    "`hil radar command URL status` and clear the fault first",
    AckResult.UNSUPPORTED: "this radar's firmware does not support the command",
}


def run_command(args: argparse.Namespace) -> int:
    _check_target(args.url)
    return asyncio.run(_command(args))


async def _command(args: argparse.Namespace) -> int:
    async with RadarDriver(args.url, args.baud, reconnect_after_silence_s=None) as radar:
        await _connect(radar, args.connect_timeout)
        try:
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
                for _ in range(args.count):
                    result = await radar.ping()
                    print(
                        f"rtt {result.rtt_s * 1e3:.3f} ms  device {result.device_s:.6f} s  "
                        f"offset {result.clock_offset_s:.6f} s"
                    )
                return 0
        except CommandRejectedError as error:
            hint = REJECTION_HINTS.get(error.result, "see the radar's documentation")
            raise HilError(f"{args.verb}: {error}; {hint}") from error
        except DriverError as error:
            raise HilError(f"{args.verb}: {error}") from error
    print("OK")
    return 0
