"""Angle and polar-to-ENU helpers of the tracker, the same formulas as ``sim.coordinates`` (kept
here so that ``hil.tracking`` loads nothing outside itself, numpy, scipy and numba; a test holds
the two to the same bits).

ENU: east, north, up (m) from the rig origin; bearing: rad clockwise from true north; elevation:
rad above the horizontal.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np
import numpy.typing as npt

from hil.tracking.motion import FloatArray

TWO_PI = 2.0 * np.pi


def wrap_pi(angle_rad: npt.ArrayLike) -> FloatArray:
    """Wrap angles to (−π, π] radians."""
    a = np.asarray(angle_rad, dtype=np.float64)
    return np.pi - np.mod(np.pi - a, TWO_PI)


def polar_to_enu(
    range_m: npt.ArrayLike, bearing_rad: npt.ArrayLike, elevation_rad: npt.ArrayLike
) -> FloatArray:
    """Slant range (m), bearing (rad, cw from north), elevation (rad) → ENU offsets (…, 3), m."""
    r = np.asarray(range_m, dtype=np.float64)
    b = np.asarray(bearing_rad, dtype=np.float64)
    el = np.asarray(elevation_rad, dtype=np.float64)
    horizontal = r * _libm(math.cos, el)
    return np.stack(
        (horizontal * _libm(math.sin, b), horizontal * _libm(math.cos, b), r * _libm(math.sin, el)),
        axis=-1,
    )


def _libm(function: Callable[[float], float], x: FloatArray) -> FloatArray:
    """``function`` (the C library's, through ``math``) elementwise: numpy's own ``sin`` and
    ``cos`` are chosen by the CPU at run time (SVML's on AVX-512) and differ in the last bits
    from machine to machine; ``sim.portable`` does the same for the models."""
    values = np.fromiter(map(function, x.ravel().tolist()), np.float64, x.size)
    return values.reshape(x.shape)
