"""``hil campaign run [FILE] [--out DIR] [--only CASE] [--jobs N] [--executor E] [--arm]
[--set KEY=VALUE] [--json]``:
every case of a campaign file (default: the bundled campaigns/demo.toml), results in
``<out>/<UTC YYYYmmddTHHMMSSZ>-<campaign>/``: ``results.json``, ``junit.xml``, ``report.html``
and ``recordings/``. ``hil campaign report DIR`` (``hil.cli.campaign_report_cmd``) renders the
report again. Once results.json is written the campaign goes to the results store (``--store``,
``--no-store``; opened once per campaign, ``open_campaign_store``, for the regression baseline,
the report's history and the write, ``hil.cli.results_cmd.store_after_run``): a store that
cannot be used is one warning line, never a change of verdict or exit code.

Bench runs wait for a rig preflight (``hil.campaign.preflight``): a red row refuses them (each an
``error`` record naming the row) unless ``--ignore-preflight ROW`` lets it pass.

``--set KEY=VALUE`` is applied to every case's rig (not replay cases: they play their
recordings' own) and recorded in results.json. A ``[regression]`` table is judged against the
results store's earlier comparable campaigns (``hil.history.regression``).

Exit codes: 0 every criterion passed; 1 a criterion failed, a regression was found, or a run
could not be performed; 2 a bad campaign file, ``--set`` or usage, or a Dask scheduler that
cannot be used (unreachable, or a worker running other software); 130 stopped by SIGINT
(Ctrl-C), 143 by SIGTERM, 129 by SIGHUP — finished runs kept, the rest ``not_run``, the rig
left SAFE, and the results still written.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import dataclasses
import json
import os
import sys
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy.exc import SQLAlchemyError

from hil.campaign import junit, results
from hil.campaign.executor import open_executor
from hil.campaign.executor.base import EXECUTOR_FORMS, ExecutorSpec, parse_executor
from hil.campaign.loader import DEMO, Campaign, load_campaign
from hil.campaign.model import RegressionSpec
from hil.campaign.plan import plan
from hil.campaign.preflight import PreflightGate, check_ignored
from hil.campaign.progress import LineProgress, LiveProgress, SilentProgress, say
from hil.campaign.report import ReportHistory, render
from hil.campaign.runner import CampaignRun, run_campaign
from hil.campaign.summary import exit_summary
from hil.cli import campaign_report_cmd
from hil.cli.arguments import add_overrides, positive_int
from hil.cli.results_cmd import store_after_run
from hil.config.loader import load_rig
from hil.errors import ConfigError, HilError
from hil.history.ingest import rig_fingerprint
from hil.history.location import choose_location
from hil.history.regression import judge_regressions
from hil.history.report_history import report_history
from hil.history.source import HistorySource
from hil.history.store import Store, open_store
from hil.history.store_source import StoreHistory
from hil.run.runs_folder import RUNS_DIR_VARIABLE, runs_dir

EXIT_FAILED = 1
EXIT_SIGNAL_BASE = 128


def executor_argument(text: str) -> ExecutorSpec:
    try:
        return parse_executor(text)
    except ValueError as error:
        raise argparse.ArgumentTypeError(str(error)) from None


def register(commands: Any) -> None:
    parser = commands.add_parser(
        "campaign",
        help="run a test campaign: cases × seeds with criteria, results and JUnit",
        description="Test campaigns (docs/campaigns.md).",
    )
    sub = parser.add_subparsers(dest="campaign_command", required=True, metavar="COMMAND")
    run = sub.add_parser(
        "run",
        help="run every case of a campaign file and write results.json, junit.xml and report",
        description="Run a campaign: emulate and bench runs one at a time, sim and replay runs "
        "in parallel worker processes (or on a Dask cluster: --executor). Exit codes: 0 every "
        "criterion passed, 1 a criterion failed, a regression against earlier comparable "
        "campaigns was found ([regression]) or a run could not be performed, 2 a bad campaign "
        "file, a bad --set or an unusable Dask scheduler, 130/143/129 stopped by "
        "SIGINT/SIGTERM/SIGHUP (finished runs kept, results written). A results store that "
        "cannot be used changes none of these: one warning line names hil results import.",
    )
    run.add_argument(
        "file",
        type=Path,
        nargs="?",
        default=DEMO,
        metavar="FILE",
        help="campaign TOML (default: the bundled campaigns/demo.toml, the emulated demo)",
    )
    run.add_argument(
        "--out",
        type=Path,
        default=None,
        metavar="DIR",
        help="where the results folder goes (default: $HIL_RUNS_DIR, else runs/)",
    )
    run.add_argument(
        "--only",
        action="append",
        default=None,
        metavar="CASE",
        help="run only this case (repeat for more)",
    )
    run.add_argument(
        "--jobs",
        type=positive_int,
        default=os.cpu_count() or 1,
        metavar="N",
        help="worker processes for sim and replay runs with --executor pool (default: the "
        "CPU count)",
    )
    run.add_argument(
        "--executor",
        type=executor_argument,
        default=ExecutorSpec("pool"),
        metavar="E",
        help=f"where sim and replay runs go: {EXECUTOR_FORMS}; default pool, the --jobs "
        "processes of this machine (docs/scale-out.md)",
    )
    run.add_argument(
        "--arm",
        action="store_true",
        help="the operator arms the bench: bench cases with arm = true run armed (sim and "
        "emulate cases arm from the file alone)",
    )
    run.add_argument(
        "--ignore-preflight",
        action="append",
        default=[],
        metavar="ROW",
        help="let this red row of the rig preflight made before the first bench run pass "
        "(repeat for more; e.g. plc.rounds_ready); logged in results.json and the report",
    )
    add_overrides(run, "rig", "tracker.gate_probability=0.99 (applied to every case's rig)")
    run.add_argument(
        "--store",
        default=None,
        metavar="URL",
        help="the results store the campaign is written to: sqlite:///FILE.db, a file path, or "
        "postgresql://USER@HOST:PORT/DB (default: $HIL_RESULTS_STORE, else the rig file's "
        "[results] store, else results.db in the runs folder; docs/results-store.md)",
    )
    run.add_argument(
        "--no-store",
        action="store_true",
        help="do not write this campaign to the results store",
    )
    run.add_argument(
        "--json",
        action="store_true",
        help="no progress display; print the outcome as one JSON object (last line)",
    )
    run.set_defaults(handler=run_campaign_command)
    campaign_report_cmd.register_report(sub)


def results_parent(out: Path | None) -> tuple[Path, str]:
    """Where the results folder goes (``--out``, else ``$HIL_RUNS_DIR``, else ``runs/``) and
    how the operator named it, checked before anything runs: ``ConfigError`` (exit 2) if it is
    not a directory, or cannot be created or written."""
    if out is not None:
        where, named = out, f"--out {out}"
    else:
        where = runs_dir()
        variable = os.environ.get(RUNS_DIR_VARIABLE)
        named = f"{RUNS_DIR_VARIABLE}={variable}" if variable else f"the default {where}"
    problem = _unusable(where)
    if problem is not None:
        raise ConfigError([f"{named}: {problem}; give a directory the results folder can go in"])
    return where, named


def _unusable(where: Path) -> str | None:
    """Why a results folder cannot be made under ``where`` (None: it can, as far as one can
    tell without making it)."""
    if where.exists():
        if not where.is_dir():
            return "is a file, not a directory"
        if not os.access(where, os.W_OK | os.X_OK):
            return f"{where} is not writable"
        return None
    ancestor = where.parent
    while not ancestor.exists() and ancestor != ancestor.parent:
        ancestor = ancestor.parent
    if not ancestor.is_dir():
        return f"cannot be created: {ancestor} is a file, not a directory"
    if not os.access(ancestor, os.W_OK | os.X_OK):
        return f"cannot be created: {ancestor} is not writable"
    return None


def results_folder(out: Path, campaign: str, now: datetime, named: str | None = None) -> Path:
    """``out/<UTC stamp>-<campaign>``, created here and now (``-2``, ``-3``, ... when a
    campaign of that name started in the same second). A folder that cannot be made (a
    read-only file system, ...) is a ``ConfigError`` naming ``named`` (default: ``out``)."""
    base = out / f"{now.strftime('%Y%m%dT%H%M%SZ')}-{campaign}"
    try:
        out.mkdir(parents=True, exist_ok=True)
        for attempt in range(1, 1000):
            folder = base if attempt == 1 else base.with_name(f"{base.name}-{attempt}")
            try:
                folder.mkdir()
                return folder
            except FileExistsError:
                continue
    except OSError as error:
        raise ConfigError(
            [f"{named or out}: cannot create the results folder: {error.strerror or error}"]
        ) from error
    raise ConfigError([f"{out}: 999 campaigns named {campaign} started in one second"])


def _chosen(campaign: Campaign, only: Sequence[str] | None) -> Campaign:
    if not only:
        return campaign
    names = [case.name for case in campaign.cases]
    unknown = [name for name in only if name not in names]
    if unknown:
        raise ConfigError(
            [
                f"--only {', '.join(unknown)}: no such case in {campaign.file}; its cases: "
                f"{', '.join(names)}"
            ]
        )
    cases = tuple(case for case in campaign.cases if case.name in only)
    return dataclasses.replace(campaign, cases=cases)


def run_campaign_command(args: argparse.Namespace) -> int:
    campaign = _chosen(load_campaign(args.file, args.overrides), args.only)
    parent = results_parent(args.out)
    gate = PreflightGate(check_ignored(args.ignore_preflight))
    started = datetime.now(UTC)
    folder, outcome = asyncio.run(_run(campaign, args, started, gate, parent))
    planned = plan(campaign, folder.resolve(), args.arm)
    warnings = [*_folder_still_there(folder), *results.check_recordings(outcome)]
    for warning in warnings:
        print(f"warning: {warning}", file=sys.stderr)
    document = results.build(
        campaign, planned, outcome, folder, started, datetime.now(UTC), warnings
    )
    with contextlib.ExitStack() as store_open:
        store, store_problem = None, None
        if not args.no_store:
            store, store_problem = open_campaign_store(args, campaign, store_open)
        source = None if store is None else StoreHistory(store)
        digest, fingerprint = document["campaign"]["digest"], rig_fingerprint(document)
        if campaign.regression is not None:
            document = judged(document, campaign.regression, source, digest, fingerprint)
        try:
            results_path = results.write(folder, document)
            junit_path = junit.write(folder, document)
        except OSError as error:
            raise HilError(
                f"cannot write the results in {folder}: {error.strerror or error}; the runs' "
                "verdicts are lost"
            ) from error
        key_measurements = campaign.regression.measurements if campaign.regression else ()
        history = None
        if source is not None:
            try:
                history = report_history(source, document, digest, fingerprint, key_measurements)
            except (HilError, SQLAlchemyError) as error:
                print(f"warning: the report has no history: {_one_line(error)}", file=sys.stderr)
        report_path = render_report(folder, history)
        if store_problem is not None:  # one line for both: no history read, nothing stored
            print(
                f"warning: results not stored and no history read: {store_problem}; add them "
                f"later: hil results import {folder}",
                file=sys.stderr,
            )
        elif store is not None:  # the store the history was read from takes the campaign
            line, failed = store_after_run(store, folder)
            if failed:
                print(f"warning: {line}", file=sys.stderr)
            else:
                say(line, sys.stderr if args.json else None)
    if args.json:
        say(json.dumps(outcome_json(document, folder, results_path, junit_path, report_path)))
    else:
        say(exit_summary(document, results_path, junit_path, report_path))
    if outcome.stopped_by is not None:
        return EXIT_SIGNAL_BASE + outcome.stopped_by
    return 0 if document["verdict"] == "pass" else EXIT_FAILED


async def _run(
    campaign: Campaign,
    args: argparse.Namespace,
    started: datetime,
    gate: PreflightGate,
    parent: tuple[Path, str],
) -> tuple[Path, CampaignRun]:
    """The campaign's runs in its results folder under ``parent`` (``results_parent``), on the
    executor of ``--executor`` (ready before the folder is made or anything runs: an unusable
    Dask scheduler is exit 2)."""
    executor: ExecutorSpec = args.executor
    if not any(case.parallel for case in campaign.cases):
        executor = ExecutorSpec("pool")  # nothing would go to a cluster: none is started
    async with open_executor(executor, args.jobs, args.verbose) as workers:
        out, named = parent
        folder = results_folder(out, campaign.name, started, named)
        planned = plan(campaign, folder.resolve(), args.arm)
        total = sum(len(p.jobs) for p in planned)
        if not args.json:
            on = "" if executor.kind == "pool" else f" on {executor}"
            say(f"campaign {campaign.name}: {len(planned)} cases, {total} runs{on} → {folder}")
        progress: LiveProgress | LineProgress | SilentProgress
        if args.json:
            progress = SilentProgress(planned)
        elif sys.stdout.isatty():
            progress = LiveProgress(planned, f"campaign {campaign.name}")
        else:
            progress = LineProgress(planned)
        with progress:
            return folder, await run_campaign(planned, workers, progress, gate)


def _folder_still_there(folder: Path) -> list[str]:
    """The results folder, made again if it disappeared while the campaign ran (deleted or
    moved): the results are still written where the campaign said. Returns the warning that
    says so (none: it was there)."""
    if folder.is_dir():
        return []
    try:
        folder.mkdir(parents=True)
    except OSError as error:
        raise HilError(
            f"the results folder {folder} disappeared while the campaign ran and cannot be "
            f"made again ({error.strerror or error}); the runs' verdicts are lost"
        ) from error
    return [
        f"the results folder {folder} disappeared while the campaign ran: made again for the "
        "results; the recordings that were in it are lost"
    ]


def _one_line(error: BaseException) -> str:
    return " ".join(str(error).split())


def open_campaign_store(
    args: argparse.Namespace, campaign: Campaign, closing: contextlib.ExitStack
) -> tuple[Store | None, str | None]:
    """The results store (``--store``, else ``HIL_RESULTS_STORE``, else the rig file's
    ``[results]``, else the runs folder's ``results.db``), opened once: ``[regression]`` and the
    report's history are judged against it and the campaign is written to it; closed by
    ``closing``. (None, why) when it cannot be used: the campaign's verdict never depends on
    the store being there."""
    try:
        rig_results = load_rig(campaign.rig_file).results
        location = choose_location(args.store, rig_results, campaign.rig_file)
        return closing.enter_context(open_store(location)), None
    except (HilError, OSError, SQLAlchemyError) as error:
        return None, _one_line(error)


def judged(
    document: dict[str, Any],
    spec: RegressionSpec,
    source: HistorySource | None,
    digest: str,
    fingerprint: str,
) -> dict[str, Any]:
    """``judge_regressions``; a store that fails mid-query leaves them not judged (one warning
    line, and the exit summary says so), never a changed verdict."""
    try:
        return judge_regressions(document, spec, source, digest, fingerprint)
    except (HilError, SQLAlchemyError) as error:
        print(f"warning: regressions not judged: {_one_line(error)}", file=sys.stderr)
        return judge_regressions(document, spec, None, digest, fingerprint)


def render_report(folder: Path, history: ReportHistory | None = None) -> Path | None:
    """``report.html`` (``hil.campaign.report.render``, with the campaign's ``history``); a
    failure to render is a warning: the results are written already."""
    try:
        return render(folder, history)
    except Exception as error:  # the results must survive a plotting problem
        print(f"warning: report.html could not be rendered: {error}", file=sys.stderr)
        return None


def outcome_json(
    document: dict[str, Any],
    folder: Path,
    results_path: Path,
    junit_path: Path,
    report_path: Path | None,
) -> dict[str, Any]:
    return {
        "campaign": document["campaign"]["name"],
        "verdict": document["verdict"],
        "folder": str(folder),
        "results": str(results_path),
        "junit": str(junit_path),
        "report": None if report_path is None else str(report_path),
        "wall_s": document["wall_s"],
        "preflight": _preflight_outcome(document["preflight"]),
        "cases": {
            case["name"]: {"verdict": case["verdict"], "emulated": case["emulated"]}
            for case in document["cases"]
        },
    }


def _preflight_outcome(preflight: dict[str, Any] | None) -> dict[str, Any] | None:
    """The preflight's verdict, the red rows that refused the bench runs and the ones let
    pass (None: no bench run, no preflight)."""
    if preflight is None:
        return None
    report = preflight["report"] or {"rows": []}
    red = [row["name"] for row in report["rows"] if row["verdict"] == "red"]
    return {
        "verdict": preflight["verdict"],
        "refused_bench_runs": preflight["refused_bench_runs"],
        "red": [name for name in red if name not in preflight["ignored"]],
        "ignored_red": preflight["ignored_red"],
        "error": preflight["error"],
    }
