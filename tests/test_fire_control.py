"""Threat order, intercept solutions and the software interlocks (pure functions)."""

from __future__ import annotations

import dataclasses
import math
from fractions import Fraction

import numpy as np
import pytest
from hypothesis import event, example, given
from hypothesis import strategies as st
from safety_campaign import safety_property

from hil.config.fire_control import FireControlConfig
from hil.config.plc_emulator import InhibitSectorConfig
from hil.fire_control.interlocks import InterlockInputs, evaluate, in_inhibit_sector
from hil.fire_control.solution import MAX_INTERCEPT_TIME_S, feasible, intercept_time_s, solve
from hil.fire_control.threat import order_threats

CONFIG = FireControlConfig()
ORIGIN = np.zeros(3)


def test_threats_ordered_by_time_to_closest_approach_then_range() -> None:
    ids = np.array([10, 11, 12, 13, 14])
    position = np.array(
        [
            [0.0, 10_000.0, 1000.0],  # inbound at 200 m/s: CPA in 50 s
            [0.0, 5_000.0, 1000.0],  # inbound at 50 m/s: CPA in 100 s
            [0.0, 8_000.0, 1000.0],  # inbound at 200 m/s: CPA in 40 s — first
            [0.0, 6_000.0, 1000.0],  # receding: excluded
            [3_000.0, 8_000.0, 500.0],  # inbound at 200 m/s, CPA 40 s but farther than #12
        ]
    )
    velocity = np.array(
        [[0, -200.0, 0], [0, -50.0, 0], [0, -200.0, 0], [0, 200.0, 0], [0, -200.0, 0]]
    )
    order = order_threats(ids, position, velocity, CONFIG)
    assert ids[order.rows].tolist() == [12, 14, 10, 11]
    assert order.time_to_cpa_s[0] == pytest.approx(50.0)
    assert order.miss_distance_m[0] == pytest.approx(1000.0)


def test_threat_exclusions_are_configurable() -> None:
    ids = np.array([1, 2])
    position = np.array([[0.0, 30_000.0, 0.0], [0.0, 6_000.0, 0.0]])
    velocity = np.array([[0.0, -300.0, 0.0], [0.0, 100.0, 0.0]])
    assert order_threats(ids, position, velocity, CONFIG).rows.tolist() == []
    relaxed = CONFIG.model_copy(
        update={
            "max_threat_range_m": 40_000.0,
            "max_miss_distance_m": 10_000.0,
            "exclude_receding": False,
        }
    )
    assert ids[order_threats(ids, position, velocity, relaxed).rows].tolist() == [2, 1]


def test_head_on_intercept_has_the_closed_form_time() -> None:
    target = np.array([0.0, 8000.0, 1000.0])
    velocity = np.array([0.0, -200.0, 0.0])
    s = solve(ORIGIN, target, velocity, CONFIG)
    assert s.valid, s.reason
    # the meeting point is on the interceptor's sphere and on the target's line
    aim = np.array(s.intercept_enu_m)
    assert np.linalg.norm(aim) == pytest.approx(800.0 * s.time_of_flight_s, rel=1e-9)
    np.testing.assert_allclose(aim, target + velocity * s.time_of_flight_s, atol=1e-6)
    assert s.az_rad == pytest.approx(0.0, abs=1e-9)
    assert s.el_rad == pytest.approx(math.atan2(aim[2], aim[1]))


@given(
    st.tuples(*[st.floats(-15_000, 15_000)] * 2, st.floats(50, 5000)),
    st.tuples(*[st.floats(-400, 400)] * 3),
    st.floats(300, 1500),
)
# issue 9: an equal-speed tail chase with a vanishing offset, t ≈ 5e255 s (no solution)
@example(position=(0.0, -7.9e-256, 50.0), velocity=(0.0, 300.0, 0.0), speed=300.0)
# the same found again by this branch's slow-profile run (t ≈ 1e169 s, |r + v·t| overflowed)
@example(position=(0.0, -1.732483334787014e-169, 50.0), velocity=(0.0, 300.0, 0.0), speed=300.0)
def test_intercept_time_solves_the_meeting_equation(
    position: tuple[float, float, float], velocity: tuple[float, float, float], speed: float
) -> None:
    r, v = np.array(position), np.array(velocity)
    t = intercept_time_s(r, v, speed)
    if math.isnan(t):
        # no meeting at any time: the target stays outside the interceptor's reach
        times = np.linspace(1e-3, 2000.0, 200_001)
        reach = np.linalg.norm(r[None, :] + v[None, :] * times[:, None], axis=1) - speed * times
        assert reach.min() > -1e-6 * np.linalg.norm(r)
    else:
        assert t > 0
        assert np.linalg.norm(r + v * t) == pytest.approx(speed * t, rel=1e-6)


