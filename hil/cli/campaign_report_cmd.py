"""``hil campaign report DIR``: render ``DIR/report.html`` again from ``DIR/results.json`` and
the recordings it names (after a change to the report code, or when a campaign was stopped
before it wrote its report).

Exit codes: 0 the report was written (its path on stdout); 2 DIR is missing or is not a
campaign's results folder (one line naming the folder or the file and key).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from hil.campaign.report import ResultsError, render

EXIT_USAGE = 2


def register_report(actions: Any) -> None:
    """Add ``report`` to the ``campaign`` group's sub-parsers ``actions``."""
    report = actions.add_parser(
        "report",
        help="re-render report.html from a results folder's results.json and recordings",
        description="Write DIR/report.html from DIR/results.json and the recordings it names: "
        "the verdict table, each criterion's measured value against its limit, per case the "
        "plots of one run, and the `hil replay` command of each failure.",
    )
    report.add_argument(
        "folder", type=Path, metavar="DIR", help="a campaign's results folder (runs/<stamp>-<name>)"
    )
    report.set_defaults(handler=run_report)


def run_report(args: argparse.Namespace) -> int:
    try:
        path = render(args.folder)
    except ResultsError as error:
        print(f"error: {error}", file=sys.stderr)
        return EXIT_USAGE
    print(f"report: {path}")
    return 0
