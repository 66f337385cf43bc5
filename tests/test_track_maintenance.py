"""Track maintenance and the tracker's library API: confirmation and deletion hold at any range
(relative guards, the configured miss counts exactly), 2-D sensors without elevation, frames
without radial velocity, the gate as a probability for 2-, 3- and 4-D innovations, and the
source/truth id carried to ``tracks_at``."""

from __future__ import annotations

import math

import numpy as np
import pytest
from pydantic import ValidationError
from scipy.stats import chi2

from hil.config.tracker import TrackerConfig
from hil.tracking.measurement import PolarSensor
from hil.tracking.tracker import CONFIRMED, TENTATIVE, DetectionBatch, Tracker
from sim.coordinates import enu_to_polar

SITE = (100.0, -50.0, 12.0)
"""Antenna ENU position (m): off the origin, so nothing passes by accident of a zero."""
BEARING_SIGMA_RAD = math.radians(0.1)
LONG_RANGE = TrackerConfig(
    use_radial_velocity=False,
    process_noise_m2_s3=1.0,
    sigma_range_m=20.0,
    sigma_az_rad=BEARING_SIGMA_RAD,
    sigma_el_rad=BEARING_SIGMA_RAD,
    gate_probability=1.0 - math.exp(-4.5),  # Mahalanobis distance 3 in 2-D
    confirm_hits=3,
    confirm_window=5,
    confirm_within_looks=5,
    delete_tentative_after_misses=2,
    delete_after_misses=3,
)


def tuned(**settings: float) -> TrackerConfig:
    """LONG_RANGE with ``settings`` changed, validated."""
    return TrackerConfig.model_validate({**LONG_RANGE.model_dump(), **settings})


def frame(
    t_s: float,
    positions_enu_m: np.ndarray,
    *,
    elevation: bool = True,
    velocity_enu_mps: np.ndarray | None = None,
    rng: np.random.Generator | None = None,
    config: TrackerConfig = LONG_RANGE,
    source: int | None = None,
    truth_id: int | None = None,
) -> DetectionBatch:
    """A whole-scan frame seeing ``positions_enu_m`` (K, 3) from SITE, with noise if ``rng``."""
    p = np.asarray(positions_enu_m, dtype=float).reshape(-1, 3)
    r, az, el = enu_to_polar(p - np.asarray(SITE))
    if rng is not None:
        r = r + rng.normal(0.0, config.sigma_range_m, len(p))
        az = az + rng.normal(0.0, config.sigma_az_rad, len(p))
        el = el + rng.normal(0.0, config.sigma_el_rad, len(p))
    vr = None
    if velocity_enu_mps is not None:
        los = (p - np.asarray(SITE)) / r[:, None]
        vr = np.einsum("ki,ki->k", los, velocity_enu_mps.reshape(-1, 3))
    k = len(p)
    return DetectionBatch(
        t_s,
        r,
        az,
        el if elevation else None,
        vr,
        source=None if source is None else np.full(k, source, np.int64),
        truth_id=None if truth_id is None else np.full(k, truth_id, np.int64),
    )


def empty(t_s: float) -> DetectionBatch:
    return DetectionBatch(t_s, np.empty(0), np.empty(0), np.empty(0))


def target_at(ground_range_m: float, height_m: float, t_s: float) -> np.ndarray:
    """A target flying north-east at 250 m/s, ``ground_range_m`` due east of SITE at t = 0."""
    start = np.array([SITE[0] + ground_range_m, SITE[1], height_m])
    return start + np.array([176.8, 176.8, 0.0]) * t_s


@pytest.mark.parametrize("elevation", [True, False], ids=["3-D", "2-D"])
def test_a_target_at_70_km_confirms_by_m_of_n_and_is_never_deleted_while_detected(
    elevation: bool,
) -> None:
    """0.1° bearing noise is 122 m across the line of sight at 70 km: the absolute 150 m
    tentative guard this replaces deleted such tracks before they could confirm."""
    sensor = PolarSensor(SITE, 0.0, elevation=elevation)
    tracker = Tracker(LONG_RANGE, sensor)
    rng = np.random.default_rng(70)
    height = 8000.0 if elevation else SITE[2]
    ids_seen: set[int] = set()
    for scan in range(60):
        t = float(scan)
        tracker.step(frame(t, target_at(70_000.0, height, t), elevation=elevation, rng=rng))
        snapshot = tracker.tracks_at(t)
        if scan < 2:
            assert len(snapshot.ids) == 0  # 3 of 5: not before the third hit
        else:
            assert len(snapshot.ids) == 1, f"scan {scan}: {len(snapshot.ids)} tracks"
            ids_seen.update(snapshot.ids.tolist())
            error = np.linalg.norm(snapshot.position_enu_m[0] - target_at(70_000.0, height, t))
            assert error < 500.0  # cross-range σ of one look is 122 m
    assert len(ids_seen) == 1 and len(tracker) == 1