@given(
    offset_m=st.one_of(st.floats(0.0, 1e4), st.floats(0.0, 1e-3), st.just(7.9e-256)),
    height_m=st.floats(50.0, 5000.0),
    speed=st.sampled_from([300.0, 800.0, 1000.0]),
)
@example(offset_m=7.9e-256, height_m=50.0, speed=300.0)  # the issue 9 counterexample
def test_an_equal_speed_tail_chase_meets_within_the_horizon_or_not_at_all(
    offset_m: float, height_m: float, speed: float
) -> None:
    """Target ``offset_m`` behind the launcher's north, ``height_m`` up, flying north at the
    interceptor's speed: the exact meeting time is (d² + h²) / (2·s·d) — a time of flight beyond
    ``MAX_INTERCEPT_TIME_S`` (up to 1e255 s as the offset vanishes) is no solution."""
    d, h, v = Fraction(offset_m), Fraction(height_m), Fraction(speed)
    exact = (d * d + h * h) / (2 * v * d) if d > 0 else None  # d = 0: side by side, never
    position, velocity = np.array([0.0, -offset_m, height_m]), np.array([0.0, speed, 0.0])
    t = intercept_time_s(position, velocity, speed)
    config = CONFIG.model_copy(update={"interceptor_speed_mps": speed})
    if exact is not None and exact <= MAX_INTERCEPT_TIME_S * (1 - 1e-9):
        assert t == pytest.approx(float(exact), rel=1e-9)
    elif exact is None or exact > MAX_INTERCEPT_TIME_S * (1 + 1e-9):
        assert math.isnan(t)
        solution = solve(ORIGIN, position, velocity, config)
        assert not solution.valid and "cannot catch" in solution.reason
    batched = feasible(ORIGIN, position[None, :], velocity[None, :], config)[0]
    assert bool(batched) == solve(ORIGIN, position, velocity, config).valid


def test_no_solution_cases_say_why() -> None:
    fast_away = solve(ORIGIN, np.array([0, 5000.0, 500]), np.array([0, 900.0, 0]), CONFIG)
    assert not fast_away.valid and "cannot catch" in fast_away.reason
    far = solve(ORIGIN, np.array([0, 40_000.0, 500]), np.array([0, -100.0, 0]), CONFIG)
    assert not far.valid and "time of flight" in far.reason
    overhead = solve(ORIGIN, np.array([0, 100.0, 3000]), np.array([0, -50.0, 0]), CONFIG)
    assert not overhead.valid and "elevation" in overhead.reason
    close = solve(ORIGIN, np.array([0, 200.0, 50]), np.array([0, -50.0, 0]), CONFIG)
    assert not close.valid and "outside" in close.reason


def _holding_inputs() -> InterlockInputs:
    return InterlockInputs(
        operator_armed=True,
        track_confirmed=True,
        track_age_s=1.0,
        track_velocity_sigma_mps=5.0,
        solution_valid=True,
        solution_az_rad=math.radians(30.0),
        solution_el_rad=math.radians(10.0),
        intercept_range_m=5000.0,
        time_of_flight_s=6.0,
        pointing_error_rad=0.001,
        radar_frame_age_s=0.02,
        plc_link_up=True,
        plc_status_age_s=0.05,
        plc_ready_to_fire=True,
        plc_estop_ok=True,
        plc_chain_ok=True,
    )


def test_all_interlocks_hold_for_a_good_state() -> None:
    result = evaluate(_holding_inputs(), CONFIG)
    assert result.all_hold and result.failing == ()


# every way a single input can break its interlock, as (field, bad value, interlock)
BREAKS = [
    ("operator_armed", False, "operator_armed"),
    ("track_confirmed", False, "track_confirmed"),
    ("track_age_s", 60.0, "track_fresh"),
    ("track_age_s", math.nan, "track_fresh"),
    ("track_velocity_sigma_mps", 80.0, "track_settled"),
    ("solution_valid", False, "solution_valid"),
    ("solution_az_rad", math.radians(180.0), "outside_inhibit_sectors"),
    ("solution_el_rad", math.radians(2.0), "outside_inhibit_sectors"),
    ("solution_el_rad", math.nan, "within_elevation_limits"),
    ("intercept_range_m", 50_000.0, "within_range_limits"),
    ("time_of_flight_s", 45.0, "within_time_of_flight"),
    ("pointing_error_rad", 0.05, "pointing_within_tolerance"),
    ("pointing_error_rad", math.nan, "pointing_within_tolerance"),
    ("radar_frame_age_s", 2.0, "radar_link_fresh"),
    ("radar_frame_age_s", math.inf, "radar_link_fresh"),
    ("plc_link_up", False, "plc_link_healthy"),
    ("plc_status_age_s", 3.0, "plc_link_healthy"),
    ("plc_ready_to_fire", False, "plc_ready_to_fire"),
    ("plc_estop_ok", False, "plc_estop_ok"),
    ("plc_chain_ok", False, "plc_chain_ok"),
]


