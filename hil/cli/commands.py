"""The ``hil`` command line's commands: the parser (each sub-command lives in its own module
with ``register()``) and ``run``, which ``hil.cli.main`` calls once it can take Ctrl-C. Exit
codes: see ``hil.cli``."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence

from hil import __version__
from hil.cli import (
    campaign_cmd,
    config_cmd,
    init_cmd,
    plc_cmd,
    radar_cmd,
    record_cmd,
    replay_cmd,
    results_cmd,
    rig_cmd,
    run_cmd,
    sim_cmd,
    stub_cmd,
    telemetry_cmd,
)
from hil.errors import ConfigError, HilError
from hil.logs import configure_logging

EXIT_OK = 0
EXIT_FAILURE = 1
EXIT_USAGE = 2
EXIT_INTERRUPTED = 130


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="hil", description="Radar/launcher hardware-in-the-loop bench."
    )
    parser.add_argument("--version", action="version", version=f"hil-testbed {__version__}")
    parser.add_argument(
        "-v",
        "--verbose",
        action="count",
        default=0,
        help="more log output on stderr: -v info (pymodbus included), -vv debug (pymodbus "
        "frame dumps); without it, warnings only, one line each",
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for module in (
        config_cmd,
        run_cmd,
        replay_cmd,
        campaign_cmd,
        results_cmd,
        sim_cmd,
        stub_cmd,
        radar_cmd,
        plc_cmd,
        record_cmd,
        rig_cmd,
        telemetry_cmd,
        init_cmd,
    ):
        module.register(commands)
    return parser


def run(argv: Sequence[str] | None, started: Callable[[], None]) -> int:
    """The command of ``argv``; returns the process exit code. ``started`` is called when the
    command itself begins: from then on Ctrl-C is the command's (a clean stop of its own, or
    ``KeyboardInterrupt``: ``interrupted`` and 130 here)."""
    parser = build_parser()
    args = parser.parse_args(argv)
    configure_logging(args.verbose)
    try:
        started()
        code: int = args.handler(args)
    except ConfigError as error:
        for line in error.problems:
            print(f"error: {line}", file=sys.stderr)
        return EXIT_USAGE
    except HilError as error:
        print(f"error: {error}", file=sys.stderr)
        return EXIT_FAILURE
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    return code
