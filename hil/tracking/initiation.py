"""Initiation: a tentative track per free detection, compiled (``initiate``); the numpy oracle
is ``Tracker._initiate``.

Position from the measurement, with its covariance exact in the measurement's own axes (range
along the line of sight, azimuth across it horizontally, elevation across it vertically);
velocity unknown (``initial_speed_sigma_mps`` per axis) except its radial part when measured.
A 2-D sensor's tracks get no vertical variance. ENU metres and m/s; angles rad.
"""

from __future__ import annotations

import math

import numpy as np
import numpy.typing as npt

from hil.tracking._jit import njit
from hil.tracking.kernels import O_COVARIANCE, O_PROBABILITY, O_STATE, O_T_UPDATE, _fill2
from hil.tracking.motion import FloatArray

IntArray = npt.NDArray[np.int64]


@njit
def initiate(
    float_table: FloatArray,
    int_table: IntArray,
    start: int,
    z: FloatArray,
    free: IntArray,
    t_s: float,
    site: FloatArray,
    north: float,
    elevation: bool,
    velocity: bool,
    sigmas: FloatArray,
    initial_probability: FloatArray,
    first_id: int,
    source: IntArray,
    truth_id: IntArray,
    parent: IntArray,
) -> None:
    """Write one new tentative track per detection ``free[k]`` of ``z`` (rows of range, az(,
    el)(, vr)) into rows ``start + k`` of the tables (capacity ensured by the caller), ids from
    ``first_id``. ``sigmas``: range (m), azimuth, elevation (rad), radial velocity, initial
    speed (m/s); ``source``/``truth_id``/``parent`` per free detection."""
    m = len(initial_probability)
    o_mstate = O_PROBABILITY + m
    o_mcov = o_mstate + 6 * m
    s_r, s_az, s_el, s_vr, s_speed = sigmas[0], sigmas[1], sigmas[2], sigmas[3], sigmas[4]
    speed = s_speed**2
    radial = s_vr**2 if velocity else speed
    unit = np.empty(3)
    across_az = np.empty(3)
    across_el = np.empty(3)
    for k in range(len(free)):
        d = free[k]
        row = float_table[start + k]
        r = z[d, 0]
        bearing = z[d, 1] + north
        el = z[d, 2] if elevation else 0.0
        horizontal = math.cos(el)
        unit[0] = horizontal * math.sin(bearing)
        unit[1] = horizontal * math.cos(bearing)
        unit[2] = math.sin(el)
        vr = z[d, z.shape[1] - 1] if velocity else 0.0
        for i in range(3):
            row[O_STATE + i] = site[i] + unit[i] * r
            row[O_STATE + 3 + i] = unit[i] * vr if velocity else 0.0
        sin_b, cos_b = math.sin(bearing), math.cos(bearing)
        across_az[0], across_az[1], across_az[2] = cos_b, -sin_b, 0.0
        horizontal_r = r * math.cos(el)
        cov = row[O_COVARIANCE : O_COVARIANCE + 36].reshape((6, 6))
        _fill2(cov, 0.0)
        for i in range(3):
            for j in range(3):
                cov[i, j] = (s_r**2 * (unit[i] * unit[j])) + (horizontal_r * s_az) ** 2 * (
                    across_az[i] * across_az[j]
                )
        if elevation:
            sin_e = math.sin(el)
            across_el[0], across_el[1], across_el[2] = -sin_e * sin_b, -sin_e * cos_b, math.cos(el)
            for i in range(3):
                for j in range(3):
                    cov[i, j] += (r * s_el) ** 2 * (across_el[i] * across_el[j])
        for i in range(3):
            for j in range(3):
                eye = 1.0 if (i == j and (elevation or i < 2)) else 0.0
                cov[3 + i, 3 + j] = speed * eye + (radial - speed) * (unit[i] * unit[j])
        row[O_T_UPDATE] = t_s
        for j in range(m):
            row[O_PROBABILITY + j] = initial_probability[j]
            for i in range(6):
                row[o_mstate + 6 * j + i] = row[O_STATE + i]
            for i in range(36):
                row[o_mcov + 36 * j + i] = row[O_COVARIANCE + i]
        ints = int_table[start + k]
        ints[0] = first_id + k
        ints[1] = 0  # looks
        ints[2] = 1  # history: detected in its first look
        ints[3] = 0  # misses
        ints[4] = 0  # TENTATIVE
        ints[5] = source[k]
        ints[6] = truth_id[k]
        ints[7] = parent[k]