@pytest.mark.parametrize(("name", "value", "interlock"), BREAKS)
def test_each_input_breaks_its_interlock(name: str, value: object, interlock: str) -> None:
    result = evaluate(dataclasses.replace(_holding_inputs(), **{name: value}), CONFIG)
    assert not result.all_hold
    assert interlock in result.failing


@safety_property
@given(st.lists(st.sampled_from(BREAKS), max_size=len(BREAKS)))
def test_any_combination_of_breaks_fails(breaks: list[tuple[str, object, str]]) -> None:
    inputs = _holding_inputs()
    for name, value, _ in breaks:
        inputs = dataclasses.replace(inputs, **{name: value})
    result = evaluate(inputs, CONFIG)
    assert result.all_hold == (not breaks)
    assert {interlock for _, _, interlock in breaks} <= set(result.failing)


TOLERANCE_RAD = math.radians(CONFIG.pointing_tolerance_deg)


def _config_with(*sectors: InhibitSectorConfig) -> FireControlConfig:
    return CONFIG.model_copy(update={"inhibit_sectors": sectors})


def _outside(config: FireControlConfig, az_deg: float, el_deg: float) -> bool:
    inputs = dataclasses.replace(
        _holding_inputs(),
        solution_az_rad=math.radians(az_deg),
        solution_el_rad=math.radians(el_deg),
    )
    return evaluate(inputs, config).outside_inhibit_sectors


@pytest.mark.parametrize(
    ("az_deg", "el_deg", "outside"),
    [
        (170.0, 20.0, False),  # on the bound (bounds are included)
        (float(np.float32(math.radians(170.0))) * 180 / math.pi, 20.0, False),  # the issue's
        (169.6, 10.0, False),  # within tolerance of the bound
        (169.4, 10.0, True),  # 0.6° clear at 10° elevation: the cone's half-width is 0.51°
        (190.0, 20.0, False),
        (190.6, 10.0, True),
        (60.0, 3.0, False),  # on the elevation bound of the low sector
        (60.0, 3.49, False),
        (60.0, 3.51, True),
        (169.0, 85.0, False),  # near the zenith the cone spans every azimuth
    ],
)
def test_software_refuses_solutions_within_tolerance_of_the_default_sectors(
    az_deg: float, el_deg: float, outside: bool
) -> None:
    assert _outside(CONFIG, az_deg, el_deg) is outside


@pytest.mark.parametrize(
    ("az_deg", "outside"),
    [
        *[(350.0, False), (10.0, False), (0.0, False), (359.9, False)],
        *[(10.4, False), (349.6, False), (10.6, True), (349.4, True), (180.0, True)],
    ],
)
def test_software_sector_check_wraps_through_north(az_deg: float, outside: bool) -> None:
    config = _config_with(InhibitSectorConfig(az_deg=(350.0, 10.0)))
    assert _outside(config, az_deg, 10.0) is outside


def test_software_sector_check_respects_both_elevation_bounds() -> None:
    config = _config_with(InhibitSectorConfig(az_deg=(0.0, 0.0), el_deg=(20.0, 30.0)))
    assert not _outside(config, 45.0, 20.0) and not _outside(config, 45.0, 30.0)
    assert not _outside(config, 45.0, 19.6) and not _outside(config, 45.0, 30.4)
    assert _outside(config, 45.0, 19.4) and _outside(config, 45.0, 30.6)


def destination(az_rad: float, el_rad: float, bearing_rad: float, angle_rad: float) -> tuple:
    """The pointing ``angle_rad`` away from (az, el) towards ``bearing_rad`` (great circle; el as
    latitude, az as longitude)."""
    el2 = math.asin(
        math.sin(el_rad) * math.cos(angle_rad)
        + math.cos(el_rad) * math.sin(angle_rad) * math.cos(bearing_rad)
    )
    az2 = az_rad + math.atan2(
        math.sin(bearing_rad) * math.sin(angle_rad) * math.cos(el_rad),
        math.cos(angle_rad) - math.sin(el_rad) * math.sin(el2),
    )
    return az2 % (2 * math.pi), el2


