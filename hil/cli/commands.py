"""The ``hil`` command line's commands: the parser and ``run``, which ``hil.cli.main`` calls once
it can take Ctrl-C. Exit codes: see ``hil.cli``.

Each command lives in its own module with ``register()``; ``COMMANDS`` names the module of each,
and only the command being run is imported (as python-can resolves its interfaces by name): a
``hil stub radar`` child process loads the emulator, not the campaign report's plotting or the
Dask client, so it starts in about a third of the time. ``hil --help`` (no command, or one that
is not known) imports them all to list them."""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Callable, Sequence

from hil import __version__
from hil.errors import ConfigError, HilError
from hil.logs import configure_logging

EXIT_OK = 0
EXIT_FAILURE = 1
EXIT_USAGE = 2
EXIT_INTERRUPTED = 130

COMMANDS: dict[str, str] = {
    "config": "hil.cli.config_cmd",
    "run": "hil.cli.run_cmd",
    "replay": "hil.cli.replay_cmd",
    "campaign": "hil.cli.campaign_cmd",
    "results": "hil.cli.results_cmd",
    "sim": "hil.cli.sim_cmd",
    "stub": "hil.cli.stub_cmd",
    "radar": "hil.cli.radar_cmd",
    "plc": "hil.cli.plc_cmd",
    "record": "hil.cli.record_cmd",
    "rig": "hil.cli.rig_cmd",
    "telemetry": "hil.cli.telemetry_cmd",
    "init": "hil.cli.init_cmd",
}
"""Each command's name and the module that registers it, in ``hil --help``'s order."""


def command_named(argv: Sequence[str]) -> str | None:
    """The command ``argv`` runs: its first word that is not an option (the parser's own
    options, ``-v``/``--verbose``, take no value), if that is a known command."""
    for word in argv:
        if word == "--":
            return None
        if not word.startswith("-"):
            return word if word in COMMANDS else None
    return None


def build_parser(argv: Sequence[str] | None = None) -> argparse.ArgumentParser:
    """The parser of ``argv``'s command alone, or of every command when ``argv`` names none
    (``None``: every command)."""
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
    named = None if argv is None else command_named(argv)
    for name, module in COMMANDS.items():
        if named is None or name == named:
            importlib.import_module(module).register(commands)
    return parser


def run(argv: Sequence[str] | None, started: Callable[[], None]) -> int:
    """The command of ``argv``; returns the process exit code. ``started`` is called when the
    command itself begins: from then on Ctrl-C is the command's (a clean stop of its own, or
    ``KeyboardInterrupt``: ``interrupted`` and 130 here)."""
    words = sys.argv[1:] if argv is None else argv
    parser = build_parser(words)
    args = parser.parse_args(words)
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
