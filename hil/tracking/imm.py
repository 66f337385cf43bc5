"""Interacting multiple models for many tracks at once: constant velocity plus coordinated turns.

Each track carries one state per motion model — ``mode_state`` (N, M, 6) ENU position/velocity
(m, m/s), ``mode_covariance`` (N, M, 6, 6) — and the model probabilities ``mode_probability``
(N, M). Model 0 is constant velocity; the others are coordinated turns in the horizontal plane at
fixed rates (rad/s, positive = right turn, i.e. clockwise seen from above, as in ``sim.motion``),
with the vertical channel constant-velocity. Fixed-rate turn models keep every transition linear,
so prediction is a batched matrix product (Bar-Shalom, Li & Kirubarajan, *Estimation with
Applications to Tracking and Navigation*, §11.6).

Tracks are updated at irregular intervals (once per antenna revolution), so the Markov switching
matrix is built per track from its own time step as the exact transition matrix of a
continuous-time chain that leaves each mode at rate ``1 / mean_sojourn_s`` for any other mode
alike: ``P(dt) = J/M + (I − J/M)·exp(−M·dt / ((M − 1)·τ))`` — the identity at ``dt = 0`` and
uniform after a long gap.

With one model (the CV-only tracker) there is nothing to mix and ``predict`` is plain CV.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from hil.tracking.motion import STATE_DIM, FloatArray, process_noise
from hil.tracking.motion import predict as cv_predict


@dataclass(frozen=True, slots=True)
class MotionModels:
    """The model set: turn rates (rad/s, 0 = CV, positive = right turn) and white-noise
    acceleration densities (m²/s³ per axis), one each per model."""

    turn_rates_rad_s: tuple[float, ...]
    process_noise_m2_s3: tuple[float, ...]
    mean_sojourn_s: float = 20.0
    initial_cv_probability: float = 0.8
    vertical: bool = True
    """False for a 2-D sensor's tracks: no process noise on the up axis, so a track's height
    and vertical velocity stay exactly as initiated (the antenna's height, 0 m/s)."""

    def __post_init__(self) -> None:
        if len(self.turn_rates_rad_s) != len(self.process_noise_m2_s3):
            raise ValueError("one process-noise density per motion model")

    @property
    def count(self) -> int:
        return len(self.turn_rates_rad_s)

    def initial_probability(self) -> FloatArray:
        """Model probabilities of a new track (M,): CV first, the turns share the rest."""
        m = self.count
        if m == 1:
            return np.ones(1)
        rest = (1.0 - self.initial_cv_probability) / (m - 1)
        return np.array([self.initial_cv_probability] + [rest] * (m - 1))

    def transition(self, dt_s: FloatArray) -> FloatArray:
        """F per track and model, (N, M, 6, 6), for time steps ``dt_s`` (N,) in seconds."""
        dt = np.asarray(dt_s, dtype=np.float64).reshape(-1, 1)
        # a right turn rotates the horizontal velocity clockwise: counter-clockwise rate −ω
        omega = -np.asarray(self.turn_rates_rad_s)[None, :]
        angle = omega * dt
        sin, cos = np.sin(angle), np.cos(angle)
        turning = np.abs(angle) > 1e-9
        safe = np.where(turning, omega, 1.0)
        sin_over = np.where(turning, sin / safe, dt)  # sin(ωT)/ω → T
        cos_over = np.where(turning, (1.0 - cos) / safe, 0.0)  # (1 − cos ωT)/ω → 0
        f = np.zeros((len(dt), self.count, STATE_DIM, STATE_DIM))
        idx = np.arange(STATE_DIM)
        f[:, :, idx, idx] = 1.0
        f[:, :, 0, 3], f[:, :, 0, 4] = sin_over, -cos_over
        f[:, :, 1, 3], f[:, :, 1, 4] = cos_over, sin_over
        f[:, :, 3, 3], f[:, :, 3, 4] = cos, -sin
        f[:, :, 4, 3], f[:, :, 4, 4] = sin, cos
        f[:, :, 2, 5] = dt
        return f

    def switching(self, dt_s: FloatArray) -> FloatArray:
        """Markov matrix per track (N, M, M): entry [i, j] = P(model j now | model i before)."""
        dt = np.asarray(dt_s, dtype=np.float64).reshape(-1)
        m = self.count
        if m == 1:
            return np.ones((len(dt), 1, 1))
        decay = np.exp(-m * np.maximum(dt, 0.0) / ((m - 1) * self.mean_sojourn_s))
        pi = np.broadcast_to(((1.0 - decay) / m)[:, None, None], (len(dt), m, m)).copy()
        diagonal = np.arange(m)
        pi[:, diagonal, diagonal] = (1.0 / m + (1.0 - 1.0 / m) * decay)[:, None]
        return pi

    def predict(
        self,
        mode_state: FloatArray,
        mode_covariance: FloatArray,
        mode_probability: FloatArray,
        dt_s: FloatArray,
    ) -> tuple[FloatArray, FloatArray, FloatArray]:
        """Mix and predict every track by its own ``dt_s``: returns the predicted per-model
        states (N, M, 6), covariances (N, M, 6, 6) and model probabilities (N, M)."""
        dt = np.asarray(dt_s, dtype=np.float64).reshape(-1)
        if self.count == 1:  # constant velocity alone: nothing to mix, the fast CV prediction
            x, p = cv_predict(
                mode_state[:, 0],
                mode_covariance[:, 0],
                dt,
                self.process_noise_m2_s3[0],
                self.vertical,
            )
            return x[:, None], p[:, None], mode_probability
        else:
            pi = self.switching(dt)
            c = np.einsum("ni,nij->nj", mode_probability, pi)
            c = np.maximum(c, 1e-300)
            weight = mode_probability[:, :, None] * pi / c[:, None, :]  # [n, i, j] = μ_{i|j}
            x0 = np.einsum("nij,nik->njk", weight, mode_state)
            d = mode_state[:, :, None, :] - x0[:, None, :, :]  # [n, i, j, :]
            p0 = np.einsum("nij,nikl->njkl", weight, mode_covariance) + np.einsum(
                "nij,nijk,nijl->njkl", weight, d, d
            )
        f = self.transition(dt)
        q = np.stack(
            [process_noise(dt, q_m, self.vertical) for q_m in self.process_noise_m2_s3], axis=1
        )
        x = np.einsum("nmij,nmj->nmi", f, x0)
        p = f @ p0 @ f.transpose(0, 1, 3, 2) + q
        return x, 0.5 * (p + p.transpose(0, 1, 3, 2)), c

    @staticmethod
    def posterior(prior: FloatArray, log_likelihood: FloatArray) -> FloatArray:
        """Model probabilities (N, M) after an update with per-model log-likelihoods (N, M)."""
        shifted = log_likelihood - log_likelihood.max(axis=1, keepdims=True)
        weight = prior * np.exp(shifted)
        return np.asarray(weight / weight.sum(axis=1, keepdims=True))


def combine(
    mode_state: FloatArray, mode_covariance: FloatArray, probability: FloatArray
) -> tuple[FloatArray, FloatArray]:
    """Moment-matched single estimate (N, 6), (N, 6, 6) of each track's model mixture."""
    if mode_state.shape[1] == 1:
        return mode_state[:, 0], mode_covariance[:, 0]
    x = np.einsum("nm,nmi->ni", probability, mode_state)
    d = mode_state - x[:, None, :]
    p = np.einsum("nm,nmij->nij", probability, mode_covariance) + np.einsum(
        "nm,nmi,nmj->nij", probability, d, d
    )
    return x, 0.5 * (p + p.transpose(0, 2, 1))


def gaussian_log_likelihood(mahalanobis2: FloatArray, covariance: FloatArray) -> FloatArray:
    """log N(y; 0, S) up to the constant −m/2·log 2π, from yᵀS⁻¹y and S (…, m, m)."""
    _, logdet = np.linalg.slogdet(covariance)
    return np.asarray(-0.5 * (mahalanobis2 + logdet))


__all__ = ["MotionModels", "combine", "gaussian_log_likelihood"]
