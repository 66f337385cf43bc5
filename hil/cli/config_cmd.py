"""``hil config check FILE...``: validate config files, stop at the first bad one."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from hil.config.loader import load_config
from hil.errors import ConfigError


def register(commands: Any) -> None:
    parser = commands.add_parser("config", help="work with configuration files")
    actions = parser.add_subparsers(dest="action", required=True, metavar="ACTION")
    check = actions.add_parser(
        "check", help="validate rig and scenario files; exit non-zero at the first bad one"
    )
    check.add_argument("files", nargs="+", type=Path, metavar="FILE")
    check.set_defaults(handler=run_check)


def run_check(args: argparse.Namespace) -> int:
    for path in args.files:
        try:
            config = load_config(path)
        except ConfigError as error:
            for line in error.problems:
                print(f"error: {line}", file=sys.stderr)
            return 2
        print(f"ok    {path} ({type(config).__name__})")
    return 0
