"""A results history in memory for the analyses' tests: a test double of the results store's
*interface* (``hil.history.source.HistorySource``, the store's two queries), written while the
store itself is being written beside it (issue 23). It answers as the store's queries are
specified: campaigns oldest first, filtered by name, comparability and start time, the last N;
samples of the given campaigns, of one measurement and case if asked. Once the store exists,
the tests that use this can run against a real SQLite file as well."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from hil.history.model import MeasurementSample, StoredCampaign
from hil.history.regression import document_samples
from hil.history.source import Comparable

DIGEST = "d" * 64
FINGERPRINT = "f" * 64
EPOCH = datetime(2026, 1, 1, tzinfo=UTC)


@dataclass
class MemoryHistory:
    stored: list[StoredCampaign] = field(default_factory=list)
    values: list[MeasurementSample] = field(default_factory=list)

    def campaigns(
        self,
        name: str | None = None,
        last: int | None = None,
        comparable_to: Comparable | None = None,
        before: datetime | None = None,
    ) -> list[StoredCampaign]:
        found = sorted(self.stored, key=lambda c: c.started_utc)
        if name is not None:
            found = [c for c in found if c.name == name]
        if comparable_to is not None:
            digest, fingerprint = comparable_to
            found = [
                c for c in found if (c.campaign_digest, c.rig_fingerprint) == (digest, fingerprint)
            ]
        if before is not None:
            found = [c for c in found if c.started_utc < before]
        return found[-last:] if last else found

    def samples(
        self,
        campaign_ids: Sequence[str],
        measurement: str | None = None,
        case: str | None = None,
    ) -> list[MeasurementSample]:
        wanted = set(campaign_ids)
        return [
            s
            for s in self.values
            if s.campaign_id in wanted
            and (measurement is None or s.name == measurement)
            and (case is None or s.case == case)
        ]

    def add(
        self,
        values: dict[str, dict[int, float]] | None = None,
        *,
        case: str = "sweep",
        fingerprint: str = FINGERPRINT,
        digest: str = DIGEST,
        verdict: str = "pass",
        overrides: tuple[str, ...] = (),
        commit: str | None = None,
        samples: Sequence[MeasurementSample] = (),
    ) -> StoredCampaign:
        """A campaign stored an hour after the previous one, with ``values`` (measurement →
        seed → value) in ``case`` and any ready-made ``samples`` (their campaign id replaced)."""
        number = len(self.stored)
        campaign_id = f"c{number:04d}"
        started = EPOCH + timedelta(hours=number)
        campaign = StoredCampaign(
            campaign_id,
            "t",
            digest,
            fingerprint,
            started,
            started + timedelta(minutes=5),
            verdict,
            "0.1.0",
            commit,
            f"runs/{campaign_id}",
            overrides,
        )
        self.stored.append(campaign)
        for name, seeded in (values or {}).items():
            for seed, value in seeded.items():
                self.values.append(
                    MeasurementSample(campaign_id, case, "sim", seed, name, value, unit_of(name))
                )
        for s in samples:
            self.values.append(
                MeasurementSample(campaign_id, s.case, s.mode, s.seed, s.name, s.value, s.unit)
            )
        return campaign

    def add_document(self, document: dict[str, Any], **kwargs: Any) -> StoredCampaign:
        """A results.json document stored as the store will store it (its runs' samples)."""
        return self.add(samples=document_samples(document, "-"), **kwargs)


def unit_of(name: str) -> str:
    return {"gospa_mean_m": "m", "latency_p99_ms": "ms"}.get(name, "count")


def document(
    cases: dict[str, dict[str, dict[int, float]]],
    started: datetime | None = None,
    overrides: Sequence[str] = (),
) -> dict[str, Any]:
    """A results.json document, as ``hil.campaign.results.build`` writes it, with the given
    per-case measurements (case → measurement → seed → value), every run passing."""
    at = started or EPOCH + timedelta(days=365)
    out_cases = []
    for name, measurements in cases.items():
        seeds = sorted({seed for seeded in measurements.values() for seed in seeded})
        runs = [
            {
                "seed": seed,
                "verdict": "pass",
                "measurements": {
                    m: seeded[seed] for m, seeded in measurements.items() if seed in seeded
                },
                "criteria": [],
                "replay_command": f"hil replay runs/x/recordings/{name}-seed{seed}.mcap --compare",
            }
            for seed in seeds
        ]
        out_cases.append(
            {"name": name, "mode": "sim", "verdict": "pass", "criteria": [], "runs": runs}
        )
    return {
        "schema": "hil-campaign-results/1",
        "campaign": {"name": "t", "overrides": list(overrides)},
        "started_utc": at.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "interrupted": False,
        "verdict": "pass",
        "cases": out_cases,
    }


def finite_everywhere(value: Any) -> bool:
    """No NaN or inf anywhere in a JSON-like value."""
    if isinstance(value, float):
        return math.isfinite(value)
    if isinstance(value, dict):
        return all(finite_everywhere(v) for v in value.values())
    if isinstance(value, list | tuple):
        return all(finite_everywhere(v) for v in value)
    return True
