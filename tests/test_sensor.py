"""Sensor-model statistics: P_d, measurement noise, clutter, beam geometry, count limit."""

from __future__ import annotations

import dataclasses
import math

import numpy as np
import pytest
from conftest import CONFIGS

from hil.config.loader import load_scenario
from hil.loop.sim_scenario import build_scenario
from sim.coordinates import wrap_pi
from sim.run import simulate
from sim.scan import AntennaPose
from sim.sensor import CLUTTER_ID, RadarParameters, RadarSensor
from sim.targets import TruthState

DWELLS = 4000


def staring_truth(position: list[float], velocity: list[float], rcs: float = 1.0) -> TruthState:
    return TruthState(
        0.0,
        np.array([0]),
        np.array([position]),
        np.array([velocity]),
        np.array([True]),
        np.array([rcs]),
    )


def pose_at(position: list[float], alignment_rad: float = 0.0) -> AntennaPose:
    """A pose whose beam centre points straight at ``position``."""
    bearing = math.atan2(position[0], position[1])
    return AntennaPose(0.0, 0, float(wrap_pi(bearing - alignment_rad)) % (2 * math.pi), 0.0, 0.0)


def within_binomial(successes: int, trials: int, p: float, sigmas: float = 4.0) -> bool:
    return abs(successes - trials * p) <= sigmas * math.sqrt(trials * p * (1 - p))


@pytest.mark.parametrize("range_m", [8000.0, 12_700.0, 16_000.0])
def test_empirical_pd_matches_model(range_m: float) -> None:
    params = RadarParameters()
    sensor = RadarSensor(params)
    position = [range_m * math.sin(0.3), range_m * math.cos(0.3), 0.0]
    truth, pose = staring_truth(position, [0.0, 0.0, 0.0]), pose_at(position)
    rng = np.random.default_rng(11)
    hits = sum(len(sensor.observe(pose, truth, rng)) for _ in range(DWELLS))
    model_pd = float(params.detection_probability(params.snr_db(np.array(range_m), np.array(1.0))))
    assert 0.05 < model_pd < 0.999
    assert within_binomial(hits, DWELLS, model_pd), (hits / DWELLS, model_pd)


def test_pd_falls_with_range_and_rises_with_rcs() -> None:
    params = RadarParameters()
    pd_by_range = params.detection_probability(params.snr_db(np.array([5e3, 1e4, 2e4]), np.ones(3)))
    assert np.all(np.diff(pd_by_range) < 0)
    assert params.snr_db(np.array(2e4), np.array(1.0)) == pytest.approx(20.0 - 40 * math.log10(2))
    assert params.snr_db(np.array(1e4), np.array(10.0)) == pytest.approx(30.0)


def test_measurement_noise_has_the_configured_sigmas() -> None:
    params = RadarParameters(
        north_alignment_rad=0.2,
        sigma_range_m=7.0,
        sigma_az_rad=2e-3,
        sigma_el_rad=1.5e-3,
        sigma_vr_mps=0.8,
    )
    sensor = RadarSensor(params)
    position = [3000.0, 4000.0, 600.0]
    velocity = [-50.0, 20.0, 5.0]
    truth, pose = staring_truth(position, velocity), pose_at(position, 0.2)
    rng = np.random.default_rng(5)
    dwells = [sensor.observe(pose, truth, rng) for _ in range(DWELLS)]
    measured = {
        q: np.concatenate([getattr(d, q) for d in dwells])
        for q in ("range_m", "az_rad", "el_rad", "vr_mps")
    }
    n = len(measured["range_m"])
    assert n > 0.99 * DWELLS
    offset = np.array(position)
    slant = float(np.linalg.norm(offset))
    true = {
        "range_m": slant,
        "az_rad": math.atan2(position[0], position[1]) - 0.2,
        "el_rad": math.asin(position[2] / slant),
        "vr_mps": float(np.dot(offset, velocity)) / slant,
    }
    sigma = {"range_m": 7.0, "az_rad": 2e-3, "el_rad": 1.5e-3, "vr_mps": 0.8}
    for quantity, values in measured.items():
        error = values - true[quantity]
        assert abs(error.mean()) < 4 * sigma[quantity] / math.sqrt(n), quantity
        # the sample σ of n normals has a relative standard error of 1/√(2n) ≈ 1.1 %
        assert error.std() == pytest.approx(sigma[quantity], rel=0.05), quantity


