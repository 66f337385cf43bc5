"""The batched tracker on the bundled scenarios, fed per-dwell frames from the sensor model."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from conftest import CONFIGS

from hil.config import ScenarioConfig, load_scenario
from hil.scenario import SimulatedScenario, build_scenario
from hil.tracking.measurement import PolarSensor
from hil.tracking.metrics import assigned_rmse, gospa
from hil.tracking.tracker import CONFIRMED, RadarFrame, Tracker, TrackerConfig

CUTOFF_M = 200.0


@dataclass
class Run:
    tracker: Tracker
    gospa_m: list[float] = field(default_factory=list)
    rmse_m: list[float] = field(default_factory=list)
    confirmed_ids_by_truth: dict[int, set[int]] = field(default_factory=dict)
    max_confirmed: int = 0
    final_missed: int = 0
    final_false: int = 0


def run(
    scenario: SimulatedScenario, duration_s: float, seed: int = 0, score_from_s: float = 20.0
) -> Run:
    p = scenario.sensor.parameters
    tracker = Tracker(TrackerConfig(), PolarSensor(p.position_enu_m, p.north_alignment_rad))
    result = Run(tracker)
    rng = np.random.default_rng(seed)
    for k, t in enumerate(scenario.scan.dwell_centres(0.0, duration_s)):
        pose = scenario.scan.pose_at(float(t))
        truth = scenario.targets.state_at(float(t))
        dwell = scenario.sensor.observe(pose, truth, rng)
        half = 0.5 * (p.beamwidth_az_rad + pose.sweep_rad)
        report = tracker.step(
            RadarFrame(
                float(t), dwell.range_m, dwell.az_rad, dwell.el_rad, dwell.vr_mps, pose.az_rad, half
            )
        )
        confirmed = set(tracker.ids[tracker.status == CONFIRMED].tolist())
        result.max_confirmed = max(result.max_confirmed, len(confirmed))
        for track_id, detection in report.associations:
            truth_id = int(dwell.truth_id[detection])
            if track_id in confirmed and truth_id >= 0:
                result.confirmed_ids_by_truth.setdefault(truth_id, set()).add(track_id)
        if t >= score_from_s and k % 100 == 0:  # score once a second
            snapshot = tracker.tracks_at(float(t))
            alive = truth.position_enu_m[truth.alive]
            score = gospa(alive, snapshot.position_enu_m, CUTOFF_M)
            result.gospa_m.append(score.distance)
            rmse = assigned_rmse(alive, snapshot.position_enu_m, score.assignment)
            if rmse is not None:
                result.rmse_m.append(rmse)
            result.final_missed, result.final_false = score.missed, score.false
    return result


def scenario(name: str) -> SimulatedScenario:
    return build_scenario(load_scenario(CONFIGS / "scenarios" / name))


def test_single_target_is_tracked_accurately() -> None:
    result = run(scenario("single-cv.toml"), 60.0)
    assert (result.final_missed, result.final_false) == (0, 0)
    assert max(result.gospa_m) < 25.0
    assert np.sqrt(np.mean(np.square(result.rmse_m))) < 12.0  # σ_range 5 m, 6 mrad at 6 km
    assert len(result.confirmed_ids_by_truth[0]) == 1


def test_crossing_pair_keeps_its_ids() -> None:
    result = run(scenario("crossing-pair.toml"), 60.0)
    assert result.confirmed_ids_by_truth[0].isdisjoint(result.confirmed_ids_by_truth[1])
    assert [len(result.confirmed_ids_by_truth[i]) for i in (0, 1)] == [1, 1], "no id switch"
    assert (result.final_missed, result.final_false) == (0, 0)
    assert max(result.gospa_m) < 30.0


def test_raid_through_clutter() -> None:
    result = run(scenario("raid-100.toml"), 30.0)
    assert result.final_missed <= 5 and result.final_false <= 8
    # 10-18 km out, 1 mrad angle noise is ≈ 15 m cross-range per axis: one look is ≈ 20 m RMS.
    # (Issue 5 still owes tuning and the peer comparison; this pins today's level.)
    assert np.sqrt(np.mean(np.square(result.rmse_m))) < 25.0
    assert result.max_confirmed <= 110


def test_clutter_alone_confirms_almost_nothing() -> None:
    config = ScenarioConfig.model_validate(
        {"scenario": {"name": "clutter"}, "radar": {"clutter_per_dwell": 3.0, "rpm": 20.0}}
    )
    result = run(build_scenario(config), 30.0)
    assert result.max_confirmed <= 2
    assert result.final_false <= 1


def test_tracks_outside_the_beam_are_not_penalised() -> None:
    """At 12 rpm the target is in the beam for ~4 of every 500 dwells; the track survives the
    other 496 without misses piling up."""
    result = run(scenario("single-cv.toml"), 30.0)
    tracker = result.tracker
    confirmed = tracker.status == CONFIRMED
    assert confirmed.sum() == 1
    assert tracker.misses[confirmed][0] <= 1