AZ_FROM = st.sampled_from([0.0, 170.0, 350.0]) | st.floats(0.0, 359.999)
AZ_TO = st.sampled_from([0.0, 10.0, 190.0]) | st.floats(0.0, 359.999)
EL_BOUNDS = st.tuples(st.floats(-90.0, 90.0), st.floats(-90.0, 90.0))
NEAR = st.floats(-3 * CONFIG.pointing_tolerance_deg, 3 * CONFIG.pointing_tolerance_deg)
ANY_AZ, ANY_EL = st.floats(0.0, 360.0), st.floats(-89.0, 89.0)


@st.composite
def sector_and_solution(draw: st.DrawFn) -> tuple[InhibitSectorConfig, float, float]:
    """A no-fire sector (any azimuth interval, wrapping or not, or every azimuth; any elevation
    interval) and a solution, mostly within a few tolerances of one of its bounds (degrees).
    The strategies are built once, above: built inside, per example, they took half of the
    10,000-example campaign's time."""
    az_from, az_to = draw(AZ_FROM), draw(AZ_TO)
    el_low, el_high = sorted(draw(EL_BOUNDS))
    sector = InhibitSectorConfig(az_deg=(az_from, az_to), el_deg=(el_low, el_high))
    if draw(st.booleans()):
        az = (az_from, az_to)[draw(st.integers(0, 1))] + draw(NEAR)
    else:
        az = draw(ANY_AZ)
    if draw(st.booleans()):
        el = (el_low, el_high, 3.0)[draw(st.integers(0, 2))] + draw(NEAR)
    else:
        el = draw(ANY_EL)
    return sector, az % 360.0, min(max(el, -89.9), 89.9)


@safety_property
@given(
    sector_and_solution(),
    st.floats(0.0, 2 * math.pi),
    st.floats(0.0, 1.0) | st.just(1.0),
)
@example((InhibitSectorConfig(az_deg=(170.0, 190.0)), 169.99999, 20.0), math.pi / 2, 1.0)
def test_no_fire_request_the_plc_could_refuse_at_any_pointing_within_tolerance(
    case: tuple[InhibitSectorConfig, float, float], bearing_rad: float, fraction: float
) -> None:
    """Whenever the software's sector interlock lets a solution through, the PLC's own sector
    test (``InhibitSector.contains``, ICD rule 6) finds every pointing within the pointing
    tolerance of it outside the sector — as the PLC computes it and as float32 carries it."""
    sector, az_deg, el_deg = case
    config = _config_with(sector)
    az, el = math.radians(az_deg), math.radians(el_deg)
    plc_sector = sector.to_sector()
    if plc_sector.contains(az, el):
        assert not _outside(config, az_deg, el_deg)
    if not _outside(config, az_deg, el_deg):
        event("software refuses the solution")
        return
    event("software lets the solution through: the PLC must find every pointing outside")
    pointed_az, pointed_el = destination(az, el, bearing_rad, fraction * TOLERANCE_RAD)
    assert not plc_sector.contains(pointed_az, pointed_el)
    on_the_wire = float(np.float32(pointed_az)) % (2 * math.pi), float(np.float32(pointed_el))
    assert not plc_sector.contains(*on_the_wire)


def test_software_inhibit_sectors_match_the_plc_defaults() -> None:
    assert in_inhibit_sector(CONFIG, math.radians(175.0), math.radians(20.0))
    assert in_inhibit_sector(CONFIG, math.radians(30.0), math.radians(2.0))
    assert not in_inhibit_sector(CONFIG, math.radians(30.0), math.radians(20.0))
    assert not in_inhibit_sector(CONFIG, math.radians(-10.0), math.radians(20.0))


@given(
    st.lists(
        st.tuples(
            st.tuples(*[st.floats(-20_000, 20_000)] * 2, st.floats(-100, 6000)),
            st.tuples(*[st.floats(-900, 900)] * 2, st.floats(-100, 100)),
        ),
        min_size=1,
        max_size=20,
    )
)
def test_batched_feasibility_agrees_with_solve(tracks: list[tuple[tuple[float, ...], ...]]) -> None:
    position = np.array([p for p, _ in tracks])
    velocity = np.array([v for _, v in tracks])
    launcher = np.array([25.0, 0.0, 0.0])
    batched = feasible(launcher, position, velocity, CONFIG)
    one_by_one = [
        solve(launcher, p, v, CONFIG).valid for p, v in zip(position, velocity, strict=True)
    ]
    assert batched.tolist() == one_by_one
