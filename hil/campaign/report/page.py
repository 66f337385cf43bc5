"""``report.html``: one self-contained page (inline CSS, plots as base64 PNG ``<img>``, no
script, nothing fetched) — campaign verdict, environment, the verdict table (case × seed, every
criterion's measured value against its limit), the sweep criteria, the failed criteria with the
``hil replay`` command that reproduces each, and per case its plots."""

from __future__ import annotations

import base64
import math
from html import escape
from typing import Any

from hil.campaign.report.figures import FAILED, CaseFigures, Plot
from hil.campaign.report.history import ReportHistory, history_section
from hil.campaign.results import CampaignResults, CaseResult, CriterionResult, RunResult

COLOURS = {
    "pass": "#1a7f37",
    "fail": "#cf222e",
    "error": "#bc4c00",
    "interrupted": "#8250df",
    "not_run": "#6e7781",
}
PREFLIGHT_COLOURS = {"green": COLOURS["pass"], "amber": "#9a6700", "red": COLOURS["fail"]}
UNSHOWN_UNITS = frozenset({"", "count", "fraction", "state"})
"""Units of results.json that a value reads better without (``3``, not ``3 count``)."""
_COMPARATORS = {"<=": "≤", ">=": "≥", "==": "=", "!=": "≠"}
_CSS = """
body { font-family: system-ui, sans-serif; margin: 1.5em auto; max-width: 1200px; color: #1f2328;
       padding: 0 1em; }
h1 { margin-bottom: 0.2em; }
.verdict { display: inline-block; font-size: 2.4em; font-weight: 700; color: white;
           padding: 0.15em 0.6em; border-radius: 0.2em; margin: 0.3em 0; }
.badge { color: white; padding: 0.05em 0.45em; border-radius: 0.2em; font-weight: 600; }
.emulated { background: #ffd33d; color: #000; font-weight: 800; padding: 0.05em 0.4em;
            border: 2px solid #9a6700; }
.banner { background: #fff8c5; border: 3px solid #9a6700; padding: 0.6em 1em; font-size: 1.2em;
          font-weight: 700; margin: 0.8em 0; }
table { border-collapse: collapse; margin: 0.6em 0 1.2em; }
th, td { border: 1px solid #d0d7de; padding: 0.25em 0.6em; text-align: left; vertical-align: top; }
th { background: #f6f8fa; }
td.num { text-align: right; font-variant-numeric: tabular-nums; }
ul.criteria { margin: 0; padding-left: 1.1em; }
pre { background: #f6f8fa; padding: 0.5em 0.8em; overflow-x: auto; border: 1px solid #d0d7de; }
.note { color: #57606a; }
.missing { color: #bc4c00; font-weight: 600; }
figure { display: inline-block; margin: 0.4em 0.5%; vertical-align: top; width: 48%; }
figure img { width: 100%; height: auto; border: 1px solid #d0d7de; }
figcaption { font-size: 0.9em; color: #57606a; }
section.case { border-top: 2px solid #d0d7de; margin-top: 1.5em; }
"""


def number(value: float | str | None) -> str:
    """A value as the report prints it: up to 6 significant digits, a word as it is, ``—`` for
    none."""
    if isinstance(value, str):
        return value
    if value is None or not math.isfinite(value):
        return "—"
    if value == int(value) and abs(value) < 1e15:
        return str(int(value))
    return f"{value:.6g}"


def _badge(verdict: str) -> str:
    colour = COLOURS.get(verdict, COLOURS["error"])
    return f'<span class="badge" style="background:{colour}">{escape(verdict.upper())}</span>'


def _mode(case: CaseResult) -> str:
    if case.emulated:
        return f'{escape(case.mode)} <span class="emulated">EMULATED</span>'
    return escape(case.mode)


def _with_unit(value: float | str | None, unit: str) -> str:
    text = escape(number(value))
    shown = unit not in UNSHOWN_UNITS and text != "—"
    return f"{text} {escape(unit)}" if shown else text


def criterion_line(c: CriterionResult) -> str:
    """``gospa_mean_m <= 60: measured 41.2 m, limit ≤ 60 m PASS`` as HTML."""
    comparator = _COMPARATORS.get(c.comparator, c.comparator)
    reason = f" — {escape(c.reason)}" if c.reason else ""
    return (
        f"<code>{escape(c.text)}</code>: measured "
        f'<b class="measured">{_with_unit(c.measured, c.unit)}</b>, limit '
        f'<span class="limit">{escape(comparator)} {_with_unit(c.limit, c.unit)}</span> '
        f"{_badge(c.verdict)}{reason}"
    )


def _criteria_list(criteria: tuple[CriterionResult, ...]) -> str:
    if not criteria:
        return '<span class="note">no criteria</span>'
    items = "".join(f"<li>{criterion_line(c)}</li>" for c in criteria)
    return f'<ul class="criteria">{items}</ul>'


