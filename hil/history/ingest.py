"""Writing a campaign's ``results.json`` into the results store, whole or not at all.

One transaction per campaign: the campaign row, its cases, runs, measurements (each with the
first of its worst-judged criteria: comparator, limit, outcome; none without a criterion), sweep
criteria and preflight rows. Idempotent: a campaign whose id is stored already is left as it is,
so a folder imported twice, or a campaign both written by ``hil campaign run`` and imported, is
stored once.

The campaign's id is ``campaign.id`` of results.json (a UUID since issue 23); an older folder
has none, and gets the SHA-256 of its results.json's canonical JSON: the same file, the same id.
The campaign file's digest is ``campaign.digest``; an older folder's is the SHA-256 of the
campaign file if it can still be read, else of what results.json says of the campaign's cases
(a stand-in that matches only other folders judged the same way).
"""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, insert, select
from sqlalchemy.exc import IntegrityError

from hil.campaign.measurements import measurement_unit
from hil.campaign.results import (
    RESULTS_FILE,
    CampaignResults,
    CriterionResult,
    RunResult,
    file_digest,
    read_document,
    results_from_document,
)
from hil.config.loader import load_rig
from hil.config.rig import RigConfig
from hil.errors import HilError, RecordingError
from hil.history import schema
from hil.history.fingerprint import digest, rig_document
from hil.history.location import StoreError
from hil.history.store import Store
from hil.recording.reader import Recording

HOLD_VARIABLE = "HIL_RESULTS_STORE_TEST_HOLD"
"""Tests only: set to 1, a write stops inside its transaction after the runs' rows, says so on
stderr and waits for a line on stdin (so a test can kill it there, or let two writers overlap)."""
OUTCOME_RANK = {"fail": 0, "error": 1, "pass": 2}


@dataclass(frozen=True)
class Written:
    """A campaign handed to the store: its id and name, and whether this call stored it
    (False: it was stored already)."""

    campaign_id: str
    name: str
    stored: bool
    runs: int


def _utc(text: str | None) -> datetime | None:
    if text is None:
        return None
    return datetime.strptime(text, "%Y-%m-%dT%H:%M:%SZ")


def _number_or_text(value: object) -> tuple[float | None, str | None]:
    if isinstance(value, bool):
        return float(value), None
    if isinstance(value, int | float):
        return float(value), None
    if isinstance(value, str):
        return None, value
    return None, None


def _unit(key: str, units: Mapping[str, str]) -> str:
    """A measurement's unit: its criterion's, else the measurement table's, else ``""``."""
    return units[key] if key in units else measurement_unit(key)


def _definition_digest(results: CampaignResults) -> str:
    """The stand-in campaign digest of a folder whose campaign file is gone (module doc)."""
    return digest(
        {
            "name": results.name,
            "cases": [
                {
                    "name": case.name,
                    "mode": case.mode,
                    "duration_s": case.duration_s,
                    "scenario": None if case.scenario is None else Path(case.scenario).name,
                    "faults": list(case.faults),
                    "criteria": [c.text for c in case.criteria],
                    "run_criteria": sorted({c.text for r in case.runs for c in r.criteria}),
                    "runs": len(case.runs),
                }
                for case in results.cases
            ],
        }
    )


def _rig(path: str | None, overrides: Sequence[str]) -> RigConfig | None:
    """The rig file results.json names, loaded as the campaign did (its recorded overrides,
    no environment); None when it is gone or no longer loads."""
    if path is None:
        return None
    try:
        return load_rig(path, overrides, environ={})
    except (HilError, OSError):
        return None


def rig_identity(raw: Mapping[str, Any]) -> tuple[RigConfig | None, dict[str, Any]]:
    """The rig file the results.json document ``raw`` names, loaded as its campaign did (None:
    gone or no longer loading), and the bench's identity document (``rig_document``)."""
    meta: Mapping[str, Any] = raw["campaign"]
    rig_file = meta.get("rig") if isinstance(meta.get("rig"), str) else None
    rig = _rig(rig_file, [str(o) for o in meta.get("overrides") or []])
    return rig, rig_document(rig, rig_file, raw)


def rig_fingerprint(raw: Mapping[str, Any]) -> str:
    """The rig fingerprint of the results.json document ``raw``, as ``campaign_rows`` stores it
    (``hil campaign run`` judges its regressions by it before the document is written)."""
    return digest(rig_identity(raw)[1])


