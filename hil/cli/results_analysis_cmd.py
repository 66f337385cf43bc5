"""``hil results trend MEASUREMENT [--campaign NAME] [--case CASE] [--last N] [--png FILE]
[--json]`` and ``hil results compare A B [--json]``: the results store looked back on
(docs/results-history.md). ``register(sub)`` adds both to the ``hil results`` sub-commands
(``hil.cli.results_cmd``); the handlers get the store as a ``HistorySource`` from
``history_source``.

Exit codes, trend: 0 the trend was shown; 1 no stored campaign measured it; 2 bad usage (an
unknown measurement, --last below 1, a PNG that cannot be written) or a store that cannot be
used. Compare: 0 the comparison was shown; 2 bad usage (a campaign id that is not stored, or a
prefix of more than one) or a store that cannot be used.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from hil.campaign.criteria import parse
from hil.campaign.measurements import measurement_of
from hil.cli.arguments import add_store_option, positive_int
from hil.errors import ConfigError
from hil.history.compare import ComparisonRow, compare
from hil.history.location import StoreError, choose_location
from hil.history.model import StoredCampaign
from hil.history.source import HistorySource
from hil.history.stats import Band
from hil.history.store import open_store
from hil.history.store_source import StoreHistory
from hil.history.trend import TrendSeries, trend, trend_json, trend_lines

EXIT_NOTHING = 1


def history_source(args: argparse.Namespace) -> HistorySource:
    """The results store of ``--store`` (else ``HIL_RESULTS_STORE``, else the runs folder's
    ``results.db``) as a ``HistorySource``; a store that cannot be used, or a SQLite file that
    is not there (reading never makes a store), is one error line and exit 2. The store stays
    open for the command's one query pass and closes when the process ends."""
    try:
        return StoreHistory(open_store(choose_location(args.store), create=False))
    except StoreError as error:
        raise ConfigError([str(error)]) from error


def register(sub: Any, source: Callable[[argparse.Namespace], HistorySource] | None = None) -> None:
    """``trend`` and ``compare`` under ``hil results`` (``sub``: its sub-parsers). ``source``:
    how a handler gets the store (default ``history_source``)."""
    get = source or history_source
    trend_parser = sub.add_parser(
        "trend",
        help="one measurement across stored campaigns (sweeps: median and p5–p95)",
        description="A measurement across stored campaigns, oldest first, per case: a single "
        "run's value or a sweep's median and p5–p95 over its seeds; '*' marks a campaign whose "
        "rig fingerprint differs from the row before. Exit codes: 0 shown, 1 no stored campaign "
        "measured it, 2 bad usage (unknown measurement, --last < 1, unwritable PNG).",
    )
    trend_parser.add_argument("measurement", metavar="MEASUREMENT", help="e.g. gospa_mean_m")
    trend_parser.add_argument("--campaign", metavar="NAME", help="only campaigns of this name")
    trend_parser.add_argument("--case", metavar="CASE", help="only this case")
    trend_parser.add_argument(
        "--last", type=positive_int, metavar="N", help="only the last N campaigns"
    )
    trend_parser.add_argument("--png", type=Path, metavar="FILE", help="also draw it to FILE")
    trend_parser.add_argument("--json", action="store_true", help="print JSON, no table")
    add_store_option(trend_parser)
    trend_parser.set_defaults(handler=lambda args: run_trend(args, get(args)))
    compare_parser = sub.add_parser(
        "compare",
        help="two stored campaigns: values, delta, better/worse, a test over the seeds",
        description="Campaign B against campaign A, per case and measurement: A, B (a sweep: "
        "median over its seeds), delta B − A, better or worse by the measurement's direction, "
        "and for sweeps a two-sided test over the seeds (Wilcoxon signed-rank paired by seed "
        "when both ran the same seeds, else Mann–Whitney U) with its p-value and rank-biserial "
        "effect size (positive_int: B larger). Exit codes: 0 shown, 2 bad usage (a campaign id "
        "not stored, or a prefix of several).",
    )
    compare_parser.add_argument("a", metavar="A", help="campaign id (or a unique prefix)")
    compare_parser.add_argument("b", metavar="B", help="campaign id (or a unique prefix)")
    compare_parser.add_argument("--json", action="store_true", help="print JSON, no table")
    add_store_option(compare_parser)
    compare_parser.set_defaults(handler=lambda args: run_compare(args, get(args)))


def check_measurement(key: str) -> str:
    """``key`` as results write it (``launches{source="real"}``); ``ConfigError`` naming what
    is wrong (exit 2)."""
    known = measurement_of(key)
    if known is not None and known.is_text:
        raise ConfigError([f"MEASUREMENT {key}: a state has no trend; give a number"])
    try:
        criterion = parse(f"{key} >= 0", sweep=False)
    except ValueError as error:
        raise ConfigError([f"MEASUREMENT {key}: {error}"]) from None
    return criterion.key


