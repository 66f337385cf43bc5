"""The report's plots, drawn with matplotlib's Agg canvas (no GUI, no pyplot state) and
returned as PNG bytes: plan view, position error against time, loop latency histogram,
engagement timeline with the interlock state, a sweep's distribution of a measurement, and a
measurement's trend over stored campaigns (``hil results trend --png``, the history section).

Axes: East/North in metres (rig ENU), time in seconds since the run's start, latency in ms.
"""

from __future__ import annotations

import io
import math
from collections.abc import Sequence
from datetime import UTC, datetime

import numpy as np
from matplotlib import dates as mdates
from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.collections import LineCollection
from matplotlib.figure import Figure

from hil.campaign.report.trace import RunTrace
from hil.history.model import TrendLine

WIDTH_IN, HEIGHT_IN, DPI = 7.0, 4.2, 96
MAX_ERROR_LINES = 8
"""Up to this many truths get a line each in the error plot; more are shown as median and max."""
MAX_TRACK_POINTS = 12_000
"""Confirmed-track dots in the plan view at most (evenly thinned beyond)."""
EVENT_ROWS = ("designated", "fire_requested", "launched", "refused", "aborted")
_EVENT_STYLE = {
    "designated": ("o", "#1f77b4"),
    "fire_requested": ("^", "#ff7f0e"),
    "launched": ("*", "#d62728"),
    "refused": ("x", "#7f7f7f"),
    "aborted": ("s", "#9467bd"),
}


def _figure(height_in: float = HEIGHT_IN, left: float = 0.11) -> tuple[Figure, Axes]:
    """A figure with fixed margins (a constrained layout measures every artist: a second per
    plot of a 100-target run)."""
    figure = Figure(figsize=(WIDTH_IN, height_in), dpi=DPI)
    FigureCanvasAgg(figure)
    figure.subplots_adjust(left=left, right=0.97, bottom=0.5 / height_in, top=1 - 0.35 / height_in)
    return figure, figure.add_subplot()


def _png(figure: Figure) -> bytes:
    out = io.BytesIO()
    figure.savefig(out, format="png", dpi=DPI)
    return out.getvalue()


def _no_data(axes: Axes, text: str) -> None:
    axes.text(0.5, 0.5, text, ha="center", va="center", transform=axes.transAxes, color="#555")


