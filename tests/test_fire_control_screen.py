"""The compiled threat screen (``hil.fire_control.screen``) against its numpy oracle: the
threat order of ``threat.order_threats`` filtered by freshness, settledness and
``solution.feasible``, exactly as the engagement screened before the kernel."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from hil.config.fire_control import FireControlConfig
from hil.fire_control.screen import ScreenLimits, screen
from hil.fire_control.solution import feasible
from hil.fire_control.threat import order_threats

LAUNCHER = (250.0, -400.0, 5.0)


def oracle_rows(
    ids: npt.NDArray[np.int64],
    position: npt.NDArray[np.float64],
    velocity: npt.NDArray[np.float64],
    age: npt.NDArray[np.float64],
    sigma: npt.NDArray[np.float64],
    config: FireControlConfig,
) -> tuple[list[int], npt.NDArray[np.float64], npt.NDArray[np.float64], npt.NDArray[np.float64]]:
    """The engagement's screen before the kernel (numpy)."""
    eligible = age <= config.max_track_age_s
    eligible &= sigma <= config.max_velocity_sigma_mps
    order = order_threats(ids, position, velocity, config)
    rows = order.rows[eligible[order.rows]]
    rows = rows[feasible(np.asarray(LAUNCHER), position[rows], velocity[rows], config)]
    return rows.tolist(), order.time_to_cpa_s, order.miss_distance_m, order.range_m


coordinate = st.floats(-25_000.0, 25_000.0, allow_nan=False)
speed = st.floats(-900.0, 900.0, allow_nan=False)
# a few exact values make ties (equal range or CPA time) and degenerate speeds likely
special = st.sampled_from([0.0, 800.0, -800.0, 1000.0, -1000.0, 1e-6])


@st.composite
def pictures(draw: st.DrawFn) -> tuple[npt.NDArray[np.float64], ...]:
    k = draw(st.integers(0, 24))
    position = draw(hnp.arrays(np.float64, (k, 3), elements=coordinate | special))
    velocity = draw(hnp.arrays(np.float64, (k, 3), elements=speed | special))
    if k > 1 and draw(st.booleans()):  # duplicate a track under another id: a tie
        position[1], velocity[1] = position[0], velocity[0]
    age = draw(hnp.arrays(np.float64, k, elements=st.sampled_from([0.0, 1.0, 7.5, 8.0, np.nan])))
    sigma = draw(hnp.arrays(np.float64, k, elements=st.sampled_from([0.5, 20.0, 25.0, np.nan])))
    return position, velocity, age, sigma


configs = st.builds(
    FireControlConfig,
    defended_point_enu_m=st.sampled_from([(0.0, 0.0, 0.0), (1000.0, -500.0, 20.0)]),
    exclude_receding=st.booleans(),
    max_miss_distance_m=st.sampled_from([5_000.0, 20_000.0]),
    interceptor_speed_mps=st.sampled_from([800.0, 1000.0, 300.0]),
)


@given(pictures(), configs)
def test_the_kernel_screens_as_the_numpy_oracle(
    picture: tuple[npt.NDArray[np.float64], ...], config: FireControlConfig
) -> None:
    position, velocity, age, sigma = picture
    ids = np.arange(len(position), dtype=np.int64)[::-1].copy() * 3 + 7
    expected, t_cpa, miss, distance = oracle_rows(ids, position, velocity, age, sigma, config)
    got = screen(ids, position, velocity, age, sigma, ScreenLimits.of(config, LAUNCHER))
    assert got.rows.tolist() == expected
    # within 1e-9 of the figure or, where its terms cancel, of the terms' own size
    scale = np.linalg.norm(position - config.defended_point_enu_m, axis=1)
    speed = np.maximum(np.linalg.norm(velocity, axis=1), 1e-9)
    assert np.all(np.abs(got.time_to_cpa_s - t_cpa) <= 1e-9 * (np.abs(t_cpa) + scale / speed))
    assert np.all(np.abs(got.miss_distance_m - miss) <= 1e-9 * (miss + scale))
    np.testing.assert_allclose(got.range_m, distance, rtol=1e-9, atol=0)


def test_an_inbound_threat_in_reach_is_screened_in_and_a_receding_one_out() -> None:
    config = FireControlConfig()
    ids = np.array([4, 9], dtype=np.int64)
    position = np.array([[0.0, 8_000.0, 1000.0], [0.0, 6_000.0, 1000.0]])
    velocity = np.array([[0.0, -200.0, 0.0], [0.0, 200.0, 0.0]])
    got = screen(
        ids, position, velocity, np.zeros(2), np.ones(2), ScreenLimits.of(config, LAUNCHER)
    )
    assert got.rows.tolist() == [0]
