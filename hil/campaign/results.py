"""``results.json``: every run's measurements, limits and verdicts, the sweep criteria, the
environment and the recordings (layout ``hil-campaign-results/1``, docs/campaigns.md).

Verdicts: a run is ``pass`` when every criterion passed, ``fail`` when one failed, ``error`` when
the run could not be performed or a measurement was missing, ``not_run`` when the campaign was
stopped first. A case is ``fail`` if any run or sweep criterion failed, else ``error`` if any
errored, else ``not_run`` if any run did not run, else ``pass``; the campaign likewise over its
cases, and ``interrupted`` when it was stopped.
"""

from __future__ import annotations

import json
import math
import os
import platform
import shlex
import socket
from collections.abc import Iterable, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

from hil import __version__
from hil.campaign.criteria import judge_sweep
from hil.campaign.execute import RECORDING_FAILED, RECORDING_LOST, lose_recording, recording_gone
from hil.campaign.loader import Campaign
from hil.campaign.plan import PlannedCase
from hil.campaign.runner import CampaignRun
from hil.campaign.software import git_commit
from hil.recording.channels import ICD_VERSIONS
from hil.run.summary import plain

SCHEMA = "hil-campaign-results/1"
RESULTS_FILE = "results.json"


def utc(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def worst(verdicts: Iterable[str]) -> str:
    """The verdict of a group: fail, else error, else not_run, else pass."""
    found = set(verdicts)
    for verdict in ("fail", "error", "not_run"):
        if verdict in found:
            return verdict
    return "pass"


def environment() -> dict[str, Any]:
    """The software and machine the campaign ran on."""
    return {
        "software_version": __version__,
        "git_commit": git_commit(),
        "python": platform.python_version(),
        "host": socket.gethostname(),
        "platform": platform.platform(),
        "icd": {
            "radar": ICD_VERSIONS["icd_radar"].rsplit("rev ", 1)[-1],
            "plc": ICD_VERSIONS["icd_plc"].rsplit("rev ", 1)[-1],
        },
    }


def build(
    campaign: Campaign,
    planned: Sequence[PlannedCase],
    outcome: CampaignRun,
    folder: Path,
    started: datetime,
    finished: datetime,
    warnings: Sequence[str] = (),
) -> dict[str, Any]:
    """The ``results.json`` document. ``folder`` as the operator named it (relative or not):
    the replay commands are written with it. ``warnings``: what went wrong around the runs
    (lost recordings, a results folder that disappeared)."""
    cases = [_case(p, outcome.records[p.case.name], folder) for p in planned]
    interrupted = outcome.stopped_by is not None
    verdict = "interrupted" if interrupted else worst(c["verdict"] for c in cases)
    return {
        "schema": SCHEMA,
        "campaign": {
            "name": campaign.name,
            "file": str(campaign.file),
            "description": campaign.description,
            "rig": str(campaign.rig_file.resolve()),
        },
        "started_utc": utc(started),
        "finished_utc": utc(finished),
        "wall_s": round((finished - started).total_seconds(), 3),
        "interrupted": interrupted,
        "verdict": verdict,
        "environment": environment(),
        "preflight": outcome.preflight.as_json(),
        "warnings": list(warnings),
        "cases": cases,
    }


def check_recordings(outcome: CampaignRun) -> list[str]:
    """Every run's recording checked at the end of the campaign: one listed but gone (deleted
    or moved after its run ended) is lost, as ``execute`` says of one gone during its run.
    Returns the campaign's warnings about lost and failed recordings (none: all there)."""
    records = [record for runs in outcome.records.values() for record in runs]
    for record in records:
        path = record.get("recording")
        if path is not None and not Path(path).exists():
            lose_recording(record, recording_gone(Path(path)))
    warnings = []
    for what, prefix in (
        ("lost their recording", RECORDING_LOST),
        ("had their recording fail mid-run", RECORDING_FAILED),
    ):
        hit = [
            f"{case} seed {record['seed']}"
            for case, runs in outcome.records.items()
            for record in runs
            if any(str(note).startswith(prefix) for note in record["notes"])
        ]
        if hit:
            shown = ", ".join(hit[:5]) + (f" and {len(hit) - 5} more" if len(hit) > 5 else "")
            warnings.append(
                f"{len(hit)} of {len(records)} runs {what} ({shown}): see each run's notes; "
                "those runs are errors"
            )
    return warnings


def _case(planned: PlannedCase, records: list[dict[str, Any]], folder: Path) -> dict[str, Any]:
    case = planned.case
    runs = [_run(record, folder) for record in records]
    sweep = judge_sweep(case.sweep_criteria, runs) if case.sweep_criteria else []
    incomplete = any(r["verdict"] == "not_run" for r in runs)
    # an incomplete sweep is not_run, not an error: its criteria could not be judged
    judged = [] if incomplete else [c["verdict"] for c in sweep]
    verdict = worst([r["verdict"] for r in runs] + judged)
    armed = [job.settings.armed for job in planned.jobs if job.settings is not None]
    summaries = [r["summary"] for r in runs if r["summary"]]
    return {
        "name": case.name,
        "description": case.description,
        "mode": case.mode,
        "emulated": any(r["emulated"] for r in runs),
        "scenario": None if case.scenario_file is None else str(case.scenario_file.resolve()),
        "recordings_replayed": [str(path) for path in case.recordings],
        "duration_s": case.duration_s if math.isfinite(case.duration_s) else None,
        "armed": any(armed) or any(s["armed"] for s in summaries),
        "faults": [
            {"at_s": f.at_s, "kind": f.kind, "duration_s": f.duration_s, "value": f.value}
            for f in case.faults
        ],
        "verdict": verdict,
        "criteria": sweep,
        "runs": runs,
    }


def _run(record: dict[str, Any], folder: Path) -> dict[str, Any]:
    """The record with its recording relative to the results folder and the command that
    reproduces it: ``hil replay`` of its recording; for a replay run that could not be
    performed (or left no recording), of the recording it played — a bad source's partial
    re-recording would replay cleanly and reproduce nothing."""
    run = dict(record)
    recording = run.get("recording")
    run["replay_command"] = None
    if recording is not None:
        relative = Path(os.path.relpath(recording, folder.resolve()))
        run["recording"] = relative.as_posix()
        run["replay_command"] = f"hil replay {shlex.quote(str(folder / relative))} --compare"
    source = run.get("replay_of")
    if source is not None and (recording is None or run.get("verdict") == "error"):
        run["replay_command"] = f"hil replay {shlex.quote(str(source))} --compare"
    return run


def write(folder: Path, results: dict[str, Any]) -> Path:
    """``results.json`` in ``folder``, written whole or not at all (a temporary file renamed)."""
    path = folder / RESULTS_FILE
    partial = path.with_suffix(".json.partial")
    document = plain(results)  # a non-finite float is None: JSON has no NaN
    partial.write_text(json.dumps(document, indent=1, allow_nan=False) + "\n", encoding="utf-8")
    partial.replace(path)
    return path
