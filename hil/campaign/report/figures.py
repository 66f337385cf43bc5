"""The figures of each case: the plots of one representative run (the first failing run, else
the first) and, for a sweep's distribution criteria, a histogram of each one's measurement over
the runs. A missing or unreadable recording becomes a line of text, never an exception."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from hil.campaign.report import plots
from hil.campaign.report.trace import RunTrace, read_trace
from hil.campaign.results import CaseResult, CriterionResult, RunResult
from hil.errors import RecordingError

FAILED = ("fail", "error")
FRACTION_PASSING = "fraction_passing"
"""The sweep statistic over run verdicts, not over a measurement."""
RUN_PLOTS: tuple[tuple[str, str, Callable[[RunTrace], bytes]], ...] = (
    ("plan", "Plan view", plots.plan_view),
    ("error", "Position error against time", plots.position_error),
    ("latency", "Loop latency", plots.latency_histogram),
    ("timeline", "Engagement timeline and interlocks", plots.engagement_timeline),
)
"""The plots of a representative run: (kind, title, drawing function)."""


@dataclass(frozen=True, slots=True)
class Plot:
    """One PNG image: ``kind`` names the plot (``plan``, ``error``, ``latency``, ``timeline``,
    ``sweep``), ``title`` is its caption."""

    kind: str
    title: str
    png: bytes


@dataclass
class CaseFigures:
    """A case's figures; ``run_note`` says which run was plotted, or why none could be."""

    case: CaseResult
    run: RunResult | None
    run_note: str
    run_plots: list[Plot] = field(default_factory=list)
    sweep_plots: list[Plot] = field(default_factory=list)


def representative_run(case: CaseResult) -> RunResult | None:
    """The run a case's plots show: its first failing run, else its first run — among the runs
    that left a recording when any did (an interrupted case has runs that never ran)."""
    recorded = [r for r in case.runs if r.recording is not None] or list(case.runs)
    return next((r for r in recorded if r.verdict in FAILED), recorded[0] if recorded else None)


def measured_values(case: CaseResult, criterion: CriterionResult) -> list[float]:
    """The criterion's measurement in every run that has it (booleans as 0/1)."""
    key = criterion.key
    values = []
    for run in case.runs:
        value = run.measurements.get(key)
        if isinstance(value, int | float):
            values.append(float(value))
    return values


def case_figures(case: CaseResult) -> CaseFigures:
    """The figures of ``case``."""
    run = representative_run(case)
    figures = CaseFigures(case, run, "")
    if run is None:
        figures.run_note = "no run of this case was recorded, so nothing can be plotted"
    else:
        which = (
            "the first failing run"
            if run.verdict in FAILED
            else ("the first run; none failed" if len(case.runs) > 1 else "the case's run")
        )
        figures.run_note = f"{run.identity} ({which})"
        _plot_run(figures, case, run)
    if len(case.runs) > 1:
        for criterion in case.criteria:
            if criterion.statistic == FRACTION_PASSING or not isinstance(criterion.limit, float):
                continue  # no per-run value to show: the verdict table has each run's
            figures.sweep_plots.append(
                Plot(
                    "sweep",
                    f"{criterion.text}: {criterion.measurement} over the runs",
                    plots.sweep_histogram(
                        measured_values(case, criterion),
                        criterion.text,
                        criterion.measurement,
                        criterion.unit,
                        criterion.limit,
                        criterion.verdict in FAILED,
                    ),
                )
            )
    return figures


def _plot_run(figures: CaseFigures, case: CaseResult, run: RunResult) -> None:
    if run.recording is None:
        figures.run_note += ": it left no recording, so its plots cannot be drawn"
        return
    if not run.recording.is_file():
        figures.run_note += f": its recording {run.recording} is missing, so no plots"
        return
    real_truth = case.mode != "bench" or case.emulated
    try:
        trace = read_trace(run.recording, real_truth=real_truth)
    except RecordingError as error:
        figures.run_note += f": its recording cannot be read ({error}), so no plots"
        return
    figures.run_plots = [Plot(kind, title, draw(trace)) for kind, title, draw in RUN_PLOTS]
    if trace.unfinished:
        figures.run_note += (
            f"; its recording is unfinished (the run was killed?): plotted up to its last "
            f"complete chunk, {trace.duration_s:.1f} s"
        )
