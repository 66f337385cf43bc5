"""What the analyses (trend, compare, regression) and ``hil results list|show`` ask the store:
plain records of ``hil.history.model``, no database types. Times are aware UTC datetimes."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import ColumnElement, Row, and_, select

from hil.history import schema
from hil.history.location import StoreError
from hil.history.model import MeasurementSample, StoredCampaign
from hil.history.store import Store

ID_CHUNK = 500
"""Campaign ids per ``IN (...)`` (SQLite allows 32,766 parameters; keep statements small)."""


def _aware(moment: datetime) -> datetime:
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def _naive(moment: datetime) -> datetime:
    return moment.astimezone(UTC).replace(tzinfo=None) if moment.tzinfo else moment


def _campaign(row: Row[Any]) -> StoredCampaign:
    return StoredCampaign(
        campaign_id=row.id,
        name=row.name,
        campaign_digest=row.campaign_digest,
        rig_fingerprint=row.rig_fingerprint,
        started_utc=_aware(row.started_utc),
        finished_utc=_aware(row.finished_utc),
        verdict=row.verdict,
        software_version=row.software_version,
        git_commit=row.git_commit,
        results_folder=row.results_folder,
        overrides=tuple(str(item) for item in row.overrides or ()),
    )


def campaigns(
    store: Store,
    name: str | None = None,
    last: int | None = None,
    comparable_to: tuple[str, str] | None = None,
    before: datetime | None = None,
) -> list[StoredCampaign]:
    """Stored campaigns, oldest first (newest last): only those named ``name``, comparable to
    ``(campaign_digest, rig_fingerprint)``, started before ``before``; the newest ``last``."""
    table = schema.campaigns
    conditions = []
    if name is not None:
        conditions.append(table.c.name == name)
    if comparable_to is not None:
        conditions.append(table.c.campaign_digest == comparable_to[0])
        conditions.append(table.c.rig_fingerprint == comparable_to[1])
    if before is not None:
        conditions.append(table.c.started_utc < _naive(before))
    query = select(table).where(and_(True, *conditions))
    query = query.order_by(table.c.started_utc.desc(), table.c.id.desc())
    if last is not None:
        query = query.limit(last)
    with store.transaction("read campaigns") as connection:
        rows = connection.execute(query).all()
    return [_campaign(row) for row in reversed(rows)]


def samples(
    store: Store,
    campaign_ids: Sequence[str],
    measurement: str | None = None,
    case: str | None = None,
) -> list[MeasurementSample]:
    """The numeric measurement values of the runs of ``campaign_ids`` (of one measurement, one
    case), ordered by campaign (as given), run. Text values (``rig_final_state``), missing
    values and runs without a seed (a replay of an unreadable recording) are left out."""
    m, r = schema.measurements, schema.runs
    order = {campaign_id: index for index, campaign_id in enumerate(campaign_ids)}
    found: list[tuple[int, int, MeasurementSample]] = []
    ids = list(order)
    with store.transaction("read measurements") as connection:
        for start in range(0, len(ids), ID_CHUNK):
            chunk = ids[start : start + ID_CHUNK]
            conditions: list[ColumnElement[bool]] = [
                m.c.campaign_id.in_(chunk),
                m.c.value.is_not(None),
            ]
            if measurement is not None:
                conditions.append(m.c.name == measurement)
            if case is not None:
                conditions.append(r.c.case_name == case)
            query = (
                select(
                    m.c.campaign_id,
                    m.c.run_position,
                    m.c.name,
                    m.c.value,
                    m.c.unit,
                    r.c.case_name,
                    r.c.mode,
                    r.c.seed,
                )
                .join(
                    r,
                    and_(r.c.campaign_id == m.c.campaign_id, r.c.position == m.c.run_position),
                )
                .where(*conditions, r.c.seed.is_not(None))
            )
            for row in connection.execute(query):
                sample = MeasurementSample(
                    campaign_id=row.campaign_id,
                    case=row.case_name,
                    mode=row.mode,
                    seed=row.seed,
                    name=row.name,
                    value=row.value,
                    unit=row.unit,
                )
                found.append((order[row.campaign_id], row.run_position, sample))
    found.sort(key=lambda item: (item[0], item[1], item[2].name))
    return [sample for _, _, sample in found]


def resolve_id(store: Store, prefix: str) -> str:
    """The stored campaign id starting with ``prefix``; ``StoreError`` if none or several do."""
    table = schema.campaigns
    escaped = prefix.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    query = select(table.c.id).where(table.c.id.like(f"{escaped}%", escape="\\")).limit(6)
    with store.transaction("read campaigns") as connection:
        found = [str(row.id) for row in connection.execute(query)]
    if not found:
        raise StoreError(
            f"no campaign {prefix!r} in the results store {store.location.shown()}; "
            "hil results list shows the stored ones"
        )
    if len(found) > 1:
        shown = ", ".join(found[:5]) + (" ..." if len(found) > 5 else "")
        raise StoreError(f"{prefix!r} names several campaigns ({shown}); give more of the id")
    return found[0]


def campaign_detail(store: Store, campaign_id: str) -> dict[str, Any]:
    """Everything stored of one campaign as plain JSON-ready data (``hil results show``)."""
    c = schema.campaigns
    with store.transaction("read a campaign") as connection:
        top = connection.execute(select(c).where(c.c.id == campaign_id)).one()
        cases = connection.execute(
            select(schema.cases)
            .where(schema.cases.c.campaign_id == campaign_id)
            .order_by(schema.cases.c.position)
        ).all()
        runs = connection.execute(
            select(schema.runs)
            .where(schema.runs.c.campaign_id == campaign_id)
            .order_by(schema.runs.c.position)
        ).all()
        measured = connection.execute(
            select(schema.measurements).where(schema.measurements.c.campaign_id == campaign_id)
        ).all()
        sweep = connection.execute(
            select(schema.sweep_criteria)
            .where(schema.sweep_criteria.c.campaign_id == campaign_id)
            .order_by(schema.sweep_criteria.c.case_name, schema.sweep_criteria.c.position)
        ).all()
        preflight = connection.execute(
            select(schema.preflight_rows)
            .where(schema.preflight_rows.c.campaign_id == campaign_id)
            .order_by(schema.preflight_rows.c.position)
        ).all()
    by_run: dict[int, dict[str, Any]] = {}
    for row in measured:
        by_run.setdefault(row.run_position, {})[row.name] = _plain(
            row, ("campaign_id", "run_position", "name")
        )
    detail = _plain(top, ())
    detail["cases"] = [
        {
            **_plain(case, ("campaign_id", "position")),
            "criteria": [
                _plain(s, ("campaign_id", "case_name")) for s in sweep if s.case_name == case.name
            ],
            "runs": [
                {
                    **_plain(run, ("campaign_id", "case_name")),
                    "measurements": by_run.get(run.position, {}),
                }
                for run in runs
                if run.case_name == case.name
            ],
        }
        for case in cases
    ]
    detail["preflight_rows"] = [_plain(row, ("campaign_id",)) for row in preflight]
    return detail


def _plain(row: Row[Any], leave_out: tuple[str, ...]) -> dict[str, Any]:
    out = {}
    for key, value in row._mapping.items():
        if key in leave_out:
            continue
        out[key] = (
            _aware(value).strftime("%Y-%m-%dT%H:%M:%SZ") if isinstance(value, datetime) else value
        )
    return out