def recording_span(path: Path | None) -> tuple[float | None, float | None]:
    """A run's recording's first and last message log times (s since the Unix epoch, UTC), read
    from its summary alone; (None, None) for a file that is gone, unfinished or unreadable —
    storing a campaign never scans a recording (``hil record recover`` mends one)."""
    if path is None or not path.is_file():
        return None, None
    try:
        with Recording(path) as recording:
            if not recording.complete:
                return None, None
            info = recording.info(verify=False)
    except (RecordingError, OSError, ValueError):
        return None, None
    if info.start_ns is None or info.end_ns is None:
        return None, None
    return info.start_ns / 1e9, info.end_ns / 1e9


def _measurement_rows(campaign_id: str, position: int, run: RunResult) -> list[dict[str, Any]]:
    judged: dict[str, CriterionResult] = {}
    units: dict[str, str] = {}
    for criterion in run.criteria:
        key = criterion.key
        if criterion.unit:
            units.setdefault(key, criterion.unit)
        held = judged.get(key)
        rank = OUTCOME_RANK.get(criterion.verdict, 1)
        if held is None or rank < OUTCOME_RANK.get(held.verdict, 1):
            judged[key] = criterion
    names = list(run.measurements) + [k for k in judged if k not in run.measurements]
    rows = []
    for name in names:
        value, text = _number_or_text(run.measurements.get(name))
        held = judged.get(name)
        limit, limit_text = _number_or_text(None if held is None else held.limit)
        rows.append(
            {
                "campaign_id": campaign_id,
                "run_position": position,
                "name": name,
                "value": value,
                "text_value": text,
                "unit": _unit(name, units),
                "comparator": None if held is None else held.comparator,
                "limit_value": limit,
                "limit_text": limit_text,
                "outcome": None if held is None else held.verdict,
            }
        )
    return rows


@dataclass
class CampaignRows:
    """Every row of one campaign, ready to insert."""

    campaign: dict[str, Any]
    cases: list[dict[str, Any]]
    runs: list[dict[str, Any]]
    measurements: list[dict[str, Any]]
    sweep_criteria: list[dict[str, Any]]
    preflight_rows: list[dict[str, Any]]


def campaign_rows(folder: Path) -> CampaignRows:
    """The rows of the campaign in results folder ``folder``; ``ResultsError`` (one line) if it
    is not a readable results folder."""
    raw = read_document(folder)
    results = results_from_document(folder, raw)  # the report's checks and one-line errors
    meta: Mapping[str, Any] = raw["campaign"]
    campaign_id = meta.get("id") if isinstance(meta.get("id"), str) else digest(raw)
    assert isinstance(campaign_id, str)
    rig, identity = rig_identity(raw)
    campaign_digest = meta.get("digest")
    if not isinstance(campaign_digest, str):
        from_file = None if results.file is None else file_digest(Path(results.file))
        campaign_digest = from_file or _definition_digest(results)
    environment = results.environment
    started = _utc(results.started_utc)
    finished = _utc(results.finished_utc) or started
    if started is None or finished is None:
        raise StoreError(
            f"{folder / RESULTS_FILE}: no started_utc; this results.json cannot be stored "
            "(it is written by hil campaign run)"
        )
    campaign = {
        "id": campaign_id,
        "name": results.name,
        "campaign_file": results.file,
        "campaign_digest": campaign_digest,
        "started_utc": started,
        "finished_utc": finished,
        "wall_s": results.wall_s,
        "verdict": results.verdict,
        "interrupted": results.interrupted,
        "software_version": str(environment.get("software_version") or "unknown"),
        "git_commit": environment.get("git_commit"),
        "source_digest": environment.get("source_digest"),
        "host": environment.get("host"),
        "results_folder": str(results.folder),
        "rig_file": results.rig,
        "rig_fingerprint": digest(identity),
        "rig_document": identity,
        "effective_config": None if rig is None else rig.model_dump(mode="json"),
        "overrides": list(results.overrides),
        "stored_utc": datetime.now(UTC).replace(tzinfo=None, microsecond=0),
    }
    rows = CampaignRows(campaign, [], [], [], [], [])
    position = 0
    for case_position, (case, raw_case) in enumerate(zip(results.cases, raw["cases"], strict=True)):
        rows.cases.append(
            {
                "campaign_id": campaign_id,
                "name": case.name,
                "position": case_position,
                "mode": case.mode,
                "verdict": case.verdict,
                "emulated": case.emulated,
                "description": case.description,
            }
        )
        for criterion_position, criterion in enumerate(case.criteria):
            limit, limit_text = _number_or_text(criterion.limit)
            measured, measured_text = _number_or_text(criterion.measured)
            rows.sweep_criteria.append(
                {
                    "campaign_id": campaign_id,
                    "case_name": case.name,
                    "position": criterion_position,
                    "text": criterion.text,
                    "measurement": criterion.key,
                    "statistic": criterion.statistic,
                    "comparator": criterion.comparator,
                    "limit_value": limit,
                    "limit_text": limit_text,
                    "unit": criterion.unit,
                    "measured": measured,
                    "measured_text": measured_text,
                    "outcome": criterion.verdict,
                }
            )
        for run, raw_run in zip(case.runs, raw_case["runs"], strict=True):
            span = recording_span(None if run.recording is None else Path(run.recording))
            rows.runs.append(
                {
                    "campaign_id": campaign_id,
                    "position": position,
                    "case_name": case.name,
                    "mode": case.mode,
                    "seed": run.seed,
                    "verdict": run.verdict,
                    "digest": run.summary.get("digest"),
                    "wall_s": run.wall_s,
                    "emulated": bool(raw_run.get("emulated")),
                    "recording": None if run.recording is None else str(run.recording),
                    "recording_start_s": span[0],
                    "recording_end_s": span[1],
                    "replay_of": run.replay_of,
                    "error": run.error,
                }
            )
            rows.measurements.extend(_measurement_rows(campaign_id, position, run))
            position += 1
    rows.preflight_rows = _preflight_rows(campaign_id, results.preflight)
    return rows