def test_clutter_count_and_placement() -> None:
    params = RadarParameters(clutter_per_dwell=3.0, range_min_m=500.0, range_max_m=15_000.0)
    sensor = RadarSensor(params)
    empty = TruthState(
        0.0,
        np.zeros(0, np.int64),
        np.zeros((0, 3)),
        np.zeros((0, 3)),
        np.zeros(0, bool),
        np.zeros(0),
    )
    rng = np.random.default_rng(3)
    pose = AntennaPose(0.0, 0, 1.0, 0.0, math.radians(0.72))
    dwells = [sensor.observe(pose, empty, rng) for _ in range(DWELLS)]
    counts = np.array([len(d) for d in dwells])
    assert abs(counts.mean() - 3.0) < 4 * math.sqrt(3.0 / DWELLS)
    assert abs(counts.var() - 3.0) < 0.3  # Poisson: variance equals mean
    ranges = np.concatenate([d.range_m for d in dwells])
    az = np.concatenate([d.az_rad for d in dwells])
    truth_id = np.concatenate([d.truth_id for d in dwells])
    assert np.all(truth_id == CLUTTER_ID)
    assert ranges.min() >= 500.0 and ranges.max() <= 15_000.0
    assert ranges.mean() == pytest.approx(7750.0, rel=0.02)
    half_beam = 0.5 * (params.beamwidth_az_rad + pose.sweep_rad)
    assert np.all(np.abs(wrap_pi(az - pose.az_rad)) <= half_beam + 1e-12)


def test_no_detection_outside_the_swept_beam() -> None:
    scenario = build_scenario(load_scenario(CONFIGS / "scenarios" / "raid-100.toml"))
    params = dataclasses.replace(scenario.sensor.parameters, north_alignment_rad=0.4)
    sensor = RadarSensor(params)
    rng = np.random.default_rng(9)
    target_detections = 0
    for t in scenario.scan.dwell_centres(0.0, 12.0):  # four revolutions at 20 rpm
        pose = scenario.scan.pose_at(float(t))
        truth = scenario.targets.state_at(float(t))
        dwell = sensor.observe(pose, truth, rng)
        half_beam = 0.5 * (params.beamwidth_az_rad + pose.sweep_rad)
        bearing = np.arctan2(truth.position_enu_m[:, 0], truth.position_enu_m[:, 1])
        off_boresight = np.abs(wrap_pi(bearing - params.north_alignment_rad - pose.az_rad))
        # the trig-free beam test agrees with the plain angular one
        in_beam = set(truth.target_id[(off_boresight <= half_beam) & truth.alive].tolist())
        assert set(dwell.illuminated_id.tolist()) <= in_beam
        for target_id in dwell.truth_id[dwell.truth_id != CLUTTER_ID]:
            row = int(np.flatnonzero(truth.target_id == target_id)[0])
            assert off_boresight[row] <= half_beam
            target_detections += 1
        clutter_az = dwell.az_rad[dwell.truth_id == CLUTTER_ID]
        assert np.all(np.abs(wrap_pi(clutter_az - pose.az_rad)) <= half_beam + 1e-12)
    assert target_detections > 100


def test_every_live_target_in_coverage_is_illuminated_once_per_revolution() -> None:
    scenario = build_scenario(load_scenario(CONFIGS / "scenarios" / "single-cv.toml"))
    log = simulate(
        scenario.targets, scenario.sensor, scenario.scan, 5.0, np.random.default_rng(0)
    )  # exactly one revolution at 12 rpm
    # beam 2° + 0.72° sweep per dwell covers a point for ceil(2.72/0.72) - 1 .. 3 dwells
    assert 2 <= len(log.illuminated_id) <= 4


def test_detections_per_dwell_are_capped_strongest_first() -> None:
    params = RadarParameters(clutter_per_dwell=400.0, max_detections_per_dwell=203)
    sensor = RadarSensor(params)
    position = [0.0, 3000.0, 100.0]
    truth = staring_truth(position, [0.0, 0.0, 0.0], rcs=10.0)
    dwell = sensor.observe(pose_at(position), truth, np.random.default_rng(1))
    assert len(dwell) == 203
    assert 0 in dwell.truth_id  # the 46 dB target outranks noise-level clutter
    assert np.all(np.diff(dwell.range_m) >= 0)


def test_reported_snr_tracks_the_radar_equation() -> None:
    sensor = RadarSensor(RadarParameters())
    rng = np.random.default_rng(2)
    medians = []
    for range_m in (3000.0, 6000.0):
        position = [0.0, range_m, 0.0]
        truth, pose = staring_truth(position, [0.0, 0.0, 0.0]), pose_at(position)
        snr = np.concatenate([sensor.observe(pose, truth, rng).snr_db for _ in range(2000)])
        medians.append(np.median(snr))
    # Swerling I: the excess is exponential, so the median sits ln 2 below the mean; the
    # difference between the two ranges is the radar equation's 40·log10(2) ≈ 12 dB
    assert medians[0] - medians[1] == pytest.approx(40 * math.log10(2), abs=0.5)
