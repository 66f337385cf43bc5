"""The batched tracker on the bundled scenarios, fed per-dwell frames from the sensor model."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from conftest import CONFIGS

from hil.config.loader import load_config, load_scenario
from hil.config.scenario import ScenarioConfig
from hil.config.tracker import TrackerConfig
from hil.loop.sim_scenario import SimulatedScenario, build_scenario
from hil.tracking.measurement import PolarSensor
from hil.tracking.metrics import assigned_rmse, gospa
from hil.tracking.scoring import ScoreSummary, TrackScorer
from hil.tracking.tracker import CONFIRMED, DetectionBatch, Tracker
from sim.scan import AntennaPose

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
    scorer: TrackScorer = field(default_factory=lambda: TrackScorer(CUTOFF_M))

    @property
    def score(self) -> ScoreSummary:
        return self.scorer.summary()


def run(
    scenario: SimulatedScenario,
    duration_s: float,
    seed: int = 0,
    score_from_s: float = 20.0,
    config: TrackerConfig | None = None,
) -> Run:
    """Per-dwell frames from the sensor model. GOSPA/RMSE lists are sampled once a second from
    ``score_from_s``; the scorer sees every second from the start (for time to confirm)."""
    p = scenario.sensor.parameters
    sensor = PolarSensor(p.position_enu_m, p.north_alignment_rad)
    tracker = Tracker(config or TrackerConfig(), sensor)
    result = Run(tracker)
    rng = np.random.default_rng(seed)
    for k, t in enumerate(scenario.scan.dwell_centres(0.0, duration_s)):
        pose = scenario.scan.pose_at(float(t))
        truth = scenario.targets.state_at(float(t))
        dwell = scenario.sensor.observe(pose, truth, rng)
        half = 0.5 * (p.beamwidth_az_rad + pose.sweep_rad)
        report = tracker.step(
            DetectionBatch(
                float(t), dwell.range_m, dwell.az_rad, dwell.el_rad, dwell.vr_mps, pose.az_rad, half
            )
        )
        confirmed = set(tracker.ids[tracker.status == CONFIRMED].tolist())
        result.max_confirmed = max(result.max_confirmed, len(confirmed))
        for track_id, detection in report.associations:
            truth_id = int(dwell.truth_id[detection])
            if track_id in confirmed and truth_id >= 0:
                result.confirmed_ids_by_truth.setdefault(truth_id, set()).add(track_id)
        if k % 100:  # score once a second
            continue
        snapshot = tracker.tracks_at(float(t))
        alive = truth.position_enu_m[truth.alive]
        result.scorer.add(
            float(t), truth.target_id[truth.alive], alive, snapshot.ids, snapshot.position_enu_m
        )
        if t >= score_from_s:
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
    score = result.score
    assert score.id_switches == 0
    # a newly confirmed track's cross-range velocity is still loose between its first looks
    assert score.false_track_fraction < 0.1
    # first illumination at 12 rpm is within 5 s; M-of-N confirms within that look
    assert score.time_to_confirm_s[0] <= 6.0


def test_crossing_pair_keeps_its_ids() -> None:
    result = run(scenario("crossing-pair.toml"), 60.0)
    assert result.confirmed_ids_by_truth[0].isdisjoint(result.confirmed_ids_by_truth[1])
    assert [len(result.confirmed_ids_by_truth[i]) for i in (0, 1)] == [1, 1], "no id switch"
    assert (result.final_missed, result.final_false) == (0, 0)
    assert max(result.gospa_m) < 30.0
    assert result.score.id_switches == 0


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


def test_imm_beats_constant_velocity_on_the_manoeuvring_target() -> None:
    """A 3 °/s turn at 150 m/s with one look every 5 s: the CV filter's gate misses the turn and
    the target is re-initiated again and again; the IMM holds one track."""
    cv = run(scenario("turning-target.toml"), 90.0, config=TrackerConfig(motion="cv"))
    imm = run(scenario("turning-target.toml"), 90.0, config=TrackerConfig(motion="imm"))
    cv_ids = set().union(*cv.confirmed_ids_by_truth.values())
    imm_ids = set().union(*imm.confirmed_ids_by_truth.values())
    assert len(imm_ids) == 1 and len(cv_ids) >= 5
    assert imm.score.gospa_mean_m is not None and cv.score.gospa_mean_m is not None
    assert imm.score.gospa_mean_m < 0.2 * cv.score.gospa_mean_m
    assert np.sqrt(np.mean(np.square(imm.rmse_m))) < 40.0
    assert (imm.final_missed, imm.final_false) == (0, 0)


def test_whole_scan_batches() -> None:
    """One frame per revolution holding every target's detection (beam_az_rad None), as a
    track-while-scan radar reporting per scan would deliver them: 100 targets, ~50 clutter
    detections per scan."""
    sc = build_scenario(
        load_config(
            CONFIGS / "scenarios" / "raid-100.toml",
            ScenarioConfig,
            overrides=["radar.clutter_per_dwell=50"],
        )
    )
    p = sc.sensor.parameters
    tracker = Tracker(TrackerConfig(), PolarSensor(p.position_enu_m, p.north_alignment_rad))
    scorer = TrackScorer(CUTOFF_M)
    rng = np.random.default_rng(4)
    for scan, t in enumerate(np.arange(0.0, 60.0, 2.0)):
        truth = sc.targets.state_at(float(t))
        dwell = sc.sensor.observe(AntennaPose(float(t), scan, np.pi, 0.0, 2 * np.pi), truth, rng)
        tracker.step(
            DetectionBatch(float(t), dwell.range_m, dwell.az_rad, dwell.el_rad, dwell.vr_mps)
        )
        snapshot = tracker.tracks_at(float(t))
        alive = truth.alive
        scorer.add(
            float(t),
            truth.target_id[alive],
            truth.position_enu_m[alive],
            snapshot.ids,
            snapshot.position_enu_m,
        )
    score = scorer.summary()
    assert len(score.never_confirmed) <= 2
    assert score.id_switches <= 8  # 100 targets in a 6 km box, 30 scans: 5 measured
    assert score.false_track_fraction < 0.02
    assert score.rmse_m is not None and score.rmse_m < 25.0


def test_confirmed_tracks_choose_before_tentative_ones() -> None:
    """A clutter-born tentative track next to a confirmed one must not take its detection,
    however loose (and so accommodating) the tentative track's covariance is."""
    config = TrackerConfig(use_radial_velocity=False)
    tracker = Tracker(config, PolarSensor())
    target = np.array([0.0, 8000.0, 1000.0])

    def frame(t: float, *points: np.ndarray) -> DetectionBatch:
        p = np.array(points)
        r = np.linalg.norm(p, axis=1)
        az, el = np.arctan2(p[:, 0], p[:, 1]), np.arcsin(p[:, 2] / r)
        return DetectionBatch(t, r, az, el, np.zeros(len(p)))

    for t in (0.0, 1.0, 2.0):
        tracker.step(frame(t, target))
    (confirmed_id,) = tracker.ids[tracker.status == CONFIRMED].tolist()
    tracker.step(frame(3.0, target, target + np.array([60.0, 0.0, 0.0])))  # clutter 60 m east
    assert len(tracker) == 2  # the confirmed track and a tentative one
    report = tracker.step(frame(4.0, target + np.array([40.0, 0.0, 0.0])))  # between the two
    assert report.associations == [(confirmed_id, 0)]
