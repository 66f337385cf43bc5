"""The radar's polar measurement model and a batched extended Kalman update.

Measurement vector ``z = [range_m, az_rad, el_rad, vr_mps]`` as the radar ICD reports it: slant
range and radial velocity (+ receding) from the antenna phase centre, azimuth in the turntable
frame (bearing − north alignment, wrapped to (−π, π]) and elevation above the horizontal. The
radial velocity row is left out when a frame has none (``with_velocity=False``), the elevation
row for a 2-D sensor (``PolarSensor(elevation=False)``): m = 2, 3 or 4 rows, in that order.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from hil.tracking.geometry import wrap_pi
from hil.tracking.motion import STATE_DIM, FloatArray


@dataclass(frozen=True, slots=True)
class PolarSensor:
    """Where the antenna is — ENU position (m) and the turntable's north alignment (rad) — and
    what it measures.

    ``elevation`` False declares a 2-D radar (range and azimuth only): its targets are taken to
    be at the antenna's height, so range is horizontal range, and its tracks keep ``up`` at the
    antenna's height with zero vertical velocity and zero vertical variance (nothing is invented
    for a coordinate the sensor cannot see)."""

    position_enu_m: tuple[float, float, float] = (0.0, 0.0, 0.0)
    north_alignment_rad: float = 0.0
    elevation: bool = True

    @property
    def position_dims(self) -> int:
        """Measured position coordinates: 3 (range, azimuth, elevation) or 2 (no elevation)."""
        return 3 if self.elevation else 2

    def predict_measurement(
        self, state: FloatArray, with_velocity: bool = True
    ) -> tuple[FloatArray, FloatArray]:
        """h(x) (N, m) and its Jacobian H (N, m, 6) for states (N, 6). Rows: range, azimuth,
        elevation (if measured), radial velocity (if ``with_velocity``); m = 2 to 4."""
        d = state[:, :3] - np.asarray(self.position_enu_m)
        v = state[:, 3:]
        e, n, u = d[:, 0], d[:, 1], d[:, 2]
        rho2 = np.maximum(e * e + n * n, 1e-12)
        rho = np.sqrt(rho2)
        r2 = rho2 + u * u
        r = np.sqrt(r2)
        rows = self.position_dims + (1 if with_velocity else 0)
        z = np.empty((len(state), rows))
        jac = np.zeros((len(state), rows, STATE_DIM))
        z[:, 0] = r
        z[:, 1] = wrap_pi(np.arctan2(e, n) - self.north_alignment_rad)
        jac[:, 0, :3] = d / r[:, None]
        jac[:, 1, 0] = n / rho2
        jac[:, 1, 1] = -e / rho2
        if self.elevation:
            z[:, 2] = np.arctan2(u, rho)
            jac[:, 2, 0] = -e * u / (r2 * rho)
            jac[:, 2, 1] = -n * u / (r2 * rho)
            jac[:, 2, 2] = rho / r2
        if with_velocity:
            row = rows - 1
            rate = np.einsum("ij,ij->i", d, v) / r
            z[:, row] = rate
            jac[:, row, :3] = (v - rate[:, None] * d / r[:, None]) / r[:, None]
            jac[:, row, 3:] = d / r[:, None]
        return z, jac


def innovation(z: FloatArray, z_predicted: FloatArray) -> FloatArray:
    """z − h(x) with the azimuth residual wrapped to (−π, π]."""
    y = z - z_predicted
    y[..., 1] = wrap_pi(y[..., 1])
    return y


def mahalanobis2(y: FloatArray, s: FloatArray) -> FloatArray:
    """yᵀ S⁻¹ y for each row of residuals (K, m) and covariances (K, m, m)."""
    return np.asarray(np.einsum("ki,ki->k", y, np.linalg.solve(s, y[..., None])[..., 0]))


CONVERGED_M = 0.25
"""Iterated EKF: stop when the next re-linearisation would move the estimate by less than
this (m) — a twentieth of the range noise."""
LOOSE_PRIOR_SIGMAS = 3.0
"""Iterated EKF: re-linearise only rows whose prior spans more than this many measurement
standard deviations (√(tr(R⁻¹ H P Hᵀ)), RSS over the measured coordinates). A settled track's
prediction spans one or two: its first linearisation point is already as good as the data can
tell, and the benchmark shows re-linearising it only moves the estimate towards the single
newest detection (a hair worse than the plain EKF in steady state)."""


@dataclass(frozen=True, slots=True)
class UpdateResult:
    state: FloatArray
    covariance: FloatArray
    innovation: FloatArray
    innovation_covariance: FloatArray
    mahalanobis2: FloatArray
    """yᵀ S⁻¹ y per update (χ² with m degrees of freedom when the model is right)."""


def ekf_update(
    state: FloatArray,
    covariance: FloatArray,
    z: FloatArray,
    noise: FloatArray,
    sensor: PolarSensor,
    iterations: int = 1,
    linearised: tuple[FloatArray, FloatArray] | None = None,
) -> UpdateResult:
    """Update K tracks with one measurement each (rows paired): states (K, 6), covariances
    (K, 6, 6), measurements (K, m), measurement noise (m, m) or (K, m, m). Joseph form.

    ``iterations`` > 1 makes it an iterated EKF (Gauss-Newton on the measurement model): it
    re-linearises at the updated state, which matters when the prior is loose compared with
    the measurement — e.g. a track's second look, seconds after a first detection that left
    its cross-range velocity unknown. Only such rows iterate (``LOOSE_PRIOR_SIGMAS``).
    ``linearised``: h(x) and H at ``state`` if the caller has them already (the gate does).
    """
    m = z.shape[1]
    k = len(state)
    r = np.broadcast_to(noise, (k, m, m))
    site = np.asarray(sensor.position_enu_m)
    x = state.copy()
    h_all = np.empty((k, m, STATE_DIM))
    gain_all = np.empty((k, STATE_DIM, m))
    y0 = s0 = None
    active = np.arange(k)  # rows still iterating
    for _ in range(max(iterations, 1)):
        every = len(active) == k
        x_i = x if every else x[active]
        prior = state if every else state[active]
        p = covariance if every else covariance[active]
        if linearised is not None and every and y0 is None:
            z_hat, h = linearised
        else:
            z_hat, h = sensor.predict_measurement(x_i, with_velocity=m > sensor.position_dims)
        y = innovation(z if every else z[active], z_hat)
        ph_t = p @ h.transpose(0, 2, 1)
        s = h @ ph_t + (r if every else r[active])
        s = 0.5 * (s + s.transpose(0, 2, 1))
        loose = None
        if y0 is None:  # the innovation and its covariance at the prior, for gating and NIS
            y0, s0 = y.copy(), s
            # spread of the prior in measurement σ: tr(R⁻¹ (S − R)) = tr(R⁻¹ S) − m
            r_diag = np.diagonal(r, axis1=1, axis2=2)
            spread2 = (np.diagonal(s, axis1=1, axis2=2) / r_diag).sum(axis=1) - m
            loose = spread2 > LOOSE_PRIOR_SIGMAS**2
        gain = np.linalg.solve(s, ph_t.transpose(0, 2, 1)).transpose(0, 2, 1)  # P Hᵀ S⁻¹
        # Gauss-Newton step from the prior, linearised at the current iterate
        correction = y + np.einsum("kij,kj->ki", h, x_i - prior)
        x_next = prior + np.einsum("kij,kj->ki", gain, correction)
        # a row stops once re-linearising cannot matter: the model's second-order term over
        # the step is about |Δposition|² / range (m), negligible next to any measurement noise
        step = x_next[:, :3] - x_i[:, :3]
        slant = np.maximum(np.linalg.norm(x_i[:, :3] - site, axis=1), 1.0)
        moving = np.einsum("ki,ki->k", step, step) / slant >= CONVERGED_M
        if loose is not None:
            moving &= loose
        h_all[active], gain_all[active], x[active] = h, gain, x_next  # (x_i may alias x)
        active = active[moving]
        if not len(active):
            break
    assert y0 is not None and s0 is not None
    x_i, h, gain = x, h_all, gain_all
    i_kh = np.eye(STATE_DIM) - gain @ h
    new_cov = i_kh @ covariance @ i_kh.transpose(0, 2, 1) + gain @ r @ gain.transpose(0, 2, 1)
    d2 = mahalanobis2(y0, s0)
    return UpdateResult(x_i, 0.5 * (new_cov + new_cov.transpose(0, 2, 1)), y0, s0, d2)
