"""Batched CV prediction and the polar EKF update: closed forms, Jacobians, consistency (NEES)."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from numpy.testing import assert_allclose

from hil.tracking.measurement import PolarSensor, ekf_update, innovation
from hil.tracking.motion import predict, process_noise, transition


def test_prediction_is_constant_velocity_with_white_noise_acceleration() -> None:
    x = np.array([[100.0, 200.0, 300.0, 10.0, -5.0, 1.0], [0.0] * 6])
    p = np.stack([np.eye(6), 2 * np.eye(6)])
    dt = np.array([2.0, 0.5])
    x2, p2 = predict(x, p, dt, 3.0)
    assert_allclose(x2[0], [120.0, 190.0, 302.0, 10.0, -5.0, 1.0])
    for k in range(2):
        f = transition(dt[k : k + 1])[0]
        q = 3.0 * np.array([[dt[k] ** 3 / 3, dt[k] ** 2 / 2], [dt[k] ** 2 / 2, dt[k]]])
        expected = f @ p[k] @ f.T
        expected[np.ix_([0, 3], [0, 3])] += q
        expected[np.ix_([1, 4], [1, 4])] += q
        expected[np.ix_([2, 5], [2, 5])] += q
        assert_allclose(p2[k], expected, atol=1e-12)
    assert np.all(np.linalg.eigvalsh(process_noise(dt, 3.0)) >= -1e-12)


def test_block_prediction_equals_f_p_ft_plus_q_for_dense_covariances() -> None:
    rng = np.random.default_rng(7)
    a = rng.normal(size=(50, 6, 6)) * rng.uniform(1, 100, size=(50, 1, 6))
    p = a @ a.transpose(0, 2, 1)
    x = rng.normal(size=(50, 6)) * 1000
    dt = rng.uniform(0, 10, size=50)
    _, p2 = predict(x, p, dt, 4.0)
    f = transition(dt)
    reference = f @ p @ f.transpose(0, 2, 1) + process_noise(dt, 4.0)
    assert_allclose(p2, reference, rtol=1e-10, atol=1e-8)


states = st.tuples(
    st.floats(100.0, 30_000.0),
    st.floats(-math.pi, math.pi),
    st.floats(-1.3, 1.3),
    st.floats(-300.0, 300.0),
    st.floats(-300.0, 300.0),
    st.floats(-50.0, 50.0),
)


@given(states, st.floats(-math.pi, math.pi))
def test_jacobian_matches_finite_differences(s: tuple[float, ...], alignment: float) -> None:
    r, bearing, el, ve, vn, vu = s
    site = (50.0, -20.0, 3.0)
    position = np.array(site) + r * np.array(
        [math.cos(el) * math.sin(bearing), math.cos(el) * math.cos(bearing), math.sin(el)]
    )
    x = np.concatenate((position, [ve, vn, vu]))[None, :]
    sensor = PolarSensor(site, alignment)
    _, jac = sensor.predict_measurement(x)
    numeric = np.empty((4, 6))
    for j in range(6):
        step = np.zeros(6)
        step[j] = 1e-3 if j < 3 else 1e-4
        up, _ = sensor.predict_measurement(x + step)
        down, _ = sensor.predict_measurement(x - step)
        numeric[:, j] = innovation(up, down)[0] / (2 * step[j])
    assert_allclose(jac[0], numeric, rtol=1e-4, atol=1e-7)


def test_measurement_frames_and_azimuth_wrap() -> None:
    sensor = PolarSensor((0.0, 0.0, 0.0), math.radians(10.0))
    x = np.array([[0.0, -1000.0, 0.0, 0.0, 10.0, 0.0]])  # due south, closing at 10 m/s
    z, _ = sensor.predict_measurement(x)
    assert z[0, 0] == pytest.approx(1000.0)
    assert z[0, 1] == pytest.approx(math.radians(170.0))  # bearing 180° − alignment 10°
    assert z[0, 3] == pytest.approx(-10.0)  # approaching: negative radial velocity
    y = innovation(
        np.array([[0.0, -math.pi + 0.001, 0.0, 0.0]]), np.array([[0.0, math.pi - 0.001, 0.0, 0.0]])
    )
    assert y[0, 1] == pytest.approx(0.002)


def test_batched_update_equals_one_at_a_time() -> None:
    rng = np.random.default_rng(4)
    k = 7
    x = np.column_stack(
        (
            rng.uniform(-5000, 5000, (k, 2)),
            rng.uniform(100, 2000, k),
            rng.uniform(-100, 100, (k, 3)),
        )
    )
    p = np.stack([np.diag(rng.uniform(10, 1000, 6)) for _ in range(k)])
    sensor = PolarSensor((1.0, 2.0, 3.0), 0.3)
    z, _ = sensor.predict_measurement(x + rng.normal(0, 20, x.shape))
    noise = np.diag([25.0, 1e-6, 1e-6, 0.25])
    batched = ekf_update(x, p, z, noise, sensor)
    for i in range(k):
        one = ekf_update(x[i : i + 1], p[i : i + 1], z[i : i + 1], noise, sensor)
        assert_allclose(batched.state[i], one.state[0], rtol=1e-12, atol=1e-9)
        assert_allclose(batched.covariance[i], one.covariance[0], rtol=1e-10, atol=1e-9)
        assert batched.mahalanobis2[i] == pytest.approx(one.mahalanobis2[0])


def test_filter_is_consistent_on_a_simulated_target() -> None:
    """Average NEES over 200 Monte-Carlo runs (filtered as one batch) stays near the state
    dimension (6), and the normalised innovations near the measurement dimension (4)."""
    runs, steps, dt, q = 200, 150, 1.0, 0.01
    rng = np.random.default_rng(11)
    sensor = PolarSensor((0.0, 0.0, 0.0), 0.0)
    sigma = np.array([5.0, 1e-3, 1e-3, 0.5])
    noise = np.diag(sigma**2)
    truth = np.tile([-3000.0, 6000.0, 500.0, 100.0, 0.0, 0.0], (runs, 1))
    z0, _ = sensor.predict_measurement(truth)
    x = truth + rng.normal(0.0, [30, 30, 30, 5, 5, 5], truth.shape)
    p = np.tile(np.diag([900.0, 900.0, 900.0, 25.0, 25.0, 25.0]), (runs, 1, 1))
    nees, nis = [], []
    for _ in range(steps):
        accel = rng.normal(0.0, math.sqrt(q / dt), (runs, 3))  # matches the CV noise model
        truth[:, :3] += truth[:, 3:] * dt + 0.5 * accel * dt**2
        truth[:, 3:] += accel * dt
        x, p = predict(x, p, np.full(runs, dt), q)
        z, _ = sensor.predict_measurement(truth)
        z = z + rng.normal(0.0, sigma, z.shape)
        result = ekf_update(x, p, z, noise, sensor)
        x, p = result.state, result.covariance
        error = truth - x
        nees.append(np.einsum("ki,ki->k", error, np.linalg.solve(p, error[..., None])[..., 0]))
        nis.append(result.mahalanobis2)
    mean_nees = float(np.mean(nees[50:]))
    mean_nis = float(np.mean(nis[50:]))
    assert 5.4 < mean_nees < 6.8, mean_nees
    assert 3.7 < mean_nis < 4.4, mean_nis
    assert z0.shape == (runs, 4)


def test_iterated_update_relinearises_a_loose_prior() -> None:
    """A second look with an unknown cross-range velocity: the iterated update fits the
    measurement far better than one EKF step, and rows that converge stop independently."""
    sensor = PolarSensor()
    truth = np.array([[0.0, 8000.0, 1000.0, 0.0, 0.0, 0.0]])
    z, _ = sensor.predict_measurement(truth)
    prior = truth + np.array([[1500.0, -300.0, 0.0, 0.0, 0.0, 0.0]])  # 1.5 km cross-range off
    p = np.diag([1500.0**2, 1500.0**2, 200.0**2, 150.0**2, 150.0**2, 150.0**2])[None]
    noise = np.diag([5.0**2, 1e-3**2, 1e-3**2, 0.5**2])
    tight = np.vstack((prior, truth))  # second row: a prior already on the truth
    covs = np.concatenate((p, np.eye(6)[None] * 100.0))
    once = ekf_update(tight, covs, np.vstack((z, z)), noise, sensor, iterations=1)
    iterated = ekf_update(tight, covs, np.vstack((z, z)), noise, sensor, iterations=5)
    miss_once = np.linalg.norm(once.state[0, :3] - truth[0, :3])
    miss_iterated = np.linalg.norm(iterated.state[0, :3] - truth[0, :3])
    assert miss_iterated < 0.2 * miss_once
    assert_allclose(iterated.state[1], once.state[1], atol=1e-6)  # converged row: one step


def test_a_settled_prior_is_not_relinearised() -> None:
    """A prior spanning about one measurement σ is updated by one EKF step, bit for bit, even
    when its innovation is large: re-linearising would only chase the newest detection."""
    sensor = PolarSensor()
    truth = np.array([[30_000.0, 40_000.0, 5000.0, 150.0, 0.0, 0.0]])
    z, _ = sensor.predict_measurement(truth, with_velocity=False)
    z = z + np.array([[60.0, 1e-2, -1e-2]])  # far out in every coordinate (6 σ in angle)
    noise = np.diag([20.0**2, 1.7e-3**2, 1.7e-3**2])
    p = np.diag([20.0**2, 60.0**2, 60.0**2, 4.0, 4.0, 4.0])[None]
    once = ekf_update(truth, p, z, noise, sensor, iterations=1)
    iterated = ekf_update(truth, p, z, noise, sensor, iterations=5)
    assert np.array_equal(once.state, iterated.state)
    assert np.array_equal(once.covariance, iterated.covariance)
