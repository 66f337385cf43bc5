"""Results store figures: the benchmarks of issue 23.

1. **Writing a sweep's results**: a results.json of one sweep case of ``--runs`` runs (default
   1,000), ``--measurements`` numeric measurements each (default 30), every one under a
   criterion, stored by ``hil.history.ingest.write_campaign`` (reading and checking the file,
   the rig fingerprint, one transaction): to a SQLite file (goal ≤ 2 s) and to a local
   PostgreSQL server started as the tests start theirs (``tests/postgres.py``; goal ≤ 5 s;
   skipped, with the reason, when initdb is not installed or with ``--no-postgres``). Opening
   the store (creating and migrating it) is timed apart.
2. **A trend's query**: ``--campaigns`` stored campaigns (default 1,000) of ``--trend-runs``
   seeds each (default 20) in a SQLite store, then the query ``hil results trend`` makes for one
   measurement: ``queries.campaigns(name, last)`` and ``queries.samples(ids, measurement)``
   (``trend_query_s``), and the whole command an operator types, ``hil results trend
   gospa_mean_m --store FILE --json`` in a child process, Python's start-up, the bands over the
   seeds and the JSON included (``trend_command_s``; the issue's goal ≤ 1 s is for this one).
   The campaigns are inserted as rows in one transaction (set-up, not timed).

Usage::

    .venv/bin/python benchmarks/results_store_bench.py
    .venv/bin/python benchmarks/results_store_bench.py --runs 20 --campaigns 20 --trend-runs 3

Printed: a table, the goals as facts (met or not, never asserted), then one JSON line with
every figure. Exit status 0; 2 with one line for a bad argument.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tests"))  # the tests' results folders and PostgreSQL server

from postgres import PostgresServer, postgres_available  # noqa: E402
from results_folders import new_id, sweep_document, write_folder  # noqa: E402
from sqlalchemy import insert  # noqa: E402

from hil.history import schema  # noqa: E402
from hil.history.ingest import CampaignRows, campaign_rows, write_campaign  # noqa: E402
from hil.history.location import choose_location  # noqa: E402
from hil.history.queries import campaigns, samples  # noqa: E402
from hil.history.store import Store, open_store  # noqa: E402

GOALS = {
    "sqlite_write_s": 2.0,
    "postgres_write_s": 5.0,
    "trend_query_s": 1.0,
    "trend_command_s": 1.0,
}
"""Issue 23's goals (s). ``trend_command_s``: the whole ``hil results trend MEASUREMENT --json``
command over the stored campaigns, as an operator types it (Python's start-up included);
``trend_query_s``: its two queries alone, in this process."""
TREND_MEASUREMENT = "gospa_mean_m"


def whole(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number ≥ 1, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a whole number ≥ 1, got {text!r}")
    return value


def timed_write(url: str, folder: Path) -> tuple[float, float]:
    """(open s, write s) of ``folder``'s campaign to the store at ``url``."""
    started = time.perf_counter()
    with open_store(choose_location(url)) as store:
        opened = time.perf_counter()
        written = write_campaign(store, folder)
        done = time.perf_counter()
    assert written.stored
    return opened - started, done - opened


def postgres_write(folder: Path) -> tuple[float | None, float | None, str | None]:
    """The PostgreSQL figures, or why there are none."""
    if not postgres_available():
        return None, None, "initdb not installed (apt-get install postgresql)"
    server = PostgresServer()
    try:
        server.create()
        server.start()
        opened, wrote = timed_write(server.url(server.create_database()), folder)
    finally:
        server.stop()
    return opened, wrote, None


def fill(store: Store, rows: CampaignRows, count: int) -> list[str]:
    """``count`` copies of ``rows`` as campaigns a day apart, in one transaction."""
    start = datetime(2024, 1, 1)
    names = ("campaigns", "cases", "runs", "measurements", "sweep_criteria")
    tables: dict[str, list[dict[str, Any]]] = {name: [] for name in names}
    ids = []
    for index in range(count):
        campaign_id = new_id()
        ids.append(campaign_id)
        day = start + timedelta(days=index)
        tables["campaigns"].append(
            {**rows.campaign, "id": campaign_id, "started_utc": day, "finished_utc": day}
        )
        for name in ("cases", "runs", "measurements", "sweep_criteria"):
            tables[name].extend({**row, "campaign_id": campaign_id} for row in getattr(rows, name))
    with store.transaction("fill") as connection:
        for name, items in tables.items():
            if items:
                connection.execute(insert(getattr(schema, name)), items)
    return ids


def trend_query(
    directory: Path, campaign_count: int, runs: int, measurements: int
) -> dict[str, Any]:
    template = write_folder(
        directory / "template", sweep_document("trend", runs=runs, measurements=measurements,
                                               campaign_id=new_id())
    )  # fmt: skip
    rows = campaign_rows(template)
    with open_store(choose_location(str(directory / "trend.db"))) as store:
        fill_started = time.perf_counter()
        fill(store, rows, campaign_count)
        fill_s = time.perf_counter() - fill_started
        started = time.perf_counter()
        found = campaigns(store, name="trend", last=campaign_count)
        values = samples(store, [c.campaign_id for c in found], TREND_MEASUREMENT)
        query_s = time.perf_counter() - started
    assert len(found) == campaign_count and len(values) == campaign_count * runs
    command = [sys.executable, "-m", "hil", "results", "trend", TREND_MEASUREMENT,
               "--store", str(directory / "trend.db"), "--json"]  # fmt: skip
    started = time.perf_counter()
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    command_s = time.perf_counter() - started
    if done.returncode != 0:
        raise RuntimeError(f"hil results trend exited {done.returncode}: {done.stderr.strip()}")
    points = sum(len(series["points"]) for series in json.loads(done.stdout)["series"])
    return {
        "trend_query_s": query_s,
        "trend_command_s": command_s,
        "trend_command_points": points,
        "trend_samples": len(values),
        "trend_fill_s": fill_s,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=whole, default=1000, help="runs of the stored sweep")
    parser.add_argument("--measurements", type=whole, default=30, help="measurements per run")
    parser.add_argument("--campaigns", type=whole, default=1000, help="campaigns for the trend")
    parser.add_argument("--trend-runs", type=whole, default=20, help="seeds per trend campaign")
    parser.add_argument("--no-postgres", action="store_true", help="SQLite only")
    args = parser.parse_args(argv)
    figures: dict[str, Any] = {
        "benchmark": "results_store_bench",
        "runs": args.runs,
        "measurements": args.measurements,
        "campaigns": args.campaigns,
        "trend_runs": args.trend_runs,
        "goals": GOALS,
    }
    with tempfile.TemporaryDirectory(prefix="hil-store-bench-") as temp:
        directory = Path(temp)
        document = sweep_document("sweep", runs=args.runs, measurements=args.measurements,
                                  campaign_id=new_id())  # fmt: skip
        folder = write_folder(directory / "sweep", document)
        figures["results_json_mb"] = round((folder / "results.json").stat().st_size / 1e6, 2)
        opened, wrote = timed_write(str(directory / "results.db"), folder)
        figures["sqlite_open_s"], figures["sqlite_write_s"] = opened, wrote
        if args.no_postgres:
            pg: tuple[float | None, float | None, str | None] = (None, None, "--no-postgres")
        else:
            pg = postgres_write(folder)
        figures["postgres_open_s"], figures["postgres_write_s"], figures["postgres_skipped"] = pg
        figures.update(trend_query(directory, args.campaigns, args.trend_runs, args.measurements))
    figures["goals_met"] = {
        key: figures[key] is not None and figures[key] <= goal for key, goal in GOALS.items()
    }
    print(f"results store benchmark: a sweep of {args.runs} runs × {args.measurements} "
          f"measurements ({figures['results_json_mb']} MB of results.json); a trend over "
          f"{args.campaigns} campaigns × {args.trend_runs} runs")  # fmt: skip
    for key, goal in GOALS.items():
        value = figures[key]
        shown = (
            "skipped: " + str(figures["postgres_skipped"]) if value is None else f"{value:.3f} s"
        )
        met = "met" if figures["goals_met"][key] else "NOT met"
        print(f"  {key:<18} {shown:<40} goal ≤ {goal:g} s: {met}")
    print(f"  (opening: SQLite {figures['sqlite_open_s']:.3f} s; filling the trend store "
          f"{figures['trend_fill_s']:.1f} s)")  # fmt: skip
    print(json.dumps(figures))
    return 0


if __name__ == "__main__":
    sys.exit(main())