def replay_command(run: RunResult) -> str | None:
    """The command that reproduces a run from its recording."""
    if run.replay_command:
        return run.replay_command
    if run.recording is not None:
        return f"hil replay {run.recording} --compare"
    return None


def _head(results: CampaignResults) -> str:
    verdict = results.verdict
    colour = COLOURS.get(verdict, COLOURS["error"])
    emulated = [c.name for c in results.cases if c.emulated]
    parts = [
        f"<h1>Campaign {escape(results.name)}</h1>",
        f'<p class="note">{escape(results.description)}</p>' if results.description else "",
        f'<div class="verdict" id="verdict" style="background:{colour}">'
        f"{escape(verdict.upper())}</div>",
    ]
    if emulated:
        parts.append(
            '<div class="banner">EMULATED: '
            + escape(", ".join(emulated))
            + " fell back to emulation (the bench devices were missing) — not a bench result"
            "</div>"
        )
    if results.interrupted:
        parts.append('<div class="banner">INTERRUPTED: the campaign was stopped early</div>')
    if results.overrides:
        parts.append(
            '<div class="banner" id="overrides">RIG OVERRIDDEN for every case: '
            + escape(" ".join(f"--set {o}" for o in results.overrides))
            + "</div>"
        )
    rows = [
        ("campaign file", results.file),
        ("rig", results.rig),
        ("rig overrides (--set)", " ".join(results.overrides) or "none"),
        ("started (UTC)", results.started_utc),
        ("finished (UTC)", results.finished_utc),
        ("wall time", None if results.wall_s is None else f"{results.wall_s:.1f} s"),
        ("results folder", str(results.folder)),
    ]
    parts.append(_key_table("Campaign", rows))
    environment: list[tuple[str, str | None]] = [
        (str(k), _plain(v)) for k, v in results.environment.items()
    ]
    parts.append(_key_table("Environment", environment))
    return "\n".join(parts)


def _plain(value: Any) -> str:
    if isinstance(value, dict):
        return ", ".join(f"{k} {_plain(v)}" for k, v in value.items())
    return "—" if value is None else str(value)


def _key_table(title: str, rows: list[tuple[str, str | None]]) -> str:
    body = "".join(
        f"<tr><th>{escape(k)}</th><td>{escape(v if v is not None else '—')}</td></tr>"
        for k, v in rows
    )
    return f"<h2>{escape(title)}</h2><table>{body}</table>"


def _seed(run: RunResult, *, named: bool = False) -> str:
    """The run's seed ("" if unknown); ``named``: a replay run by its recording too."""
    if named and run.replay_of is not None:
        return run.identity
    return "" if run.seed is None else str(run.seed)


def _verdict_table(results: CampaignResults) -> str:
    rows = []
    for case in results.cases:
        if not case.runs:
            rows.append(
                f"<tr><td>{escape(case.name)}</td><td>{_mode(case)}</td><td>—</td>"
                f"<td>{_badge(case.verdict)}</td><td></td>"
                f'<td><span class="note">no run</span></td></tr>'
            )
        for run in case.runs:
            error = f'<div class="missing">{escape(run.error)}</div>' if run.error else ""
            wall = "—" if run.wall_s is None else f"{run.wall_s:.1f} s"
            rows.append(
                f'<tr class="run" data-case="{escape(case.name)}" data-seed="{_seed(run)}">'
                f"<td>{escape(case.name)}</td><td>{_mode(case)}</td>"
                f'<td class="num">{escape(_seed(run, named=True))}</td>'
                f"<td>{_badge(run.verdict)}</td>"
                f'<td class="num">{wall}</td>'
                f"<td>{error}{_criteria_list(run.criteria)}</td></tr>"
            )
    head = (
        "<tr><th>case</th><th>mode</th><th>seed</th><th>verdict</th><th>wall</th>"
        "<th>criteria: measured against limit</th></tr>"
    )
    return f'<h2>Verdicts</h2><table id="verdicts">{head}{"".join(rows)}</table>'


def _sweep_table(results: CampaignResults) -> str:
    rows = [
        f"<tr><td>{escape(case.name)}</td><td>{_mode(case)}</td>"
        f'<td class="num">{len(case.runs)}</td><td>{criterion_line(c)}</td></tr>'
        for case in results.cases
        for c in case.criteria
    ]
    if not rows:
        return ""
    head = "<tr><th>case</th><th>mode</th><th>runs</th><th>criterion over the runs</th></tr>"
    return f'<h2>Sweep criteria</h2><table id="sweep">{head}{"".join(rows)}</table>'


def _failures(results: CampaignResults, figures: list[CaseFigures]) -> str:
    items = []
    for case, case_figures in zip(results.cases, figures, strict=True):
        for run in case.runs:
            failed = [c for c in run.criteria if c.verdict in FAILED]
            if failed or run.error:
                items.append(_failure(case, run, failed, run.identity))
        failed_sweep = [c for c in case.criteria if c.verdict in FAILED]
        shown = case_figures.run
        if failed_sweep and shown is not None:
            items.append(_failure(case, shown, failed_sweep, f"sweep, {shown.identity}"))
    if not items:
        return '<h2>Failures</h2><p class="note">none: every criterion passed</p>'
    joined = "".join(items)
    return f'<h2>Failures and how to reproduce them</h2><div id="failures">{joined}</div>'