def _preflight_rows(campaign_id: str, preflight: Mapping[str, Any] | None) -> list[dict[str, Any]]:
    if not preflight or not preflight.get("report"):
        return []
    ignored = set(preflight.get("ignored") or [])
    rows = []
    for position, row in enumerate(preflight["report"].get("rows") or []):
        measured, measured_text = _number_or_text(row.get("measured"))
        rows.append(
            {
                "campaign_id": campaign_id,
                "position": position,
                "name": str(row.get("name")),
                "verdict": str(row.get("verdict")),
                "value": str(row.get("value") or ""),
                "measured": measured,
                "measured_text": measured_text,
                "unit": str(row.get("unit") or ""),
                "limit_text": str(row.get("limit") or ""),
                "action": row.get("action"),
                "ignored": row.get("name") in ignored,
            }
        )
    return rows


def _hold_for_test() -> None:
    if os.environ.get(HOLD_VARIABLE) == "1":
        print(f"results store: holding the transaction ({HOLD_VARIABLE})", file=sys.stderr)
        sys.stderr.flush()
        sys.stdin.readline()


def _is_stored(connection: Connection, campaign_id: str) -> bool:
    found = connection.execute(
        select(schema.campaigns.c.id).where(schema.campaigns.c.id == campaign_id)
    ).first()
    return found is not None


def write_rows(store: Store, rows: CampaignRows) -> bool:
    """Insert ``rows`` in one transaction; False if the campaign was stored already."""
    campaign_id = rows.campaign["id"]
    try:
        with store.transaction(f"store campaign {campaign_id}") as connection:
            if _is_stored(connection, campaign_id):
                return False
            connection.execute(insert(schema.campaigns), [rows.campaign])
            for table, items in (
                (schema.cases, rows.cases),
                (schema.runs, rows.runs),
            ):
                if items:
                    connection.execute(insert(table), items)
            _hold_for_test()
            for table, items in (
                (schema.measurements, rows.measurements),
                (schema.sweep_criteria, rows.sweep_criteria),
                (schema.preflight_rows, rows.preflight_rows),
            ):
                if items:
                    connection.execute(insert(table), items)
    except IntegrityError:
        # another process stored the same campaign between our check and our insert
        with store.transaction(f"read campaign {campaign_id}") as connection:
            if _is_stored(connection, campaign_id):
                return False
        raise
    return True


def write_campaign(store: Store, folder: Path) -> Written:
    """Store the campaign of results folder ``folder`` (idempotent; module doc)."""
    rows = campaign_rows(folder)
    stored = write_rows(store, rows)
    return Written(rows.campaign["id"], rows.campaign["name"], stored, len(rows.runs))
