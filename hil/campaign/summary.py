"""The lines ``hil campaign run`` ends with: the campaign's verdict, each case's (EMULATED
where a bench case ran on emulators), what failed with its measured value and limit and the
command that replays it, and where the results are."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from hil.campaign.junit import measured_text, run_name

DETAILED_RUNS = 5
"""Runs per case whose failures are spelled out (the rest are in results.json)."""
EMULATED = " EMULATED (bench devices missing: emulators ran instead)"


def _criterion(row: Mapping[str, Any]) -> str:
    if row["verdict"] == "fail":
        return f"FAIL {measured_text(row)}"
    return f"ERROR {row['text']}: {row.get('reason')}"


def _run_lines(run: Mapping[str, Any]) -> list[str]:
    name = run_name(run)
    lines = [f"      {name}: {_criterion(r)}" for r in run["criteria"] if r["verdict"] != "pass"]
    if run["verdict"] == "error" and run.get("error"):
        lines.append(f"      {name}: ERROR {run['error']}")
    if run.get("replay_command"):
        lines.append(f"        reproduce: {run['replay_command']}")
    return lines


def _case_lines(case: Mapping[str, Any]) -> list[str]:
    runs = case["runs"]
    counts = ", ".join(
        f"{sum(r['verdict'] == v for r in runs)} {v}"
        for v in ("pass", "fail", "error", "not_run")
        if any(r["verdict"] == v for r in runs)
    )
    emulated = EMULATED if case["emulated"] else ""
    lines = [f"  {case['verdict'].upper():<8} {case['name']} ({case['mode']}{emulated}): {counts}"]
    failed = [r for r in runs if r["verdict"] in ("fail", "error")]
    for run in failed[:DETAILED_RUNS]:
        lines += _run_lines(run)
    if len(failed) > DETAILED_RUNS:
        lines.append(f"      ... and {len(failed) - DETAILED_RUNS} more that did not pass")
    lines += [
        f"      {run_name(run)}: the launcher was NOT CONFIRMED SAFE at the end (final state "
        f"{run['summary'].get('rig_final_state')}): check the PLC before approaching the "
        "launcher"
        for run in runs
        if (run.get("summary") or {}).get("rig_safe_confirmed") is False
    ]
    if case["verdict"] != "not_run":  # an interrupted sweep was not judged
        for row in case["criteria"]:
            if row["verdict"] != "pass":
                lines.append(f"      sweep: {_criterion(row)}")
                if row.get("replay_command"):  # a regression's worst run
                    lines.append(f"        reproduce: {row['replay_command']}")
    return lines


def preflight_lines(preflight: Mapping[str, Any] | None) -> list[str]:
    """The rig preflight made before the bench runs: its verdict, the rows that refused them,
    the rows ``--ignore-preflight`` let pass (nothing without a bench run)."""
    if preflight is None:
        return []
    if preflight["error"]:
        return [f"  preflight: could not run ({preflight['error']}): bench runs refused"]
    lines = [f"  preflight: {str(preflight['verdict']).upper()}"]
    if preflight["refusal"]:
        lines[0] += " — bench runs refused"
        lines.append(f"      {preflight['refusal']}")
    if preflight["ignored_red"]:
        lines.append(
            f"      IGNORED red rows (--ignore-preflight): {', '.join(preflight['ignored_red'])}"
        )
    report = preflight.get("report") or {}
    lines += [
        f"      {row['verdict'].upper()} {row['name']}: {row['value']}"
        for row in report.get("rows", [])
        if row["verdict"] == "amber"
    ]
    return lines


def regression_lines(regression: Mapping[str, Any] | None) -> list[str]:
    """What the ``[regression]`` judgement compared against, or why it judged nothing (none
    without a ``[regression]`` table)."""
    if regression is None:
        return []
    against = regression.get("baseline_campaigns") or []
    shown = f" against {len(against)} earlier comparable campaign(s)" if against else ""
    lines = [f"  regressions: {regression.get('status')}{shown}"]
    return lines + [f"    {note}" for note in regression.get("notes") or []]


def exit_summary(
    document: Mapping[str, Any], results_path: Path, junit_path: Path, report_path: Path | None
) -> str:
    stopped = (
        " (interrupted: finished runs kept, the rest not run)" if document["interrupted"] else ""
    )
    lines = [
        f"campaign {document['campaign']['name']}: {document['verdict'].upper()}{stopped} "
        f"in {document['wall_s']:.1f} s"
    ]
    lines += preflight_lines(document.get("preflight"))
    for case in document["cases"]:
        lines += _case_lines(case)
    lines += [f"  WARNING {warning}" for warning in document.get("warnings", [])]
    lines += regression_lines(document.get("regression"))
    lines += [
        f"results: {results_path}",
        f"junit:   {junit_path}",
        f"report:  {report_path if report_path else 'not written (see above)'}",
    ]
    return "\n".join(lines)
