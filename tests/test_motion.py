"""Motion models against closed forms, and target-set bookkeeping."""

from __future__ import annotations

import math

import numpy as np
import pytest
from conftest import CONFIGS
from numpy.testing import assert_allclose

from hil.config.loader import load_scenario
from hil.config.scenario import ScenarioConfig
from hil.loop.sim_scenario import build_targets
from sim.motion import (
    STANDARD_GRAVITY_MPS2,
    Ballistic,
    ConstantAcceleration,
    ConstantVelocity,
    CoordinatedTurn,
    Waypoints,
)

G = STANDARD_GRAVITY_MPS2
TIMES = [0.0, 0.37, 5.0, 12.25, 60.0]


def rows(state: np.ndarray) -> np.ndarray:
    """Groups answer component-major (3, n); compare as (n, 3) rows."""
    return state.T


def test_constant_velocity_closed_form() -> None:
    p0 = np.array([[100.0, -50.0, 300.0], [0.0, 0.0, 0.0]])
    v = np.array([[10.0, 20.0, -1.0], [-3.0, 0.5, 2.0]])
    t0 = np.array([2.0, 0.0])
    model = ConstantVelocity(t0, p0, v)
    for t in TIMES:
        position, velocity = model.state_at(t)
        assert_allclose(rows(position), p0 + v * (t - t0)[:, None], atol=1e-9)
        assert_allclose(rows(velocity), v)


def test_constant_acceleration_closed_form() -> None:
    p0 = np.array([[1.0, 2.0, 3.0]])
    v0 = np.array([[10.0, 0.0, 5.0]])
    a = np.array([[0.5, -1.0, 2.0]])
    model = ConstantAcceleration([1.0], p0, v0, a)
    for t in TIMES:
        tau = t - 1.0
        position, velocity = model.state_at(t)
        assert_allclose(rows(position), p0 + v0 * tau + 0.5 * a * tau**2, atol=1e-9)
        assert_allclose(rows(velocity), v0 + a * tau, atol=1e-12)


@pytest.mark.parametrize("turn_deg_s", [3.0, -6.0, 25.0])
def test_coordinated_turn_keeps_speed_and_radius(turn_deg_s: float) -> None:
    omega = math.radians(turn_deg_s)
    speed = 150.0
    model = CoordinatedTurn([0.0], [[0.0, 0.0, 1000.0]], [[speed, 0.0, 2.0]], [omega])
    radius = speed / abs(omega)
    # eastbound; a right turn (positive rate) curves south, so its centre is south of the start
    centre = np.array([0.0, -math.copysign(radius, omega)])
    for t in np.linspace(0.0, 200.0, 41):
        position, velocity = model.state_at(float(t))
        assert math.hypot(*velocity[:2, 0]) == pytest.approx(speed, rel=1e-12)
        assert math.dist(position[:2, 0], centre) == pytest.approx(radius, rel=1e-9)
        assert position[2, 0] == pytest.approx(1000.0 + 2.0 * t)
    period = 2 * math.pi / abs(omega)
    position, _ = model.state_at(period)
    assert_allclose(position[:2, 0], [0.0, 0.0], atol=1e-6)


def test_positive_turn_rate_turns_right() -> None:
    model = CoordinatedTurn([0.0], [[0.0, 0.0, 0.0]], [[100.0, 0.0, 0.0]], [math.radians(9.0)])
    _, velocity = model.state_at(10.0)  # a quarter turn: from heading east to heading south
    assert_allclose(velocity[:, 0], [0.0, -100.0, 0.0], atol=1e-9)


def test_zero_turn_rate_is_constant_velocity() -> None:
    p0, v = [[5.0, 6.0, 7.0]], [[30.0, -40.0, 1.0]]
    turn = CoordinatedTurn([0.0], p0, v, [0.0])
    straight = ConstantVelocity([0.0], p0, v)
    for t in TIMES:
        assert_allclose(turn.state_at(t)[0], straight.state_at(t)[0], atol=1e-9)


def test_ballistic_without_drag_matches_closed_form() -> None:
    p0 = np.array([[-6000.0, 7000.0, 0.0]])
    v0 = np.array([[120.0, -40.0, 300.0]])
    model = Ballistic([3.0], p0, v0, [math.inf])
    flight = 2 * 300.0 / G
    assert model.impact_s[0] == pytest.approx(3.0 + flight, abs=1e-6)
    for tau in np.linspace(0.0, flight, 17)[:-1]:  # up to, not at, impact (velocity 0 there)
        position, velocity = model.state_at(3.0 + float(tau))
        expected = p0[0] + v0[0] * tau + 0.5 * np.array([0.0, 0.0, -G]) * tau**2
        assert_allclose(position[:, 0], expected, atol=1e-3)
        assert_allclose(velocity[:, 0], v0[0] + np.array([0.0, 0.0, -G]) * tau, atol=1e-4)
    apex, _ = model.state_at(3.0 + 300.0 / G)
    assert apex[2, 0] == pytest.approx(300.0**2 / (2 * G), abs=1e-3)


