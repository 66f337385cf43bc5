"""``RadarSensor.observe`` makes the same dwells as its oracle (``sensor_oracle``: the model
before its draws were taken up front), bit for bit, and leaves the random stream where the
oracle leaves it: same seed, same detections, so sim digests do not change with it."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
import sensor_oracle
from conftest import CONFIGS

from hil.config.loader import load_scenario
from hil.loop.sim_scenario import build_targets, radar_parameters, scan_pattern
from sim.sensor import Dwell, RadarSensor

RAID = CONFIGS / "scenarios" / "raid-100.toml"


def assert_same(new: Dwell, old: Dwell) -> None:
    for field in dataclasses.fields(Dwell):
        a, b = getattr(new, field.name), getattr(old, field.name)
        if isinstance(a, np.ndarray):
            assert a.dtype == b.dtype and a.shape == b.shape, field.name
            assert a.tobytes() == b.tobytes(), field.name
        else:
            assert a == b, field.name


@pytest.mark.parametrize(
    ("seed", "clutter", "cap", "beamwidth_rad"),
    [
        (0, 2.0, 203, None),
        (1, 2.0, 203, None),
        (7, 0.0, 203, None),
        (11, 40.0, 203, None),
        (3, 8.0, 2, None),
        (5, 2.0, 203, np.pi),  # a beam wider than a half-turn: the bearing test, not the tangent
    ],
)
def test_observe_makes_the_oracles_dwells_bit_for_bit(
    seed: int, clutter: float, cap: int, beamwidth_rad: float | None
) -> None:
    scenario = load_scenario(RAID)
    radar = scenario.radar.model_copy(update={"clutter_per_dwell": clutter})
    parameters = dataclasses.replace(
        radar_parameters(radar),
        max_detections_per_dwell=cap,
        position_enu_m=(120.0, -75.0, 12.0),
        north_alignment_rad=0.3,
    )
    if beamwidth_rad is not None:
        parameters = dataclasses.replace(parameters, beamwidth_az_rad=beamwidth_rad)
    sensor, scan = RadarSensor(parameters), scan_pattern(radar)
    targets = build_targets(scenario)
    new_rng, old_rng = np.random.default_rng(seed), np.random.default_rng(seed)
    detections = 0
    for t in scan.iter_dwell_centres(0.0, 12.0):
        pose, truth = scan.pose_at(t), targets.state_at(t)
        new = sensor.observe(pose, truth, new_rng)
        assert_same(new, sensor_oracle.observe(sensor, pose, truth, old_rng))
        detections += len(new)
    assert detections > 0
    assert new_rng.bit_generator.state == old_rng.bit_generator.state
