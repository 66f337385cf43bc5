"""The report's history section from the store: this campaign's key measurements (its
``[regression]`` measurements, else ``DEFAULT_MEASUREMENTS``) against the last comparable
campaigns — same campaign file digest and rig fingerprint, run without ``--set`` — as plain
``ReportHistory`` data for ``hil.campaign.report.render``."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from hil.campaign.measurements import measurement_unit
from hil.campaign.report.history import DEFAULT_MEASUREMENTS, HistoryMeasurement, ReportHistory
from hil.history.model import StoredCampaign
from hil.history.regression import comparable_campaigns, document_samples, parse_utc
from hil.history.source import HistorySource
from hil.history.trend import trend, trend_lines

CURRENT = "this campaign"
DEFAULT_LAST = 10
"""Earlier comparable campaigns the section shows at most."""


def report_history(
    source: HistorySource | None,
    document: Mapping[str, Any],
    digest: str,
    fingerprint: str,
    measurements: Sequence[str] = (),
    last: int = DEFAULT_LAST,
) -> ReportHistory | None:
    """The section's data for the campaign of ``document`` (its results.json); None without a
    ``source`` (no store)."""
    if source is None:
        return None
    started = parse_utc(document["started_utc"])
    earlier = comparable_campaigns(source, digest, fingerprint, started)[-last:]
    keys = tuple(measurements) or DEFAULT_MEASUREMENTS
    if not earlier:
        note = "no comparable campaign is stored yet (same campaign file, rig and --set)"
        return ReportHistory(last, 0, started, (), note)
    current = _current(document, started, digest, fingerprint)
    campaigns = [*earlier, current]
    ids = [c.campaign_id for c in earlier]
    shown = []
    for key in keys:
        samples = [
            *source.samples(ids, measurement=key),
            *(s for s in document_samples(document, CURRENT) if s.name == key),
        ]
        series = trend(campaigns, samples, key)
        if series:
            unit = measurement_unit(key)
            shown.append(HistoryMeasurement(key, unit, tuple(trend_lines(series))))
    return ReportHistory(last, len(earlier), started, tuple(shown))


def _current(
    document: Mapping[str, Any], started: datetime, digest: str, fingerprint: str
) -> StoredCampaign:
    environment = document.get("environment") or {}
    return StoredCampaign(
        CURRENT,
        document["campaign"]["name"],
        digest,
        fingerprint,
        started,
        started,
        document.get("verdict", ""),
        str(environment.get("software_version", "")),
        environment.get("git_commit"),
        "",
        tuple(document["campaign"].get("overrides") or ()),
    )