@pytest.mark.parametrize("ground_range_m", [2_000.0, 70_000.0])
@pytest.mark.parametrize("misses", [1, 2, 4])
def test_tentative_track_lives_exactly_its_configured_misses(
    misses: int, ground_range_m: float
) -> None:
    """Deleted at the configured consecutive miss, not before — at 2 km too, where its
    unknown cross-range velocity (150 m/s σ) makes its uncertainty grow fastest compared
    with what the sensor resolves."""
    config = tuned(delete_tentative_after_misses=misses, confirm_within_looks=10)
    tracker = Tracker(config, PolarSensor(SITE))
    tracker.step(frame(0.0, target_at(ground_range_m, 1000.0, 0.0), config=config))
    assert len(tracker) == 1 and tracker.status[0] == TENTATIVE
    for miss in range(1, misses + 1):
        report = tracker.step(empty(float(miss)))
        if miss < misses:
            assert len(tracker) == 1, f"deleted at miss {miss} of {misses}"
        else:
            assert len(tracker) == 0 and report.deleted == 1


@pytest.mark.parametrize("ground_range_m", [1_000.0, 70_000.0])
@pytest.mark.parametrize("misses", [1, 3, 5])
def test_confirmed_track_lives_exactly_its_configured_misses(
    misses: int, ground_range_m: float
) -> None:
    config = tuned(delete_after_misses=misses)
    tracker = Tracker(config, PolarSensor(SITE))
    rng = np.random.default_rng(misses)
    for scan in range(8):
        t = float(scan)
        tracker.step(frame(t, target_at(ground_range_m, 1000.0, t), config=config, rng=rng))
    assert len(tracker) == 1 and tracker.status[0] == CONFIRMED
    for miss in range(1, misses + 1):
        tracker.step(empty(8.0 + miss))
        assert len(tracker) == (1 if miss < misses else 0), f"miss {miss} of {misses}"


def test_a_diverged_track_is_deleted_relative_to_the_sensor_resolution() -> None:
    """The divergence guard: a confirmed track not seen for a long gap (the radar was
    stopped, so no look counted as a miss) and then looked at again is judged by how many
    measurement σ its uncertainty spans there, and is deleted past the limit."""
    config = tuned(max_uncertainty_sigmas=20.0)
    tracker = Tracker(config, PolarSensor(SITE))
    rng = np.random.default_rng(3)
    for scan in range(6):
        t = float(scan)
        tracker.step(frame(t, target_at(5_000.0, 1000.0, t), config=config, rng=rng))
    rows = np.arange(1)
    fresh = float(tracker.uncertainty_sigmas(rows, 5.0)[0])
    assert 0.5 < fresh < 2.0  # just updated: about one measurement σ at any range
    # a sector of the beam away from the track: a look that does not see it, 120 s later
    beam = DetectionBatch(125.0, np.empty(0), np.empty(0), np.empty(0), None, math.pi, 0.1)
    tracker.step(beam)
    assert len(tracker) == 1  # not looked at: not judged
    assert float(tracker.uncertainty_sigmas(rows, 125.0)[0]) > 20.0
    tracker.step(empty(125.0))
    assert len(tracker) == 0


