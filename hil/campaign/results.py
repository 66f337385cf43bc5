"""``results.json``: every run's measurements, limits and verdicts, the sweep criteria, the
environment and the recordings (layout ``hil-campaign-results/1``, docs/campaigns.md) — written
by ``hil campaign run`` (``build``, ``check_recordings``, ``write``) and read back for the report
(``load_results`` into :class:`CampaignResults`). One module, so the layout has one owner.

Verdicts: a run is ``pass`` when every criterion passed, ``fail`` when one failed, ``error`` when
the run could not be performed or a measurement was missing, ``not_run`` when the campaign was
stopped first. A case is ``fail`` if any run or sweep criterion failed, else ``error`` if any
errored, else ``not_run`` if any run did not run, else ``pass``; the campaign likewise over its
cases, and ``interrupted`` when it was stopped.

Reading: only what the report shows is required: the schema tag, the campaign's name, and per
case its name, mode and runs, per run its seed and verdict. Everything else has a neutral default,
so a report still renders from an interrupted campaign. A file that is missing, not JSON or not
this layout raises :class:`ResultsError` with one line naming the file, the key and what to do.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import platform
import shlex
import socket
import uuid
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from hil import __version__
from hil.campaign.criteria import judge_sweep, run_identity
from hil.campaign.measurements import measurement_key
from hil.campaign.software import git_commit, source_digest
from hil.errors import HilError
from hil.recording.channels import ICD_VERSIONS

if TYPE_CHECKING:  # the writer's inputs: the campaign layer a reader of results.json never loads
    from hil.campaign.loader import Campaign
    from hil.campaign.plan import PlannedCase
    from hil.campaign.runner import CampaignRun

SCHEMA = "hil-campaign-results/1"
RESULTS_FILE = "results.json"
MODES = ("bench", "emulate", "sim", "replay")
_HINT = f"it is written by `hil campaign run` (schema {SCHEMA})"


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
    """The software and machine the campaign ran on; ``source_digest``: the hil source's
    digest (``hil.campaign.software``), equal code whatever the commit says."""
    return {
        "software_version": __version__,
        "git_commit": git_commit(),
        "source_digest": source_digest(),
        "python": platform.python_version(),
        "host": socket.gethostname(),
        "platform": platform.platform(),
        "icd": {
            "radar": ICD_VERSIONS["icd_radar"].rsplit("rev ", 1)[-1],
            "plc": ICD_VERSIONS["icd_plc"].rsplit("rev ", 1)[-1],
        },
    }


def file_digest(path: Path) -> str | None:
    """SHA-256 hex of a file's bytes (the campaign file's digest: campaigns run from the same
    file are comparable); None if it cannot be read (a campaign file deleted while it ran)."""
    try:
        return hashlib.sha256(path.read_bytes()).hexdigest()
    except OSError:
        return None


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
    the replay commands are written with it. ``campaign.id`` is a fresh UUID (the campaign's
    key in the results store), ``campaign.digest`` the SHA-256 of the campaign file.
    ``warnings``: what went wrong around the runs (lost recordings, a results folder that
    disappeared)."""
    cases = [_case(p, outcome.records[p.case.name], folder) for p in planned]
    interrupted = outcome.stopped_by is not None
    verdict = "interrupted" if interrupted else worst(c["verdict"] for c in cases)
    return {
        "schema": SCHEMA,
        "campaign": {
            "id": str(uuid.uuid4()),
            "name": campaign.name,
            "file": str(campaign.file),
            "digest": file_digest(campaign.file),
            "description": campaign.description,
            "rig": str(campaign.rig_file.resolve()),
            "overrides": list(campaign.overrides),
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
    # the executor (the rig, run and loop layers): loaded by the writer, never by a reader
    from hil.campaign.execute import (
        RECORDING_FAILED,
        RECORDING_LOST,
        lose_recording,
        recording_gone,
    )

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
    from hil.run.summary import plain  # the run layer: the writer's, never a reader's

    document = plain(results)  # a non-finite float is None: JSON has no NaN
    partial.write_text(json.dumps(document, indent=1, allow_nan=False) + "\n", encoding="utf-8")
    partial.replace(path)
    return path


# Reading ``results.json`` back (the report)


class ResultsError(HilError):
    """A results folder or its ``results.json`` cannot be read: one line naming the file, the
    key and what to do."""


@dataclass(frozen=True, slots=True)
class CriterionResult:
    """One criterion's outcome: ``measured`` against ``limit`` with ``comparator``, in ``unit``
    (numbers, or words for a text measurement such as ``rig_final_state == "SAFE"``).
    ``statistic`` is None for a per-run criterion, else how a sweep's runs were combined."""

    text: str
    measurement: str
    labels: dict[str, str]
    statistic: str | None
    comparator: str
    limit: float | str | None
    unit: str
    measured: float | str | None
    verdict: str
    reason: str

    @property
    def key(self) -> str:
        """The measured value's name in a run's measurements: ``launches{source="injected"}``."""
        return measurement_key(self.measurement, self.labels)


@dataclass(frozen=True, slots=True)
class RunResult:
    """One run of a case (one seed). ``recording`` is the absolute path of its MCAP file, or
    None when the run left none. A replay run's ``seed`` is the one recorded in the recording
    it played (``replay_of``), None when that recording could not be read."""

    seed: int | None
    verdict: str
    wall_s: float | None
    recording: Path | None
    replay_command: str | None
    error: str | None
    measurements: dict[str, Any]
    criteria: tuple[CriterionResult, ...]
    summary: dict[str, Any]
    replay_of: str | None = None

    @property
    def identity(self) -> str:
        """``seed N``; a replay run: ``FILE (seed N)``, or ``FILE`` if it could not be read."""
        return run_identity({"seed": self.seed, "replay_of": self.replay_of})


@dataclass(frozen=True, slots=True)
class CaseResult:
    """One case of the campaign and its runs. ``emulated``: a bench case that fell back to
    emulation — shown as EMULATED everywhere."""

    name: str
    description: str
    mode: str
    emulated: bool
    scenario: str | None
    duration_s: float | None
    armed: bool
    faults: tuple[dict[str, Any], ...]
    verdict: str
    criteria: tuple[CriterionResult, ...]
    runs: tuple[RunResult, ...]


@dataclass(frozen=True, slots=True)
class CampaignResults:
    """A whole ``results.json``; ``folder`` is the results folder it was read from."""

    folder: Path
    name: str
    file: str | None
    description: str
    rig: str | None
    started_utc: str | None
    finished_utc: str | None
    wall_s: float | None
    interrupted: bool
    verdict: str
    environment: dict[str, Any]
    cases: tuple[CaseResult, ...]
    preflight: dict[str, Any] | None = None
    """The rig preflight made before the bench runs (``hil.campaign.preflight``), as written."""
    overrides: tuple[str, ...] = ()
    """``hil campaign run --set KEY=VALUE`` applied to every case's rig."""


class _Where:
    """A key path inside the file, for error lines (``cases[1].runs[0].seed``)."""

    def __init__(self, path: Path, at: str = "") -> None:
        self.path, self.at = path, at

    def key(self, name: str | int) -> _Where:
        if isinstance(name, int):
            return _Where(self.path, f"{self.at}[{name}]")
        return _Where(self.path, f"{self.at}.{name}" if self.at else name)

    def fail(self, problem: str) -> ResultsError:
        where = f" {self.at}:" if self.at else ""
        return ResultsError(f"{self.path}:{where} {problem}; {_HINT}")


def _table(value: object, where: _Where) -> Mapping[str, Any]:
    if not isinstance(value, dict):
        raise where.fail(f"expected an object, found {type(value).__name__}")
    return value


def _required(table: Mapping[str, Any], key: str, kind: type, where: _Where) -> Any:
    if key not in table:
        raise where.fail(f"missing key {key!r}")
    return _typed(table[key], kind, where.key(key))


def _optional(table: Mapping[str, Any], key: str, kind: type, where: _Where) -> Any:
    value = table.get(key)
    return None if value is None else _typed(value, kind, where.key(key))


def _typed(value: object, kind: type, where: _Where) -> Any:
    if kind is float:
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise where.fail(f"expected a number, found {value!r}")
        if not math.isfinite(value):
            raise where.fail(f"expected a finite number, found {value!r}")
        return float(value)
    if kind is int and (isinstance(value, bool) or not isinstance(value, int)):
        raise where.fail(f"expected an integer, found {value!r}")
    if kind is list and not isinstance(value, list):
        raise where.fail(f"expected a list, found {type(value).__name__}")
    if kind in (str, bool, dict) and not isinstance(value, kind):
        raise where.fail(f"expected {kind.__name__}, found {value!r}")
    return value


def _value(value: object, where: _Where) -> float | str | None:
    """A measured value or limit: a finite number, a word, or None (a boolean counts as 0/1)."""
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, bool):
        return float(value)
    return float(_typed(value, float, where))


def _criteria(table: Mapping[str, Any], where: _Where) -> tuple[CriterionResult, ...]:
    items = _optional(table, "criteria", list, where) or []
    criteria = []
    for index, item in enumerate(items):
        at = where.key("criteria").key(index)
        c = _table(item, at)
        text = _optional(c, "text", str, at)
        measurement = _optional(c, "measurement", str, at) or ""
        comparator = _optional(c, "comparator", str, at) or ""
        limit = _value(c.get("limit"), at.key("limit"))
        criteria.append(
            CriterionResult(
                text=text or f"{measurement} {comparator} {limit}",
                measurement=measurement,
                labels={
                    str(k): str(v) for k, v in (_optional(c, "labels", dict, at) or {}).items()
                },
                statistic=_optional(c, "statistic", str, at),
                comparator=comparator,
                limit=limit,
                unit=_optional(c, "unit", str, at) or "",
                measured=_value(c.get("measured"), at.key("measured")),
                verdict=_required(c, "verdict", str, at),
                reason=_optional(c, "reason", str, at) or "",
            )
        )
    return tuple(criteria)


def _read_run(item: object, folder: Path, where: _Where) -> RunResult:
    r = _table(item, where)
    recording = _optional(r, "recording", str, where)
    return RunResult(
        seed=_required(r, "seed", int, where)
        if r.get("replay_of") is None
        else _optional(r, "seed", int, where),
        verdict=_required(r, "verdict", str, where),
        wall_s=_optional(r, "wall_s", float, where),
        recording=None if recording is None else folder / recording,
        replay_command=_optional(r, "replay_command", str, where),
        error=_optional(r, "error", str, where),
        measurements=dict(_optional(r, "measurements", dict, where) or {}),
        criteria=_criteria(r, where),
        summary=dict(_optional(r, "summary", dict, where) or {}),
        replay_of=_optional(r, "replay_of", str, where),
    )


def _read_case(item: object, folder: Path, where: _Where) -> CaseResult:
    c = _table(item, where)
    mode = _required(c, "mode", str, where)
    if mode not in MODES:
        raise where.key("mode").fail(f"unknown mode {mode!r} (allowed: {', '.join(MODES)})")
    runs = _required(c, "runs", list, where)
    faults = _optional(c, "faults", list, where) or []
    return CaseResult(
        name=_required(c, "name", str, where),
        description=_optional(c, "description", str, where) or "",
        mode=mode,
        emulated=bool(_optional(c, "emulated", bool, where)),
        scenario=_optional(c, "scenario", str, where),
        duration_s=_optional(c, "duration_s", float, where),
        armed=bool(_optional(c, "armed", bool, where)),
        faults=tuple(dict(_table(f, where.key("faults").key(i))) for i, f in enumerate(faults)),
        verdict=_optional(c, "verdict", str, where) or "not_run",
        criteria=_criteria(c, where),
        runs=tuple(_read_run(run, folder, where.key("runs").key(i)) for i, run in enumerate(runs)),
    )


def load_results(folder: Path) -> CampaignResults:
    """The ``results.json`` of a results folder; ``ResultsError`` (one line) if the folder or
    the file is missing or not a campaign's results."""
    return results_from_document(folder, read_document(folder))


def read_document(folder: Path) -> Any:
    """The parsed JSON of ``folder``'s ``results.json``, not yet checked; ``ResultsError`` (one
    line) if the folder or the file is missing or not JSON."""
    if not folder.is_dir():
        raise ResultsError(
            f"{folder}: not a folder; give the results folder of a campaign run "
            "(runs/<UTC stamp>-<campaign>/)"
        )
    path = folder / RESULTS_FILE
    where = _Where(path)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ResultsError(
            f"{folder}: no {RESULTS_FILE} in this folder; give the results folder of a "
            "campaign run (runs/<UTC stamp>-<campaign>/)"
        ) from None
    except OSError as error:
        raise ResultsError(f"{path}: cannot read: {error.strerror}") from error
    except (json.JSONDecodeError, UnicodeDecodeError) as error:
        raise where.fail(f"not valid JSON ({error})") from error
    return data


def results_from_document(folder: Path, data: object) -> CampaignResults:
    """``data``, the parsed ``results.json`` of ``folder`` (``read_document``), checked and
    read (``load_results`` in two steps, for a reader that needs the raw document too)."""
    where = _Where(folder / RESULTS_FILE)
    top = _table(data, where)
    schema = _required(top, "schema", str, where)
    if schema != SCHEMA:
        raise where.key("schema").fail(f"schema {schema!r}, this report reads {SCHEMA!r}")
    campaign = _table(_required(top, "campaign", dict, where), where.key("campaign"))
    at = where.key("campaign")
    folder = folder.resolve()
    cases = _required(top, "cases", list, where)
    return CampaignResults(
        folder=folder,
        name=_required(campaign, "name", str, at),
        file=_optional(campaign, "file", str, at),
        description=_optional(campaign, "description", str, at) or "",
        rig=_optional(campaign, "rig", str, at),
        started_utc=_optional(top, "started_utc", str, where),
        finished_utc=_optional(top, "finished_utc", str, where),
        wall_s=_optional(top, "wall_s", float, where),
        interrupted=bool(_optional(top, "interrupted", bool, where)),
        verdict=_required(top, "verdict", str, where),
        environment=dict(_optional(top, "environment", dict, where) or {}),
        cases=tuple(
            _read_case(case, folder, where.key("cases").key(i)) for i, case in enumerate(cases)
        ),
        preflight=_optional(top, "preflight", dict, where),
        overrides=tuple(
            _typed(item, str, at.key("overrides").key(i))
            for i, item in enumerate(_optional(campaign, "overrides", list, at) or [])
        ),
    )
