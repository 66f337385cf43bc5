"""Scoring a track picture against ground truth over a run.

Feed :class:`TrackScorer` one sample at a time — truth ids and ENU positions (m) of the targets
alive then, and the confirmed tracks' ids and ENU positions (m) at the same time — and read the
:class:`ScoreSummary`:

- GOSPA (α = 2) and OSPA per sample, with the cut-off (m) and order as parameters; the GOSPA
  assignment pairs truths with tracks for everything below;
- position RMSE over every assigned pair of every sample;
- **id switches**: a truth assigned to a different track id than at its previous assignment
  (a track lost and re-initiated counts as one);
- **time to confirm** per truth: from the first sample it is alive to the first sample where a
  confirmed track is assigned to it (s);
- **false tracks**: tracks left unassigned, as a mean count per sample and as the fraction of
  all track-samples.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

from hil.tracking.metrics import gospa, ospa


@dataclass(frozen=True, slots=True)
class ScoreSummary:
    samples: int
    gospa_mean_m: float | None
    gospa_max_m: float | None
    ospa_mean_m: float | None
    rmse_m: float | None
    """RMS position error over all assigned truth–track pairs (m); None if none were paired."""
    id_switches: int
    time_to_confirm_s: dict[int, float]
    """Truth id → seconds from its first sample to its first confirmed, assigned track."""
    never_confirmed: tuple[int, ...]
    false_tracks_per_sample: float
    false_track_fraction: float
    """Unassigned track-samples over all track-samples (0 when there were no tracks)."""

    @property
    def mean_time_to_confirm_s(self) -> float | None:
        values = list(self.time_to_confirm_s.values())
        return float(np.mean(values)) if values else None


@dataclass
class TrackScorer:
    cutoff_m: float = 200.0
    order: float = 2.0
    _gospa: list[float] = field(default_factory=list)
    _ospa: list[float] = field(default_factory=list)
    _squared_error_m2: float = 0.0
    _pairs: int = 0
    _last_track_of: dict[int, int] = field(default_factory=dict)
    _first_seen_s: dict[int, float] = field(default_factory=dict)
    _confirmed_at_s: dict[int, float] = field(default_factory=dict)
    _switches: int = 0
    _false: int = 0
    _track_samples: int = 0

    def add(
        self,
        t_s: float,
        truth_ids: npt.ArrayLike,
        truth_enu_m: npt.ArrayLike,
        track_ids: npt.ArrayLike,
        track_enu_m: npt.ArrayLike,
    ) -> None:
        """One sample: truths (K,) ids and (K, 3) ENU m; confirmed tracks (L,) and (L, 3)."""
        truth_id = np.asarray(truth_ids, dtype=np.int64).reshape(-1)
        track_id = np.asarray(track_ids, dtype=np.int64).reshape(-1)
        truth = np.asarray(truth_enu_m, dtype=np.float64).reshape(-1, 3)
        tracks = np.asarray(track_enu_m, dtype=np.float64).reshape(-1, 3)
        score = gospa(truth, tracks, self.cutoff_m, self.order)
        self._gospa.append(score.distance)
        self._ospa.append(ospa(truth, tracks, self.cutoff_m, self.order))
        for tid in truth_id.tolist():
            self._first_seen_s.setdefault(tid, t_s)
        for i, j in score.assignment:
            this_truth, this_track = int(truth_id[i]), int(track_id[j])
            self._squared_error_m2 += float(np.sum((truth[i] - tracks[j]) ** 2))
            self._pairs += 1
            previous = self._last_track_of.get(this_truth)
            if previous is not None and previous != this_track:
                self._switches += 1
            self._last_track_of[this_truth] = this_track
            self._confirmed_at_s.setdefault(this_truth, t_s)
        self._false += score.false
        self._track_samples += len(track_id)

    def summary(self) -> ScoreSummary:
        n = len(self._gospa)
        return ScoreSummary(
            samples=n,
            gospa_mean_m=float(np.mean(self._gospa)) if n else None,
            gospa_max_m=float(np.max(self._gospa)) if n else None,
            ospa_mean_m=float(np.mean(self._ospa)) if n else None,
            rmse_m=math.sqrt(self._squared_error_m2 / self._pairs) if self._pairs else None,
            id_switches=self._switches,
            time_to_confirm_s={
                tid: t - self._first_seen_s[tid] for tid, t in sorted(self._confirmed_at_s.items())
            },
            never_confirmed=tuple(sorted(set(self._first_seen_s) - set(self._confirmed_at_s))),
            false_tracks_per_sample=self._false / n if n else 0.0,
            false_track_fraction=self._false / self._track_samples if self._track_samples else 0.0,
        )