def test_two_d_frames_need_no_elevation_and_no_radial_velocity() -> None:
    """A 2-D sensor's tracks stay at the antenna's height with no vertical velocity or
    variance; their horizontal estimate is as good as the measurements allow."""
    tracker = Tracker(LONG_RANGE, PolarSensor(SITE, 0.3, elevation=False))
    rng = np.random.default_rng(2)
    errors = []
    for scan in range(40):
        t = float(scan)
        truth = target_at(40_000.0, SITE[2], t)
        f = frame(t, truth, elevation=False, rng=rng)
        shifted = DetectionBatch(t, f.range_m, f.az_rad - 0.3)  # turntable frame: bearing − 0.3
        tracker.step(shifted)
        snapshot = tracker.tracks_at(t + 0.5)
        if scan >= 10:
            (position,) = snapshot.position_enu_m
            assert position[2] == SITE[2] and snapshot.velocity_enu_mps[0, 2] == 0.0
            assert np.all(snapshot.covariance[0, [2, 5], :] == 0.0)
            errors.append(np.linalg.norm(position[:2] - target_at(40_000.0, SITE[2], t + 0.5)[:2]))
    rmse = math.sqrt(float(np.mean(np.square(errors))))
    assert rmse < 40_000.0 * BEARING_SIGMA_RAD  # filtered: below one look's cross-range σ


def test_a_three_d_sensor_refuses_a_frame_without_elevation() -> None:
    tracker = Tracker(LONG_RANGE, PolarSensor(SITE))
    with pytest.raises(ValueError, match="el_rad"):
        tracker.step(DetectionBatch(0.0, np.array([1000.0]), np.array([0.1])))


def test_frames_without_radial_velocity_update_on_position_alone() -> None:
    """``use_radial_velocity`` is on, but the radar sends no radial velocity: the tracker
    tracks on range and angles (a 3-D innovation) instead of inventing zeros — zeros would
    drag every receding or closing track towards a tangential course."""
    config = TrackerConfig(confirm_hits=3, confirm_window=3)
    assert config.use_radial_velocity
    tracker = Tracker(config, PolarSensor(SITE))
    rng = np.random.default_rng(9)
    for scan in range(30):
        t = float(scan)
        tracker.step(frame(t, target_at(6_000.0, 2000.0, t), config=config, rng=rng))
    (velocity,) = tracker.tracks_at(29.0).velocity_enu_mps
    assert np.linalg.norm(velocity - np.array([176.8, 176.8, 0.0])) < 10.0


@pytest.mark.parametrize(
    ("elevation", "velocity", "dims"),
    [(False, False, 2), (True, False, 3), (False, True, 3), (True, True, 4)],
    ids=["range-az", "range-az-el", "range-az-vr", "range-az-el-vr"],
)
@pytest.mark.parametrize("probability", [0.99, 0.999])
def test_gate_is_the_chi2_quantile_for_the_innovation_dimension(
    elevation: bool, velocity: bool, dims: int, probability: float
) -> None:
    """A detection 1 % inside the gate's χ² threshold for this innovation dimension is
    taken; 1 % outside it is not. (The old fixed 18.5 was the 4-D value at 99.9 %: a 2-D
    gate at that threshold holds 99.99 %.)"""
    config = TrackerConfig(
        use_radial_velocity=velocity, gate_probability=probability, confirm_within_looks=10
    )
    threshold = float(chi2.ppf(probability, dims))
    assert config.gate_chi2(dims) == pytest.approx(threshold, rel=1e-12)
    height = 900.0 if elevation else SITE[2]
    truth = target_at(12_000.0, height, 0.0)
    v = np.array([[176.8, 176.8, 0.0]]) if velocity else None
    los = (truth - np.asarray(SITE)) / np.linalg.norm(truth - np.asarray(SITE))
    for factor, taken in ((0.99, True), (1.01, False)):
        tracker = Tracker(config, PolarSensor(SITE, elevation=elevation))
        tracker.step(frame(0.0, truth, elevation=elevation, velocity_enu_mps=v, config=config))
        offset = math.sqrt(2.0 * factor * threshold) * config.sigma_range_m
        moved = truth + los * offset
        report = tracker.step(
            frame(0.0, moved, elevation=elevation, velocity_enu_mps=v, config=config)
        )
        assert (report.assigned == 1) is taken, f"d² = {factor} × {threshold:.2f}"


def test_tracks_carry_the_source_and_truth_id_of_their_latest_detection() -> None:
    tracker = Tracker(LONG_RANGE, PolarSensor(SITE))
    for scan in range(5):
        t = float(scan)
        truth_id = 7 if scan < 4 else 8
        tracker.step(frame(t, target_at(9_000.0, 500.0, t), source=1, truth_id=truth_id))
    snapshot = tracker.tracks_at(4.0)
    assert snapshot.source.tolist() == [1] and snapshot.truth_id.tolist() == [8]
    untagged = Tracker(LONG_RANGE, PolarSensor(SITE))
    for scan in range(4):
        untagged.step(frame(float(scan), target_at(9_000.0, 500.0, float(scan))))
    snapshot = untagged.tracks_at(3.0)
    assert snapshot.source.tolist() == [-1] and snapshot.truth_id.tolist() == [-1]