def plan_view(trace: RunTrace) -> bytes:
    """Truth paths (dashed; injected targets orange), confirmed tracks (dots coloured by id),
    launches (red stars and the launcher-to-target line), radar and launcher; East/North m."""
    figure, axes = _figure()
    for injected, colour, label in ((False, "#1f77b4", "real"), (True, "#ff7f0e", "injected")):
        paths = [p.enu_m[:, :2] for p in trace.truths if p.injected == injected]
        axes.add_collection(
            LineCollection(paths, colors=colour, linestyles="--", linewidths=1.0, alpha=0.8)
        )
        axes.plot([], [], "--", color=colour, label=f"truth ({label})")
    if trace.tracks:
        points = np.asarray([(tid, e, n) for tid, s in trace.tracks.items() for _, e, n, _ in s])
        points = points[:: max(1, len(points) // MAX_TRACK_POINTS)]
        axes.scatter(
            points[:, 1], points[:, 2], c=points[:, 0] % 10, cmap="tab10", vmin=0, vmax=10,
            s=4, label="confirmed tracks",
        )  # fmt: skip
    launcher_e, launcher_n, _ = trace.launcher_enu_m
    for number, launch in enumerate(trace.launches):
        if launch.enu_m is None:
            continue
        east, north, _ = launch.enu_m
        axes.plot([launcher_e, east], [launcher_n, north], "-", color="#d62728", lw=0.8)
        axes.plot(
            east, north, "*", color="#d62728", ms=14, mec="black",
            label="launch" if number == 0 else None,
        )  # fmt: skip
        axes.annotate(f"T{launch.track_id} @ {launch.t_s:.1f} s", (east, north), fontsize=8,
                      xytext=(6, 6), textcoords="offset points")  # fmt: skip
    axes.plot(*trace.radar_enu_m[:2], "k^", ms=8, label="radar")
    axes.plot(launcher_e, launcher_n, "s", color="#d62728", ms=7, label="launcher")
    axes.autoscale_view()
    axes.set_aspect("equal", adjustable="datalim")
    axes.set_xlabel("East (m)")
    axes.set_ylabel("North (m)")
    axes.set_title("Plan view: truth, confirmed tracks, launches")
    axes.grid(alpha=0.3)
    axes.legend(loc="best", fontsize=8)
    return _png(figure)


def position_error(trace: RunTrace) -> bytes:
    """Distance from each truth to its nearest confirmed track (m) against time (s); gaps where
    a truth is not alive or not tracked within the scorer's cut-off."""
    figure, axes = _figure()
    errors = trace.error_m
    tracked = errors.size and bool(np.isfinite(errors).any())
    if not tracked:
        _no_data(axes, "no truth was tracked within the cut-off")
    elif errors.shape[1] <= MAX_ERROR_LINES:
        for column, path in enumerate(trace.truths):
            axes.plot(trace.error_t_s, errors[:, column], lw=1.2, label=path.name)
        axes.legend(loc="best", fontsize=8)
    else:
        with np.errstate(all="ignore"):
            finite = np.isfinite(errors)
            some = finite.any(axis=1)
            median = np.full(len(errors), np.nan)
            largest = np.full(len(errors), np.nan)
            median[some] = np.nanmedian(errors[some], axis=1)
            largest[some] = np.nanmax(errors[some], axis=1)
        axes.plot(trace.error_t_s, median, lw=1.2, label=f"median over {errors.shape[1]} truths")
        axes.plot(trace.error_t_s, largest, lw=1.0, label="worst truth")
        axes.legend(loc="best", fontsize=8)
    axes.set_xlim(0, max(trace.duration_s, 1e-3))
    axes.set_xlabel("time since start (s)")
    axes.set_ylabel("position error (m)")
    axes.set_title("Position error: each truth to its nearest confirmed track")
    axes.grid(alpha=0.3)
    return _png(figure)


def latency_histogram(trace: RunTrace) -> bytes:
    """Frame-arrival-to-command latency of every frame cycle (ms), with p50 and p99 marked."""
    figure, axes = _figure()
    latency = trace.latency_ms
    if latency.size == 0:
        _no_data(axes, "no frame cycles: no latency recorded")
    else:
        axes.hist(latency, bins=60, color="#4c72b0")
        for q, style in ((50, "--"), (99, ":")):
            value = float(np.percentile(latency, q))
            axes.axvline(value, color="black", ls=style, label=f"p{q} {value:.3g} ms")
        axes.set_yscale("log")
        axes.legend(loc="best", fontsize=8)
    axes.set_xlabel("frame-to-command latency (ms)")
    axes.set_ylabel("cycles")
    axes.set_title(f"Loop latency ({latency.size} frame cycles)")
    axes.grid(alpha=0.3)
    return _png(figure)


def engagement_timeline(trace: RunTrace) -> bytes:
    """Engagement events by kind against time (s), over a band showing the interlock decision:
    grey before any was evaluated, green while all hold, red while any fails (named)."""
    figure, axes = _figure(3.6, left=0.17)
    end = max(trace.duration_s, 1e-3)
    changes = trace.interlocks
    band_y = len(EVENT_ROWS)
    starts = [0.0, *(c.t_s for c in changes)]
    ends = [*(c.t_s for c in changes), end]
    colours = ["#bbbbbb", *("#2ca02c" if c.all_hold else "#d62728" for c in changes)]
    for begin, stop, colour in zip(starts, ends, colours, strict=True):
        axes.barh(band_y, max(stop - begin, 0.0), left=begin, height=0.7, color=colour)
    for change, stop in zip(changes, ends[1:], strict=True):
        if not change.all_hold and stop - change.t_s > 0.03 * end:
            late = change.t_s > 0.6 * end  # label right-aligned to its band's end: stays inside
            axes.text(stop if late else change.t_s, band_y + 0.5, ", ".join(change.failing)[:60],
                      fontsize=7, va="bottom", ha="right" if late else "left",
                      color="#d62728")  # fmt: skip
    for row, kind in enumerate(EVENT_ROWS):
        times = [e.t_s for e in trace.events if e.kind == kind]
        marker, colour = _EVENT_STYLE[kind]
        axes.plot(times, [row] * len(times), marker, color=colour, ms=9, ls="none")
    axes.set_yticks(range(band_y + 1), [*EVENT_ROWS, "interlocks"])
    axes.set_ylim(-0.7, band_y + 1.3)
    axes.set_xlim(0, end)
    axes.set_xlabel("time since start (s)")
    axes.set_title("Engagements and interlock state")
    axes.grid(axis="x", alpha=0.3)
    if not trace.events:
        _no_data(axes, "no engagement events")
    return _png(figure)


def sweep_histogram(
    values: Sequence[float],
    title: str,
    measurement: str,
    unit: str,
    limit: float | None,
    failed: bool,
) -> bytes:
    """A measurement's distribution over a sweep's runs, with the criterion's limit marked;
    ``title`` is the criterion (``p95(gospa_mean_m) <= 250``)."""
    figure, axes = _figure(3.4)
    finite = [v for v in values if math.isfinite(v)]
    if not finite:
        _no_data(axes, "no run measured it")
    else:
        axes.hist(finite, bins=min(40, max(5, len(finite) // 4)), color="#4c72b0")
    if limit is not None:
        colour = "#d62728" if failed else "#2ca02c"
        axes.axvline(limit, color=colour, lw=2, label=f"limit {limit:g}")
        axes.legend(loc="best", fontsize=8)
    axes.set_xlabel(f"{measurement} ({unit})" if unit else measurement)
    axes.set_ylabel("runs")
    axes.set_title(f"{title}: {len(finite)} runs")
    axes.grid(alpha=0.3)
    return _png(figure)


def _day_number(moment: datetime) -> float:
    """Days since matplotlib's date epoch (what its date axis plots), of a UTC time."""
    epoch = datetime.fromisoformat(mdates.get_epoch()).replace(tzinfo=UTC)  # type: ignore[no-untyped-call]
    return (moment.astimezone(UTC) - epoch).total_seconds() / 86_400.0


def trend_plot(
    lines: Sequence[TrendLine],
    measurement: str,
    unit: str,
    title: str,
    current: datetime | None = None,
) -> bytes:
    """A measurement over campaigns: per line the median (dots joined), the p5–p95 band shaded,
    the rig fingerprint changes as dashed vertical lines and ``current`` (this campaign) as a
    solid one; x: campaign start (UTC), y: ``measurement`` in ``unit``."""
    figure, axes = _figure()
    drawn = False
    changes: set[datetime] = set()
    for line in lines:
        if not line.started:
            continue
        drawn = True
        x = [_day_number(moment) for moment in line.started]
        shown = axes.plot(x, line.median, "o-", ms=4, lw=1.2, label=line.label)
        axes.fill_between(x, line.p5, line.p95, color=shown[0].get_color(), alpha=0.2)
        changes.update(line.rig_changes)
    for number, moment in enumerate(sorted(changes)):
        axes.axvline(
            _day_number(moment),
            color="#9a6700",
            ls="--",
            lw=1,
            label="rig changed" if number == 0 else None,
        )
    if current is not None:
        axes.axvline(_day_number(current), color="black", lw=1.5, label="this campaign")
    if not drawn:
        _no_data(axes, "no history yet")
    else:
        axes.legend(loc="best", fontsize=8)
        axes.xaxis_date()
        figure.autofmt_xdate()
    axes.set_xlabel("campaign started (UTC)")
    axes.set_ylabel(f"{measurement} ({unit})" if unit and unit != "count" else measurement)
    axes.set_title(title)
    axes.grid(alpha=0.3)
    return _png(figure)
