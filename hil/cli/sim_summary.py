"""Per-target and overall statistics of a sensor-model run, for the ``hil sim`` summary."""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from sim.run import SimulationLog
from sim.sensor import CLUTTER_ID
from sim.targets import TargetSet


@dataclass(frozen=True, slots=True)
class TargetStats:
    target_id: int
    name: str
    illuminated: int
    """Dwells whose beam covered the target."""
    detected: int
    empirical_pd: float | None
    model_pd: float | None
    """Mean model detection probability over those dwells."""


@dataclass(frozen=True, slots=True)
class SimSummary:
    scenario: str
    seed: int
    duration_s: float
    wall_s: float
    targets: int
    dwells: int
    detections: int
    target_detections: int
    clutter_detections: int
    illuminations: int
    empirical_pd: float | None
    model_pd: float | None
    pd_z_score: float | None
    """(detected − expected)/σ of the binomial sum over all illuminations: |z| ≲ 3 when the
    sensor model agrees with itself."""
    per_target: list[TargetStats]

    @property
    def realtime_factor(self) -> float:
        return self.duration_s / self.wall_s if self.wall_s > 0 else math.inf

    def as_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["realtime_factor"] = self.realtime_factor
        return data


class SummaryTally:
    """Per-target counts of a run, added chunk by chunk (``sim.run.simulate_chunks``): memory
    grows with the number of targets, not with the length of the run."""

    def __init__(self, targets: TargetSet) -> None:
        self.targets = targets
        n = len(targets)
        self.detected = np.zeros(n, dtype=np.int64)
        self.illuminated = np.zeros(n, dtype=np.int64)
        self.pd_sum = np.zeros(n, dtype=np.float64)
        self.pd_variance = 0.0
        self.dwells = 0
        self.detections = 0
        self.clutter_detections = 0

    def add(self, log: SimulationLog) -> None:
        """Count one chunk of dwells (a target is detected at most once per dwell)."""
        n = len(self.targets)
        clutter = log.truth_id == CLUTTER_ID
        self.detected += np.bincount(log.truth_id[~clutter], minlength=n)
        self.illuminated += np.bincount(log.illuminated_id, minlength=n)
        self.pd_sum += np.bincount(log.illuminated_id, weights=log.illuminated_pd, minlength=n)
        self.pd_variance += float(np.sum(log.illuminated_pd * (1.0 - log.illuminated_pd)))
        self.dwells += len(log.dwell_t_s)
        self.detections += len(log.truth_id)
        self.clutter_detections += int(np.count_nonzero(clutter))

    def summary(self, scenario: str, seed: int, duration_s: float, wall_s: float) -> SimSummary:
        """The statistics of every chunk added so far."""
        detected, illuminated, pd_sum = self.detected, self.illuminated, self.pd_sum
        per_target = [
            TargetStats(
                i,
                self.targets.name_of(i),
                int(illuminated[i]),
                int(detected[i]),
                float(detected[i] / illuminated[i]) if illuminated[i] else None,
                float(pd_sum[i] / illuminated[i]) if illuminated[i] else None,
            )
            for i in range(len(self.targets))
        ]
        total = int(illuminated.sum())
        hits = int(detected.sum())
        expected = float(pd_sum.sum())
        variance = self.pd_variance
        z = (hits - expected) / math.sqrt(variance) if variance > 0 else None
        return SimSummary(
            scenario=scenario,
            seed=seed,
            duration_s=duration_s,
            wall_s=wall_s,
            targets=len(self.targets),
            dwells=self.dwells,
            detections=self.detections,
            target_detections=hits,
            clutter_detections=self.clutter_detections,
            illuminations=total,
            empirical_pd=hits / total if total else None,
            model_pd=expected / total if total else None,
            pd_z_score=z,
            per_target=per_target,
        )


def summarize(
    log: SimulationLog,
    targets: TargetSet,
    scenario: str,
    seed: int,
    duration_s: float,
    wall_s: float,
) -> SimSummary:
    """Count detections per target against the dwells that illuminated it."""
    tally = SummaryTally(targets)
    tally.add(log)
    return tally.summary(scenario, seed, duration_s, wall_s)


def _fmt(value: float | None) -> str:
    return "   -  " if value is None else f"{value:6.3f}"


def render(summary: SimSummary, max_rows: int = 20) -> str:
    """The human-readable summary printed by ``hil sim``."""
    s = summary
    dwells = max(s.dwells, 1)
    lines = [
        f"scenario {s.scenario}: {s.targets} targets, {s.duration_s:g} s simulated in "
        f"{s.wall_s:.2f} s ({s.realtime_factor:,.0f}x real time), seed {s.seed}",
        f"dwells {s.dwells}   detections {s.detections} "
        f"(targets {s.target_detections}, clutter {s.clutter_detections} = "
        f"{s.clutter_detections / dwells:.2f} per dwell)",
        f"detection rate over {s.illuminations} illuminations: empirical {_fmt(s.empirical_pd)}"
        f"  model {_fmt(s.model_pd)}"
        + ("" if s.pd_z_score is None else f"  (z = {s.pd_z_score:+.2f})"),
        "",
        f"{'id':>5}  {'target':<24} {'illum':>6} {'det':>6} {'rate':>6} {'model':>6}",
    ]
    lines.extend(
        f"{t.target_id:>5}  {t.name[:24]:<24} {t.illuminated:>6} {t.detected:>6} "
        f"{_fmt(t.empirical_pd)} {_fmt(t.model_pd)}"
        for t in s.per_target[:max_rows]
    )
    hidden = len(s.per_target) - max_rows
    if hidden > 0:
        lines.append(f"  … {hidden} more targets (--json lists all)")
    return "\n".join(lines)