@pytest.mark.parametrize(
    ("key", "fix"),
    [
        ("gate_chi2", "gate_probability"),
        ("max_position_sigma_m", "max_uncertainty_sigmas"),
        ("max_tentative_position_sigma_m", "delete_tentative_after_misses"),
    ],
)
def test_retired_keys_name_their_replacement(key: str, fix: str) -> None:
    with pytest.raises(ValidationError, match=f"{key} is no longer a tracker key.*{fix}"):
        TrackerConfig.model_validate({key: 100.0})


@pytest.mark.parametrize(
    "settings",
    [{"confirm_hits": 4, "confirm_window": 3}, {"confirm_hits": 3, "confirm_within_looks": 2}],
)
def test_unconfirmable_settings_are_refused(settings: dict[str, int]) -> None:
    with pytest.raises(ValidationError, match="no track could ever be confirmed"):
        TrackerConfig.model_validate(settings)


def jumped_target_run(succession: float | None) -> tuple[list[int], list[tuple[int, int]], int]:
    """A target tracked for 10 scans whose detections then jump 1.2 km further in range and
    stay on the jumped course (a range-gate pull-off, or a bias step in the radar): outside the
    confirmed track's gate, inside its succession gate. Returns the confirmed track count per
    scan after the jump, the successions, and the original track id."""
    config = tuned(
        sigma_range_m=200.0,
        gate_probability=0.999,
        succession_gate_probability=succession,
        delete_after_misses=2,
    )
    tracker = Tracker(config, PolarSensor(SITE))
    rng = np.random.default_rng(11)
    successions: list[tuple[int, int]] = []
    counts: list[int] = []
    first_id = -1
    for scan in range(20):
        t = float(scan)
        truth = target_at(30_000.0, 3000.0, t)
        if scan >= 10:
            direction = (truth - np.asarray(SITE)) / np.linalg.norm(truth - np.asarray(SITE))
            truth = truth + 1_200.0 * direction
        report = tracker.step(frame(t, truth, config=config, rng=rng))
        successions += report.successions
        snapshot = tracker.tracks_at(t)
        if scan == 9:
            (first_id,) = snapshot.ids.tolist()
        if scan >= 10:
            counts.append(len(snapshot.ids))
    return counts, successions, first_id


def test_a_successor_takes_over_a_confirmed_track_that_lost_its_detections_at_the_gate() -> None:
    counts, successions, first_id = jumped_target_run(1.0 - 1e-12)
    assert len(successions) == 1 and successions[0][1] == first_id  # the id carries on
    assert min(counts) == 1 and max(counts) == 1  # tracked at every scan, never twice


def test_without_succession_the_same_target_goes_untracked_until_confirmed_anew() -> None:
    counts, successions, _ = jumped_target_run(None)
    assert successions == [] and 0 in counts and counts[-1] == 1


def test_a_lone_clutter_point_does_not_inherit_a_vanished_track() -> None:
    """The target vanishes; one clutter detection lands in its succession gate while it
    coasts. One detection is no successor: the confirmed track dies, its id with it."""
    config = tuned(succession_gate_probability=1.0 - 1e-12, delete_after_misses=2)
    tracker = Tracker(config, PolarSensor(SITE))
    rng = np.random.default_rng(5)
    for scan in range(8):
        t = float(scan)
        tracker.step(frame(t, target_at(20_000.0, 2000.0, t), config=config, rng=rng))
    (track_id,) = tracker.tracks_at(7.0).ids.tolist()
    stray = target_at(20_000.0, 2000.0, 8.0) + np.array([0.0, 0.0, 250.0])
    report = tracker.step(frame(8.0, stray, config=config))
    assert report.initiated == 1 and tracker.parent[tracker.status == TENTATIVE].tolist() == [
        track_id
    ]
    report = tracker.step(empty(9.0))
    assert report.successions == [] and len(tracker.tracks_at(9.0).ids) == 0
