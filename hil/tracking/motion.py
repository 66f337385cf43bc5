"""Constant-velocity motion for many tracks at once.

State per track: ``[e, n, u, ve, vn, vu]`` in the rig's ENU frame (metres, m/s); states are (N, 6)
arrays and covariances (N, 6, 6). Process noise is the discretised white-noise-acceleration
model with spectral density ``q`` (m²/s³) per axis.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

FloatArray = npt.NDArray[np.float64]
STATE_DIM = 6
_HORIZONTAL = np.diag([1.0, 1.0, 0.0])


def transition(dt_s: FloatArray) -> FloatArray:
    """F for each track's time step ``dt_s`` (N,) → (N, 6, 6)."""
    dt = np.asarray(dt_s, dtype=np.float64).reshape(-1)
    f = np.broadcast_to(np.eye(STATE_DIM), (len(dt), STATE_DIM, STATE_DIM)).copy()
    for axis in range(3):
        f[:, axis, axis + 3] = dt
    return f


def process_noise(
    dt_s: FloatArray, q_m2_s3: float | FloatArray, vertical: bool = True
) -> FloatArray:
    """Q for each time step (N, 6, 6): white-noise acceleration of density ``q`` per axis
    (east and north only when ``vertical`` is False: a 2-D sensor's tracks hold their height)."""
    dt = np.asarray(dt_s, dtype=np.float64).reshape(-1)
    q = np.broadcast_to(np.asarray(q_m2_s3, dtype=np.float64), dt.shape)
    block = np.empty((len(dt), 2, 2))
    block[:, 0, 0] = q * dt**3 / 3.0
    block[:, 0, 1] = block[:, 1, 0] = q * dt**2 / 2.0
    block[:, 1, 1] = q * dt
    out = np.zeros((len(dt), STATE_DIM, STATE_DIM))
    for axis in range(3 if vertical else 2):
        index = np.array([axis, axis + 3])
        out[:, index[:, None], index[None, :]] = block
    return out


def predict(
    state: FloatArray,
    covariance: FloatArray,
    dt_s: FloatArray,
    q_m2_s3: float | FloatArray,
    vertical: bool = True,
) -> tuple[FloatArray, FloatArray]:
    """Predict every track forward by its own ``dt_s`` (N,): returns new (N, 6), (N, 6, 6).
    ``vertical`` False: no process noise on the up axis (see ``process_noise``).

    Written on the 3×3 blocks of P = [[Ppp, Ppv], [Pvp, Pvv]] rather than as F P Fᵀ + Q: the
    same result (``transition``/``process_noise`` are the reference) in a third of the time,
    which matters on the loop's per-dwell hot path.
    """
    dt = np.asarray(dt_s, dtype=np.float64).reshape(-1)
    moved = state.copy()
    moved[:, :3] += state[:, 3:] * dt[:, None]
    d = dt[:, None, None]
    q = np.broadcast_to(np.asarray(q_m2_s3, dtype=np.float64), dt.shape)[:, None, None]
    p_pp, p_pv = covariance[:, :3, :3], covariance[:, :3, 3:]
    p_vp, p_vv = covariance[:, 3:, :3], covariance[:, 3:, 3:]
    eye = np.eye(3) if vertical else _HORIZONTAL
    out = np.empty_like(covariance)
    out[:, :3, :3] = p_pp + d * (p_pv + p_vp) + (d * d) * p_vv + (q * d**3 / 3.0) * eye
    cross = (q * d * d / 2.0) * eye
    out[:, :3, 3:] = p_pv + d * p_vv + cross
    out[:, 3:, :3] = p_vp + d * p_vv + cross
    out[:, 3:, 3:] = p_vv + (q * d) * eye
    return moved, out  # symmetric whenever the input is (the filter keeps it so)
