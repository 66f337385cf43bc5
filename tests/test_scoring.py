"""Run scoring: id switches, time to confirm and false tracks on hand-made samples."""

from __future__ import annotations

import pytest

from hil.tracking.scoring import TrackScorer


def test_perfect_picture_scores_zero() -> None:
    scorer = TrackScorer(cutoff_m=100.0)
    for t in range(5):
        scorer.add(t, [7], [[t * 10.0, 0, 0]], [3], [[t * 10.0, 0, 0]])
    s = scorer.summary()
    assert (s.samples, s.gospa_mean_m, s.rmse_m, s.id_switches) == (5, 0.0, 0.0, 0)
    assert s.time_to_confirm_s == {7: 0.0} and s.never_confirmed == ()
    assert s.false_tracks_per_sample == 0.0


def test_switches_confirmation_delay_and_false_tracks() -> None:
    scorer = TrackScorer(cutoff_m=100.0)
    scorer.add(0.0, [1, 2], [[0, 0, 0], [1000, 0, 0]], [], [])  # nothing confirmed yet
    scorer.add(1.0, [1, 2], [[0, 0, 0], [1000, 0, 0]], [10], [[3, 4, 0]])
    scorer.add(2.0, [1, 2], [[0, 0, 0], [1000, 0, 0]], [11, 99], [[0, 0, 0], [5000, 0, 0]])
    s = scorer.summary()
    assert s.id_switches == 1  # truth 1: track 10, then track 11
    assert s.time_to_confirm_s == {1: 1.0}
    assert s.never_confirmed == (2,)
    assert s.rmse_m == pytest.approx((25 / 2) ** 0.5)
    assert s.false_tracks_per_sample == pytest.approx(1 / 3)  # track 99 once, over 3 samples
    assert s.false_track_fraction == pytest.approx(1 / 3)  # 1 of 3 track-samples
    assert s.gospa_max_m == pytest.approx(100.0)  # two missed truths at the cut-off: √(2·c²/2)
