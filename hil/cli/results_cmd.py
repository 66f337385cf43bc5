"""``hil results import DIR… | list | show ID``: the results store (``hil.history``;
docs/results-store.md), and ``store_after_run``, which ``hil campaign run`` calls once its
results.json is written.

The store: ``--store URL``, else ``HIL_RESULTS_STORE``, else ``runs/results.db`` (or
``$HIL_RUNS_DIR/results.db``); ``hil campaign run`` also reads its rig file's ``[results]``.

Exit codes: 0 done; 1 ``import``: a folder could not be read or stored (each named on one
line; the others are still imported), ``show``: no stored campaign has that id (or the prefix
names several); 2 usage, or a store that cannot be used (a bad URL, unreachable or locked past
its timeout, or made by a newer hil-testbed; for list and show, a SQLite file that does not
exist: reading never makes a store).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from sqlalchemy.exc import SQLAlchemyError

from hil.campaign.results import ResultsError
from hil.cli import results_analysis_cmd
from hil.cli.arguments import add_store_option, positive_int
from hil.errors import HilError
from hil.history.ingest import write_campaign
from hil.history.location import StoreError, choose_location
from hil.history.queries import campaign_detail, campaigns, resolve_id
from hil.history.store import Store, open_store

EXIT_FAILED = 1
EXIT_USAGE = 2


def register(commands: Any) -> None:
    parser = commands.add_parser(
        "results",
        help="the results store: import results folders, list and show stored campaigns",
        description="The results store of every campaign (docs/results-store.md). Exit codes: "
        "0 done; 1 a folder could not be imported (the rest were) or no campaign has that id; "
        "2 usage, or a store that cannot be used (bad URL, unreachable, locked past its "
        "timeout, newer than this hil-testbed, or for list/show a SQLite file that does not "
        "exist).",
    )
    sub = parser.add_subparsers(dest="results_command", required=True, metavar="COMMAND")
    imported = sub.add_parser(
        "import",
        help="store campaigns from their results folders (idempotent; backfills old folders)",
        description="Store each results folder's campaign (runs/<stamp>-<campaign>/). A "
        "campaign stored already is left as it is. Exit codes: 0 every folder stored (or "
        "stored already), 1 a folder was not a results folder or could not be stored (named; "
        "the others still imported), 2 usage or a store that cannot be used.",
    )
    imported.add_argument("folders", type=Path, nargs="+", metavar="DIR")
    add_store_option(imported)
    imported.set_defaults(handler=run_import)
    listed = sub.add_parser(
        "list",
        help="the stored campaigns, newest last",
        description="The stored campaigns, newest last: id, start, name, verdict, runs, rig "
        "fingerprint and software. Exit codes: 0 listed, 2 usage or a store that cannot be "
        "used.",
    )
    listed.add_argument("--campaign", default=None, metavar="NAME", help="only this campaign")
    listed.add_argument(
        "--last", type=positive_int, default=None, metavar="N", help="only the newest N"
    )
    listed.add_argument("--json", action="store_true", help="one JSON array")
    add_store_option(listed)
    listed.set_defaults(handler=run_list)
    shown = sub.add_parser(
        "show",
        help="one stored campaign: cases, runs, criteria, rig fingerprint",
        description="Everything stored of one campaign. ID: its id or a unique prefix of it. "
        "Exit codes: 0 shown, 1 no campaign has that id (or the prefix names several), 2 "
        "usage or a store that cannot be used.",
    )
    shown.add_argument("campaign_id", metavar="ID")
    shown.add_argument("--json", action="store_true", help="one JSON object, measurements too")
    add_store_option(shown)
    shown.set_defaults(handler=run_show)
    results_analysis_cmd.register(sub)


def _open(option: str | None, reading: bool = False) -> Store | None:
    """The store of ``--store`` / the environment / the default; None (after one error line)
    when it cannot be used. ``reading`` (list, show): a SQLite file that does not exist is not
    made — an error line says no store is there."""
    try:
        return open_store(choose_location(option), create=not reading)
    except StoreError as error:
        print(f"error: {error}", file=sys.stderr)
        return None


def run_import(args: argparse.Namespace) -> int:
    store = _open(args.store)
    if store is None:
        return EXIT_USAGE
    failed = 0
    with store:
        for folder in args.folders:
            try:
                written = write_campaign(store, folder)
            except ResultsError as error:
                print(f"error: {error}", file=sys.stderr)
                failed += 1
                continue
            state = "stored" if written.stored else "stored already"
            print(
                f"{folder}: {state} as {written.campaign_id} ({written.name}, {written.runs} runs)"
            )
        print(
            f"{len(args.folders) - failed} of {len(args.folders)} folders in the results store "
            f"{store.location.shown()}"
        )
    return EXIT_FAILED if failed else 0


def _listing(store: Store, name: str | None, last: int | None) -> list[dict[str, Any]]:
    return [
        {
            "id": campaign.campaign_id,
            "name": campaign.name,
            "started_utc": campaign.started_utc.strftime("%Y-%m-%dT%H:%M:%SZ"),
            "finished_utc": campaign.finished_utc.strftime("%Y-%m-%dT%H:%M:%SZ"),
            "verdict": campaign.verdict,
            "campaign_digest": campaign.campaign_digest,
            "rig_fingerprint": campaign.rig_fingerprint,
            "software_version": campaign.software_version,
            "git_commit": campaign.git_commit,
            "results_folder": campaign.results_folder,
        }
        for campaign in campaigns(store, name=name, last=last)
    ]


def run_list(args: argparse.Namespace) -> int:
    store = _open(args.store, reading=True)
    if store is None:
        return EXIT_USAGE
    with store:
        try:
            rows = _listing(store, args.campaign, args.last)
        except StoreError as error:
            print(f"error: {error}", file=sys.stderr)
            return EXIT_USAGE
    if args.json:
        print(json.dumps(rows))
        return 0
    if not rows:
        print(f"no campaigns stored in {store.location.shown()}")
        return 0
    width = max(len(row["name"]) for row in rows)
    heading = f"{'ID':<12}  {'STARTED (UTC)':<20}  {'CAMPAIGN':<{width}}  {'VERDICT':<11}"
    print(f"{heading}  RIG       SOFTWARE")
    for row in rows:
        software = row["software_version"] + (f" {row['git_commit']}" if row["git_commit"] else "")
        print(
            f"{row['id'][:12]:<12}  {row['started_utc']:<20}  {row['name']:<{width}}  "
            f"{row['verdict']:<11}  {row['rig_fingerprint'][:8]}  {software}"
        )
    return 0


def run_show(args: argparse.Namespace) -> int:
    store = _open(args.store, reading=True)
    if store is None:
        return EXIT_USAGE
    with store:
        try:
            detail = campaign_detail(store, resolve_id(store, args.campaign_id))
        except StoreError as error:
            print(f"error: {error}", file=sys.stderr)
            return EXIT_FAILED
    if args.json:
        print(json.dumps(detail))
        return 0
    for line in show_lines(detail):
        print(line)
    return 0


def show_lines(detail: dict[str, Any]) -> list[str]:
    """``hil results show``'s text: the campaign, then per case its runs and criteria."""
    software = detail["software_version"] + (
        f" ({detail['git_commit']})" if detail["git_commit"] else ""
    )
    lines = [
        f"campaign {detail['name']} {detail['id']}: {detail['verdict'].upper()}",
        f"  started {detail['started_utc']}, finished {detail['finished_utc']}"
        + (f" ({detail['wall_s']:g} s)" if detail["wall_s"] is not None else ""),
        f"  campaign file {detail['campaign_file']} (sha256 {detail['campaign_digest'][:12]})",
        f"  rig {detail['rig_file']} (fingerprint {detail['rig_fingerprint'][:12]})",
        f"  software {software} on {detail['host']}",
        f"  results {detail['results_folder']}",
    ]
    for case in detail["cases"]:
        emulated = " EMULATED" if case["emulated"] else ""
        runs = case["runs"]
        counts: dict[str, int] = {}
        for run in runs:
            counts[run["verdict"]] = counts.get(run["verdict"], 0) + 1
        tally = ", ".join(f"{n} {verdict}" for verdict, n in sorted(counts.items()))
        lines.append(
            f"case {case['name']} ({case['mode']}){emulated}: {case['verdict'].upper()} — "
            f"{len(runs)} runs: {tally}"
        )
        for criterion in case["criteria"]:
            measured = criterion["measured"]
            shown = criterion["measured_text"] if measured is None else f"{measured:g}"
            lines.append(
                f"  {criterion['outcome'].upper():<5} {criterion['text']} (measured {shown})"
            )
        for run in runs:
            if run["verdict"] != "pass":
                why = f": {run['error']}" if run["error"] else ""
                lines.append(f"  {run['verdict'].upper():<5} seed {run['seed']}{why}")
    lines.extend(
        f"preflight {row['verdict'].upper():<5} {row['name']}  {row['value']}"
        for row in detail["preflight_rows"]
    )
    return lines


def store_after_run(store: Store, folder: Path) -> tuple[str, bool]:
    """``hil campaign run``'s write of the campaign in ``folder`` to its open ``store`` once its
    results.json is written: one line saying where it was stored, or why not (then True: a
    warning). Never raises for the store: the campaign's verdict does not depend on it."""
    try:
        written = write_campaign(store, folder)
    except (HilError, OSError, SQLAlchemyError) as error:
        # the campaign's verdict must survive the store: one line, and how to add it later
        reason = " ".join(str(error).split())
        return f"results not stored: {reason}; add them later: hil results import {folder}", True
    return f"stored in the results store {store.location.shown()} as {written.campaign_id}", False
