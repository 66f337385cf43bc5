"""The ``hil`` command line. Each sub-command lives in its own module with ``register()``."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from hil import __version__
from hil.cli import config_cmd, radar_cmd, run_cmd, sim_cmd, stub_cmd
from hil.errors import ConfigError, HilError

EXIT_OK = 0
EXIT_FAILURE = 1
EXIT_USAGE = 2


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="hil", description="Radar/launcher hardware-in-the-loop bench."
    )
    parser.add_argument("--version", action="version", version=f"hil-testbed {__version__}")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for module in (config_cmd, run_cmd, sim_cmd, stub_cmd, radar_cmd):
        module.register(commands)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``hil`` console script; returns the process exit code."""
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
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
        return 130
    return code


if __name__ == "__main__":
    sys.exit(main())
