"""``hil config check FILE...``: validate config files as they will run, stop at the first bad one.

A rig file is checked with what ``hil run`` would apply to it: ``HIL_RIG__SECTION__KEY``
environment variables and ``--set KEY=VALUE`` overrides (``--set`` wins over the environment,
which wins over the file). Scenario, emulated-PLC and register-map files are checked as they are.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from hil.campaign.loader import is_campaign_file, load_campaign
from hil.cli.arguments import add_overrides
from hil.config.loader import load_as_run
from hil.config.rig import RigConfig
from hil.errors import ConfigError

EXIT_USAGE = 2


def register(commands: Any) -> None:
    parser = commands.add_parser("config", help="work with configuration files")
    actions = parser.add_subparsers(dest="action", required=True, metavar="ACTION")
    check = actions.add_parser(
        "check",
        help="validate config files as they will run; exit 2 at the first bad one",
        description="Validate rig, scenario, emulated-PLC, register-map and campaign files. Rig "
        "files are checked with the HIL_RIG__… environment variables and --set overrides "
        "applied, as hil run applies them; a campaign file with every rig, scenario and "
        "recording it names, as hil campaign run loads it.",
    )
    check.add_argument("files", nargs="+", type=Path, metavar="FILE")
    add_overrides(check, "rig (as hil run --set does; rig files only)", "rig.mode=emulate")
    check.set_defaults(handler=run_check)


def run_check(args: argparse.Namespace) -> int:
    rigs = 0
    for path in args.files:
        try:
            if is_campaign_file(path):
                campaign = load_campaign(path)
                print(f"ok    {path} (campaign {campaign.name!r}, {len(campaign.cases)} cases)")
                continue
            config, applied = load_as_run(path, args.overrides)
        except ConfigError as error:
            for line in error.problems:
                print(f"error: {line}", file=sys.stderr)
            return EXIT_USAGE
        rigs += isinstance(config, RigConfig)
        with_overrides = f" with {', '.join(applied)}" if applied else ""
        print(f"ok    {path} ({type(config).__name__}{with_overrides})")
    if args.overrides and not rigs:
        print(
            "error: --set overrides rig values, and none of the files checked is a rig file "
            "(one with a [rig] table)",
            file=sys.stderr,
        )
        return EXIT_USAGE
    return 0
