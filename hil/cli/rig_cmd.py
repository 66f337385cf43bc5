"""``hil rig check [--rig FILE] [--seconds S] [--set KEY=VALUE] [--json]``: is every device of
a rig connected and healthy? One row per check (``hil.preflight``, docs/preflight.md).

Exit codes: 0 every row green; 1 a row is red (or an emulator could not start); 6 no row red
but one amber; 2 usage or configuration error, a ``sim`` or ``replay`` rig (no devices to
check) included; 130 interrupted.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from pathlib import Path
from typing import Any

from hil.cli.arguments import add_overrides, finite_float
from hil.cli.run_cmd import DEFAULT_RIG
from hil.config.loader import load_rig
from hil.errors import ConfigError
from hil.preflight.check import NoDevicesError, run_preflight
from hil.preflight.report import plain_lines, rich_table, summary_line
from hil.run.summary import plain

MAX_SECONDS = 60.0


def window_seconds(text: str) -> float:
    """Seconds of measurement: finite, in (0, 60]."""
    value = finite_float(text)
    if not 0 < value <= MAX_SECONDS:
        raise argparse.ArgumentTypeError(f"must be seconds in (0, {MAX_SECONDS:g}], got {text}")
    return value


def register(commands: Any) -> None:
    parser = commands.add_parser("rig", help="the rig as a whole: preflight check")
    actions = parser.add_subparsers(dest="rig_action", required=True, metavar="ACTION")
    check = actions.add_parser(
        "check",
        help="connect to every device of a rig and report one row per health check",
        description="Preflight of a rig (docs/preflight.md): reachability, ICD versions, radar "
        "mode, temperature, faults, frame rate, CRC errors, clock offset and drift; PLC e-stop, "
        "interlock chain, faults, rounds, watchdog, arm state, scan counter, axes; round-trip "
        "latency of both. Nothing moves, arms or fires. Exit codes: 0 every row green, 1 a row "
        "is red, 6 no row red but one amber, 2 usage or configuration error (a sim or replay "
        "rig has no devices).",
    )
    check.add_argument(
        "--rig",
        type=Path,
        default=DEFAULT_RIG,
        metavar="FILE",
        help="rig TOML (default: the bundled rigs/emulate.toml — the emulators, started and "
        "stopped by the check)",
    )
    check.add_argument(
        "--seconds",
        type=window_seconds,
        default=None,
        metavar="S",
        help="measurement window for rates, clock and latency (default: the rig's "
        "preflight.window_s, 3 s unless set; the clock drift needs about 1 s or more)",
    )
    add_overrides(check, "rig", "preflight.radar_max_temperature_c=55")
    check.add_argument("--json", action="store_true", help="one JSON object on stdout")
    check.set_defaults(handler=run_check)


def run_check(args: argparse.Namespace) -> int:
    rig = load_rig(args.rig, args.overrides)
    try:
        report = asyncio.run(run_preflight(rig, args.seconds or rig.preflight.window_s))
    except NoDevicesError as error:
        raise ConfigError([f"{args.rig}: {error}"]) from error
    if args.json:
        print(json.dumps(plain(report.as_json()), allow_nan=False))
    elif sys.stdout.isatty():
        from rich.console import Console

        console = Console()
        console.print(rich_table(report))
        for note in report.notes:
            console.print(f"note: {note}", markup=False, highlight=False)
        console.print(summary_line(report), markup=False, highlight=False)
    else:
        print("\n".join(plain_lines(report)))
    return report.exit_code
