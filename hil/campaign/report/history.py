"""The report's history section: this campaign's key measurements against the last comparable
campaigns of the results store (same campaign file digest and rig fingerprint), one trend plot
per measurement (``plots.trend_plot``). The data comes in plain (``hil.history`` builds it from
the store; the report never reads the store itself)."""

from __future__ import annotations

import base64
from dataclasses import dataclass
from datetime import datetime
from html import escape

from hil.campaign.report.plots import trend_plot
from hil.history.model import TrendLine

DEFAULT_MEASUREMENTS = ("gospa_mean_m", "latency_p99_ms", "tracks_confirmed")
"""Shown when the campaign file has no ``[regression]`` table to name its key measurements."""


@dataclass(frozen=True)
class HistoryMeasurement:
    """One measurement (a key as results write it, its unit) per case over the campaigns, this
    one last."""

    key: str
    unit: str
    lines: tuple[TrendLine, ...]


@dataclass(frozen=True)
class ReportHistory:
    """What the history section shows: ``earlier`` comparable campaigns (at most ``last``) and
    each key measurement; ``current``: when this campaign started (UTC); ``note``: why there is
    none, when there is none (no store, no comparable campaign yet)."""

    last: int
    earlier: int
    current: datetime | None
    measurements: tuple[HistoryMeasurement, ...]
    note: str = ""


def history_section(history: ReportHistory | None) -> str:
    """The section's HTML: the plots, or "no history yet" with the reason."""
    parts = ['<h2 id="history">History</h2>']
    if history is None or history.earlier == 0 or not history.measurements:
        reason = "no results store" if history is None else history.note
        why = f": {escape(reason)}" if reason else ""
        parts.append(f'<p class="note" id="no-history">no history yet{why}</p>')
        return "\n".join(parts)
    parts.append(
        f'<p class="note">This campaign against the last {history.earlier} comparable '
        f"campaign(s) (same campaign file and rig; at most {history.last}): median over each "
        "case's runs, p5–p95 shaded.</p>"
    )
    figures = []
    for measurement in history.measurements:
        title = f"{measurement.key}: this campaign and the {history.earlier} before"
        png = trend_plot(
            measurement.lines, measurement.key, measurement.unit, title, history.current
        )
        data = base64.b64encode(png).decode("ascii")
        figures.append(
            f'<figure><img class="plot" data-plot="history" alt="{escape(title)}" '
            f'src="data:image/png;base64,{data}"><figcaption>{escape(title)}</figcaption></figure>'
        )
    parts.append(f"<div>{''.join(figures)}</div>")
    return "\n".join(parts)
