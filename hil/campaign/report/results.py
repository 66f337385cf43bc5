"""Reading a campaign's ``results.json`` (schema ``hil-campaign-results/1``, written by
``hil campaign run``) into typed records for the report.

Only what the report shows is required: the schema tag, the campaign's name, and per case its
name, mode and runs, per run its seed and verdict. Everything else has a neutral default, so a
report still renders from an interrupted campaign. A file that is missing, not JSON or not this
layout raises :class:`ResultsError` with one line naming the file, the key and what to do.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from hil.campaign.criteria import run_identity
from hil.errors import HilError

SCHEMA = "hil-campaign-results/1"
RESULTS_FILE = "results.json"
MODES = ("bench", "emulate", "sim", "replay")
_HINT = f"it is written by `hil campaign run` (schema {SCHEMA})"


class ResultsError(HilError):
    """A results folder or its ``results.json`` cannot be read: one line naming the file, the
    key and what to do."""


@dataclass(frozen=True, slots=True)
class Criterion:
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


@dataclass(frozen=True, slots=True)
class Run:
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
    criteria: tuple[Criterion, ...]
    summary: dict[str, Any]
    replay_of: str | None = None

    @property
    def identity(self) -> str:
        """``seed N``; a replay run: ``FILE (seed N)``, or ``FILE`` if it could not be read."""
        return run_identity({"seed": self.seed, "replay_of": self.replay_of})


@dataclass(frozen=True, slots=True)
class Case:
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
    criteria: tuple[Criterion, ...]
    runs: tuple[Run, ...]


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
    cases: tuple[Case, ...]
    preflight: dict[str, Any] | None = None
    """The rig preflight made before the bench runs (``hil.campaign.preflight``), as written."""


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


def _criteria(table: Mapping[str, Any], where: _Where) -> tuple[Criterion, ...]:
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
            Criterion(
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


def _run(item: object, folder: Path, where: _Where) -> Run:
    r = _table(item, where)
    recording = _optional(r, "recording", str, where)
    return Run(
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


def _case(item: object, folder: Path, where: _Where) -> Case:
    c = _table(item, where)
    mode = _required(c, "mode", str, where)
    if mode not in MODES:
        raise where.key("mode").fail(f"unknown mode {mode!r} (allowed: {', '.join(MODES)})")
    runs = _required(c, "runs", list, where)
    faults = _optional(c, "faults", list, where) or []
    return Case(
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
        runs=tuple(_run(run, folder, where.key("runs").key(i)) for i, run in enumerate(runs)),
    )


def load_results(folder: Path) -> CampaignResults:
    """The ``results.json`` of a results folder; ``ResultsError`` (one line) if the folder or
    the file is missing or not a campaign's results."""
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
        cases=tuple(_case(case, folder, where.key("cases").key(i)) for i, case in enumerate(cases)),
        preflight=_optional(top, "preflight", dict, where),
    )
