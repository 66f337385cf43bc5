"""Track maintenance, compiled (``maintain``): looks, M-of-N confirmation, deletion at exactly
the configured consecutive misses or past ``confirm_within_looks``, and the divergence guard
(``Tracker.uncertainty_sigmas``). The numpy oracle is the same stages in ``Tracker.step`` and
``Tracker._delete``; succession and the row compaction stay there (they run only when a track
is deleted).

Int table columns: id, looks, history, misses, status, source, truth id, parent.
"""

from __future__ import annotations

import math

import numpy as np
import numpy.typing as npt

from hil.tracking._jit import njit
from hil.tracking.kernels import O_COVARIANCE, O_STATE, O_T_UPDATE, _measure
from hil.tracking.motion import FloatArray

IntArray = npt.NDArray[np.int64]
BoolArray = npt.NDArray[np.bool_]


@njit
def maintain(
    float_table: FloatArray,
    int_table: IntArray,
    rows: IntArray,
    hit: BoolArray,
    expected: BoolArray,
    limits: IntArray,
    max_uncertainty_sigmas: float,
    position_variance: FloatArray,
    t_s: float,
    site: FloatArray,
    north: float,
    elevation: bool,
) -> tuple[BoolArray, int]:
    """After the update of one frame: ``rows`` were visible (one more look each), ``hit[k]``
    says row ``rows[k]`` was updated, ``expected`` (per track) that a detection was expected.
    ``limits``: confirm window, confirm hits, tentative and confirmed consecutive-miss limits,
    confirm-within looks. Returns which tracks are to be deleted and how many were confirmed."""
    window_bits = (1 << limits[0]) - 1
    confirmed_now = 0
    n = int_table.shape[0]
    missed = np.zeros(n, np.bool_)
    for k in range(len(rows)):
        row = rows[k]
        ints = int_table[row]
        ints[1] += 1
        if not (hit[k] or expected[row]):
            continue
        history = (ints[2] << 1) & 0xFFFF_FFFF
        if hit[k]:
            history |= 1
            ints[3] = 0
        else:
            ints[3] += 1
            missed[row] = True
        ints[2] = history
        bits = history & window_bits
        count = 0
        while bits:
            bits &= bits - 1
            count += 1
        if ints[4] == 0 and count >= limits[1]:
            ints[4] = 1
            confirmed_now += 1
    gone = np.zeros(n, np.bool_)
    p_pp = np.empty((3, 3))
    moved = np.empty(6)
    rows_z = 3 if elevation else 2
    z = np.empty(rows_z)
    h = np.empty((rows_z, 6))
    for row in range(n):
        ints = int_table[row]
        confirmed = ints[4] == 1
        limit = limits[3] if confirmed else limits[2]
        stale = (not confirmed) and ints[1] > limits[4]
        gone[row] = ints[3] >= limit or stale
        if not (missed[row] and confirmed and not gone[row]):
            continue
        values = float_table[row]
        dt = t_s - values[O_T_UPDATE]
        cov = values[O_COVARIANCE : O_COVARIANCE + 36].reshape((6, 6))
        for i in range(3):
            for j in range(3):
                p_pp[i, j] = (
                    cov[i, j] + dt * (cov[i, j + 3] + cov[i + 3, j]) + (dt * dt) * cov[i + 3, j + 3]
                )
        for i in range(3):
            moved[i] = values[O_STATE + i] + values[O_STATE + 3 + i] * dt
            moved[i + 3] = values[O_STATE + 3 + i]
        _measure(moved, site, north, elevation, False, z, h)
        total = 0.0
        for i in range(rows_z):
            variance = 0.0
            for a in range(3):
                for b in range(3):
                    variance += h[i, a] * p_pp[a, b] * h[i, b]
            total += variance / position_variance[i]
        gone[row] = math.sqrt(total) > max_uncertainty_sigmas
    return gone, confirmed_now