def test_ballistic_drag_lowers_apex_and_shortens_flight() -> None:
    state = ([0.0, 0.0], [[0.0, 0.0, 0.0]] * 2, [[120.0, 0.0, 300.0]] * 2)
    model = Ballistic(*state, ballistic_coefficient_kg_m2=[math.inf, 3000.0])
    times = np.arange(0.0, 70.0, 0.1)
    heights = np.array([model.state_at(float(t))[0][2] for t in times])
    assert heights[:, 1].max() < heights[:, 0].max() - 50.0
    assert model.impact_s[1] < model.impact_s[0]
    landed, velocity = model.state_at(float(model.impact_s[0]) + 5.0)
    assert landed[2, 0] == pytest.approx(0.0, abs=1e-6)
    assert_allclose(velocity, 0.0)


def test_waypoints_pass_through_every_point_on_time() -> None:
    points = [[0.0, 0.0, 100.0], [1000.0, 0.0, 100.0], [1000.0, 500.0, 200.0]]
    times = [10.0, 20.0, 30.0]
    model = Waypoints([times, [0.0, 1.0]], [points, [[0.0, 0.0, 0.0], [1.0, 1.0, 1.0]]])
    for t, p in zip(times, points, strict=True):
        assert_allclose(model.state_at(t)[0][:, 0], p, atol=1e-9)
    position, velocity = model.state_at(25.0)
    assert_allclose(position[:, 0], [1000.0, 250.0, 150.0])
    assert_allclose(velocity[:, 0], [0.0, 50.0, 10.0])
    _, before = model.state_at(5.0)
    _, after = model.state_at(31.0)
    assert_allclose(before[:, 0], 0.0)
    assert_allclose(after[:, 0], 0.0)


def test_ballistic_targets_die_at_ground_impact() -> None:
    targets = build_targets(load_scenario(CONFIGS / "scenarios" / "ballistic-arc.toml"))
    vacuum = targets.names.index("vacuum")
    assert targets.death_s[vacuum] == pytest.approx(2 * 300.0 / G, abs=1e-6)
    assert not targets.state_at(62.0).alive[vacuum]
    assert targets.state_at(60.0).alive[vacuum]


def test_waypoint_speed_sets_timing_and_lifetime() -> None:
    config = ScenarioConfig.model_validate(
        {
            "scenario": {"name": "w"},
            "targets": [
                {
                    "motion": "waypoints",
                    "birth_s": 5.0,
                    "speed_mps": 50.0,
                    "waypoints_enu_m": [
                        [0.0, 0.0, 0.0],
                        [300.0, 400.0, 0.0],
                        [300.0, 400.0, 100.0],
                    ],
                }
            ],
        }
    )
    targets = build_targets(config)
    assert (targets.birth_s[0], targets.death_s[0]) == (5.0, 5.0 + 10.0 + 2.0)
    assert_allclose(targets.state_at(15.0).position_enu_m[0], [300.0, 400.0, 0.0], atol=1e-9)


def test_mixed_models_keep_scenario_ids_and_names() -> None:
    config = load_scenario(CONFIGS / "scenarios" / "patrol-waypoints.toml")
    targets = build_targets(config)
    assert sorted(targets.target_id.tolist()) == [0, 1]
    truth = targets.state_at(50.0)
    patrol = int(np.flatnonzero(truth.target_id == 0)[0])
    assert targets.name_of(0) == "patrol"
    assert_allclose(truth.position_enu_m[patrol], [2000.0, 4000.0, 300.0], atol=1e-9)


def test_raid_is_fixed_by_its_own_seed() -> None:
    config = load_scenario(CONFIGS / "scenarios" / "raid-100.toml")
    a, b = build_targets(config), build_targets(config)
    assert len(a) == 100
    assert_allclose(a.state_at(7.0).position_enu_m, b.state_at(7.0).position_enu_m)
    speeds = np.linalg.norm(a.state_at(0.0).velocity_enu_mps, axis=1)
    assert speeds.min() >= 150.0 and speeds.max() <= 250.0
