"""What the results store hands to the analyses (trend, compare, regression): stored campaigns
and measurement samples, plain frozen records with no database types in them."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True)
class StoredCampaign:
    """One campaign as stored. ``campaign_digest``: SHA-256 hex of the campaign file's bytes;
    ``rig_fingerprint``: SHA-256 hex of the canonical rig-identity document (the bench's
    devices, not the loop's tuning). Two campaigns are *comparable* when both are equal."""

    campaign_id: str
    name: str
    campaign_digest: str
    rig_fingerprint: str
    started_utc: datetime
    finished_utc: datetime
    verdict: str
    software_version: str
    git_commit: str | None
    results_folder: str
    overrides: tuple[str, ...] = ()
    """``hil campaign run --set KEY=VALUE`` as results.json's ``campaign.overrides`` lists
    them: a "what if" campaign is judged against the file's own, never a baseline for them
    (``hil.history.regression``)."""


@dataclass(frozen=True)
class MeasurementSample:
    """One run's value of one measurement in one stored campaign. ``name`` is the measurement
    key as results.json writes it (labels included: ``launches{source="injected"}``); ``unit``
    as the criteria give it (``m``, ``ms``, ``s``, ``count``, ...); ``seed`` the run's seed."""

    campaign_id: str
    case: str
    mode: str
    seed: int
    name: str
    value: float
    unit: str


@dataclass(frozen=True)
class TrendLine:
    """One case's measurement over campaigns, oldest first: when each started (UTC), the median
    over its runs and the p5–p95 band (equal to the median for a single run), and the start
    times at which the rig fingerprint changed. Values in the measurement's unit."""

    label: str
    started: tuple[datetime, ...]
    median: tuple[float, ...]
    p5: tuple[float, ...]
    p95: tuple[float, ...]
    rig_changes: tuple[datetime, ...] = ()