def run_trend(args: argparse.Namespace, source: HistorySource) -> int:
    key = check_measurement(args.measurement)
    campaigns = source.campaigns(name=args.campaign, last=args.last)
    ids = [c.campaign_id for c in campaigns]
    samples = source.samples(ids, measurement=key, case=args.case) if ids else []
    series = trend(campaigns, samples, key)
    if args.png is not None:
        write_png(args.png, series, key)
    if args.json:
        print(json.dumps({"measurement": key, "series": trend_json(series)}, allow_nan=False))
    else:
        print_trend(series, key)
    return 0 if series else EXIT_NOTHING


def write_png(path: Path, series: Sequence[TrendSeries], key: str) -> None:
    from hil.campaign.report.plots import trend_plot  # matplotlib: only for --png

    unit = series[0].unit if series else ""
    png = trend_plot(trend_lines(series), key, unit, f"{key} over stored campaigns")
    try:
        path.write_bytes(png)
    except OSError as error:
        raise ConfigError([f"--png {path}: cannot write: {error.strerror or error}"]) from error


def _number(value: float | None) -> str:
    return "—" if value is None else f"{value:.6g}"


def print_trend(series: Sequence[TrendSeries], key: str) -> None:
    from rich.console import Console
    from rich.table import Table

    console = Console(width=None if sys.stdout.isatty() else 160)
    if not series:
        console.print(f"no stored campaign measured {key}", markup=False, highlight=False)
        return
    for s in series:
        table = Table(title=f"{key} ({s.unit}) — case {s.case}", title_justify="left")
        for column in ("rig", "started (UTC)", "campaign", "commit", "n", "value / median"):
            table.add_column(column, justify="right" if column in ("n",) else "left")
        table.add_column("p5–p95")
        for p in s.points:
            band = f"{_number(p.band.p5)} – {_number(p.band.p95)}" if p.sweep else ""
            table.add_row(
                "*" if p.rig_changed else "",
                p.campaign.started_utc.strftime("%Y-%m-%d %H:%M:%S"),
                p.campaign.campaign_id,
                (p.campaign.git_commit or "—")[:12],
                str(p.band.n),
                _number(p.band.median),
                band,
            )
        console.print(table)
    console.print("* the rig fingerprint differs from the row before", markup=False)


def find_campaign(source: HistorySource, wanted: str, which: str) -> StoredCampaign:
    stored = source.campaigns()
    exact = [c for c in stored if c.campaign_id == wanted]
    found = exact or [c for c in stored if c.campaign_id.startswith(wanted)]
    if len(found) == 1:
        return found[0]
    if not found:
        raise ConfigError(
            [f"{which} {wanted}: no stored campaign has this id; `hil results list` shows them"]
        )
    shown = ", ".join(c.campaign_id for c in found[:5])
    raise ConfigError(
        [f"{which} {wanted}: the prefix of {len(found)} campaigns ({shown}); give more"]
    )


def run_compare(args: argparse.Namespace, source: HistorySource) -> int:
    a = find_campaign(source, args.a, "A")
    b = find_campaign(source, args.b, "B")
    rows = compare(source.samples([a.campaign_id]), source.samples([b.campaign_id]))
    if args.json:
        document = {
            "a": a.campaign_id,
            "b": b.campaign_id,
            "comparable": (a.campaign_digest, a.rig_fingerprint)
            == (b.campaign_digest, b.rig_fingerprint),
            "rows": [row.as_json() for row in rows],
        }
        print(json.dumps(document, allow_nan=False))
    else:
        print_comparison(a, b, rows)
    return 0


def print_comparison(a: StoredCampaign, b: StoredCampaign, rows: Sequence[ComparisonRow]) -> None:
    from rich.console import Console
    from rich.table import Table

    console = Console(width=None if sys.stdout.isatty() else 200)
    title = f"B {b.campaign_id} against A {a.campaign_id}"
    if (a.campaign_digest, a.rig_fingerprint) != (b.campaign_digest, b.rig_fingerprint):
        title += " (not comparable: another campaign file or rig)"
    table = Table(title=title, title_justify="left")
    for column in ("case", "measurement", "unit", "A", "B", "delta", "B is", "test", "p", "effect"):
        table.add_column(column)
    for row in rows:
        test = row.test
        table.add_row(
            row.case,
            row.measurement,
            row.unit,
            _side(row.a),
            _side(row.b),
            _number(row.delta),
            row.judgement,
            "" if test is None else ("paired" if test.paired else "unpaired"),
            "" if test is None else f"{test.p_value:.3g}",
            "" if test is None else f"{test.effect_size:+.2f}",
        )
    console.print(table)
    console.print(
        "sweeps: median over the seeds [p5–p95]; test two-sided over the seeds (paired: "
        "Wilcoxon signed-rank, unpaired: Mann–Whitney U); effect: rank-biserial, + B larger",
        markup=False,
        highlight=False,
    )


def _side(band: Band | None) -> str:
    if band is None:
        return "—"
    if band.n == 1:
        return _number(band.median)
    return f"{_number(band.median)} [{_number(band.p5)}–{_number(band.p95)}]"