def _failure(case: CaseResult, run: RunResult, failed: list[CriterionResult], which: str) -> str:
    lines = "".join(f"<li>{criterion_line(c)}</li>" for c in failed)
    error = f'<li class="missing">run error: {escape(run.error)}</li>' if run.error else ""
    command = replay_command(run)
    reproduce = (
        f'<pre class="replay">{escape(command)}</pre>'
        if command
        else '<p class="missing">no recording: this run cannot be replayed</p>'
    )
    return (
        f'<div class="failure"><h3>{escape(case.name)} ({which}) {_mode(case)}</h3>'
        f"<ul>{error}{lines}</ul>{reproduce}</div>"
    )


def _image(plot: Plot) -> str:
    data = base64.b64encode(plot.png).decode("ascii")
    title = escape(plot.title)
    return (
        f'<figure><img class="plot" data-plot="{plot.kind}" alt="{title}" '
        f'src="data:image/png;base64,{data}"><figcaption>{title}</figcaption></figure>'
    )


def _case_section(figures: CaseFigures) -> str:
    case = figures.case
    faults = (
        ", ".join(
            f"{escape(str(f.get('kind')))} at {escape(str(f.get('at_s')))} s" for f in case.faults
        )
        or "none"
    )
    facts = (
        f"mode {_mode(case)}; scenario {escape(case.scenario or '—')}; duration "
        f"{number(case.duration_s)} s; {'ARMED' if case.armed else 'not armed'}; "
        f"{len(case.runs)} run(s); faults: {faults}"
    )
    plotted = "".join(_image(p) for p in figures.run_plots)
    note_class = "note" if figures.run_plots else "missing"
    sweep = "".join(_image(p) for p in figures.sweep_plots)
    return (
        f'<section class="case" id="case-{escape(case.name)}">'
        f"<h2>Case {escape(case.name)} {_badge(case.verdict)}</h2>"
        + (f'<p class="note">{escape(case.description)}</p>' if case.description else "")
        + f"<p>{facts}</p>"
        f'<p class="{note_class}">Plotted run: {escape(figures.run_note)}</p>'
        f"<div>{plotted}</div>"
        + (f"<h3>Over the {len(case.runs)} runs</h3><div>{sweep}</div>" if sweep else "")
        + "</section>"
    )


def _preflight_section(preflight: dict[str, Any] | None) -> str:
    """The rig preflight made before the bench runs: verdict, refusal, the red rows let pass by
    ``--ignore-preflight`` (a banner), and every row (nothing without a bench run)."""
    if preflight is None:
        return ""
    parts = ['<h2 id="preflight">Rig preflight (before the bench runs)</h2>']
    if preflight.get("error"):
        parts.append(f'<div class="banner">{escape(str(preflight["error"]))}</div>')
    if preflight.get("refusal"):
        parts.append(f'<div class="banner">{escape(str(preflight["refusal"]))}</div>')
    if preflight.get("ignored_red"):
        ignored = ", ".join(str(name) for name in preflight["ignored_red"])
        parts.append(
            f'<div class="banner">IGNORED red preflight rows (--ignore-preflight): '
            f"{escape(ignored)}</div>"
        )
    report = preflight.get("report") or {}
    rows = []
    for row in report.get("rows", []):
        verdict = str(row.get("verdict"))
        colour = PREFLIGHT_COLOURS.get(verdict, COLOURS["error"])
        rows.append(
            f'<tr><td><span class="badge" style="background:{colour}">'
            f"{escape(verdict.upper())}</span></td><td>{escape(str(row.get('name')))}</td>"
            f"<td>{escape(str(row.get('value')))}</td><td>{escape(str(row.get('limit') or ''))}"
            f"</td><td>{escape(str(row.get('action') or '') if verdict != 'green' else '')}</td>"
            "</tr>"
        )
    if rows:
        parts.append(
            "<table><tr><th>verdict</th><th>check</th><th>measured</th><th>limit</th>"
            f"<th>what to do</th></tr>{''.join(rows)}</table>"
        )
    return "\n".join(parts)


def build_page(
    results: CampaignResults, figures: list[CaseFigures], history: ReportHistory | None = None
) -> str:
    """The whole report page for ``results`` with each case's ``figures`` (same order) and
    the history section (``history``: None when there is no results store)."""
    body = "\n".join(
        [
            _head(results),
            _preflight_section(results.preflight),
            _verdict_table(results),
            _sweep_table(results),
            _failures(results, figures),
            history_section(history),
            *(_case_section(f) for f in figures),
        ]
    )
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        f"<title>Campaign {escape(results.name)}: {escape(results.verdict.upper())}</title>"
        f"<style>{_CSS}</style></head><body>\n{body}\n</body></html>\n"
    )
