"""A measurement across stored campaigns (``hil results trend``): per case one point per
campaign — a single run's value, or a sweep's band over its seeds (median, p5–p95) — with the
points where the rig fingerprint differs from the previous point's marked: a change of bench,
not of software, may explain a step."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass

from hil.history.model import MeasurementSample, StoredCampaign, TrendLine
from hil.history.stats import Band, band


@dataclass(frozen=True)
class TrendPoint:
    """One campaign's value of the measurement in one case; ``rig_changed``: its rig
    fingerprint differs from the previous point's of the series (never on the first)."""

    campaign: StoredCampaign
    band: Band
    rig_changed: bool

    @property
    def sweep(self) -> bool:
        return self.band.n > 1


@dataclass(frozen=True)
class TrendSeries:
    """The measurement in one case over the campaigns, oldest first, in ``unit``."""

    case: str
    measurement: str
    unit: str
    points: tuple[TrendPoint, ...]


def trend(
    campaigns: Sequence[StoredCampaign], samples: Sequence[MeasurementSample], measurement: str
) -> list[TrendSeries]:
    """``measurement`` (a key as results write it) per case over ``campaigns`` (in the order
    given, oldest first), from their ``samples``; a campaign with no finite sample of it in a
    case has no point there. Series sorted by case name."""
    order = {c.campaign_id: i for i, c in enumerate(campaigns)}
    values: dict[str, dict[str, list[float]]] = defaultdict(lambda: defaultdict(list))
    units: dict[str, str] = {}
    for sample in samples:
        if sample.name != measurement or sample.campaign_id not in order:
            continue
        values[sample.case][sample.campaign_id].append(sample.value)
        units.setdefault(sample.case, sample.unit)
    series = []
    for case in sorted(values):
        by_campaign = values[case]
        points: list[TrendPoint] = []
        for campaign in campaigns:
            found = by_campaign.get(campaign.campaign_id)
            spread = None if found is None else band(found)
            if spread is None:
                continue
            changed = bool(points) and points[-1].campaign.rig_fingerprint != (
                campaign.rig_fingerprint
            )
            points.append(TrendPoint(campaign, spread, changed))
        if points:
            series.append(TrendSeries(case, measurement, units[case], tuple(points)))
    return series


def trend_json(series: Sequence[TrendSeries]) -> list[dict[str, object]]:
    """The series as ``hil results trend --json`` prints them (times as ISO 8601 UTC)."""
    return [
        {
            "case": s.case,
            "measurement": s.measurement,
            "unit": s.unit,
            "points": [
                {
                    "campaign_id": p.campaign.campaign_id,
                    "name": p.campaign.name,
                    "started_utc": p.campaign.started_utc.isoformat(),
                    "git_commit": p.campaign.git_commit,
                    "software_version": p.campaign.software_version,
                    "rig_fingerprint": p.campaign.rig_fingerprint,
                    "rig_changed": p.rig_changed,
                    "n": p.band.n,
                    "median": p.band.median,
                    "p5": p.band.p5,
                    "p95": p.band.p95,
                }
                for p in s.points
            ],
        }
        for s in series
    ]


def trend_lines(series: Sequence[TrendSeries]) -> list[TrendLine]:
    """The series as the plot draws them (``hil.campaign.report.plots.trend_plot``)."""
    return [
        TrendLine(
            s.case,
            tuple(p.campaign.started_utc for p in s.points),
            tuple(p.band.median for p in s.points),
            tuple(p.band.p5 for p in s.points),
            tuple(p.band.p95 for p in s.points),
            tuple(p.campaign.started_utc for p in s.points if p.rig_changed),
        )
        for s in series
    ]
