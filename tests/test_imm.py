"""The IMM's motion models against the simulator's truth motion, and its filter arithmetic."""

from __future__ import annotations

import math

import numpy as np
import pytest

from hil.tracking.imm import MotionModels, combine
from hil.tracking.motion import predict
from sim.motion import CoordinatedTurn

MODELS = MotionModels((0.0, math.radians(3.0), math.radians(-3.0)), (1.0, 5.0, 5.0))


@pytest.mark.parametrize("rate_deg_s", [3.0, -3.0])
@pytest.mark.parametrize("dt_s", [0.01, 5.0, 30.0])
def test_turn_models_follow_the_simulated_turn(rate_deg_s: float, dt_s: float) -> None:
    """The tracker's fixed-rate turn (positive = right turn) moves a state exactly as the
    simulator's coordinated turn does, so the sign conventions agree."""
    start_m, velocity_mps = (100.0, 9000.0, 1000.0), (150.0, -20.0, 3.0)
    truth = CoordinatedTurn(
        [0.0],
        np.array(start_m)[:, None],
        np.array(velocity_mps)[:, None],
        [math.radians(rate_deg_s)],
    )
    position, velocity = truth.state_at(dt_s)
    f = MODELS.transition(np.array([dt_s]))[0]
    model = 1 if rate_deg_s > 0 else 2
    moved = f[model] @ np.array(start_m + velocity_mps)
    np.testing.assert_allclose(moved[:3], position[:, 0], atol=1e-6)
    np.testing.assert_allclose(moved[3:], velocity[:, 0], atol=1e-9)
    np.testing.assert_allclose(f[0][:3, 3:], np.eye(3) * dt_s)  # model 0 is CV


def test_single_model_is_plain_constant_velocity() -> None:
    rng = np.random.default_rng(1)
    x = rng.normal(size=(5, 6)) * 100
    a = rng.normal(size=(5, 6, 6))
    p = a @ a.transpose(0, 2, 1) + np.eye(6)
    dt = rng.uniform(0, 5, size=5)
    cv = MotionModels((0.0,), (2.0,))
    mx, mp, prob = cv.predict(x[:, None], p[:, None], np.ones((5, 1)), dt)
    ex, ep = predict(x, p, dt, 2.0)
    np.testing.assert_allclose(mx[:, 0], ex)
    np.testing.assert_allclose(mp[:, 0], ep)
    np.testing.assert_array_equal(prob, 1.0)


def test_mixing_keeps_probabilities_and_moments() -> None:
    """Predicted model probabilities sum to one, switching grows with the time step, and the
    combined estimate of identical per-model states is that state."""
    pi = MODELS.switching(np.array([0.0, 1.0, 100.0]))
    np.testing.assert_allclose(pi.sum(axis=2), 1.0)
    np.testing.assert_allclose(pi[0], np.eye(3))
    assert pi[1, 0, 0] > pi[2, 0, 0] > 1 / 3 - 1e-3
    x = np.tile(np.arange(6.0), (2, 3, 1))
    p = np.tile(np.eye(6), (2, 3, 1, 1))
    prob = np.array([[0.8, 0.1, 0.1], [0.2, 0.5, 0.3]])
    _, _, c = MODELS.predict(x, p, prob, np.array([2.0, 2.0]))
    np.testing.assert_allclose(c.sum(axis=1), 1.0)
    cx, cp = combine(x, p, prob)
    np.testing.assert_allclose(cx, x[:, 0])
    np.testing.assert_allclose(cp, p[:, 0])
    # spread between the models shows up in the combined covariance
    x[:, 1, 0] += 10.0
    _, cp = combine(x, p, prob)
    assert np.all(cp[:, 0, 0] > 1.0)


def test_posterior_favours_the_likely_model() -> None:
    prior = np.array([[0.5, 0.25, 0.25]])
    post = MODELS.posterior(prior, np.array([[-50.0, -2.0, -900.0]]))
    assert post.argmax() == 1 and post.sum() == pytest.approx(1.0)
