"""Coordinate frames and angle helpers.

- **ENU**: the rig's local east-north-up Cartesian frame; x east, y north, z up; metres.
- **Bearing**: horizontal direction, radians clockwise from true north (compass convention), as
  the radar ICD uses for azimuth.
- **Turntable azimuth**: bearing measured from the turntable's zero mark, which points at the true
  bearing ``north_alignment_rad``: ``turntable_az = bearing - north_alignment_rad``.
- **Elevation**: radians above the local horizontal plane.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from sim import portable

FloatArray = npt.NDArray[np.float64]
TWO_PI = 2.0 * np.pi


def wrap_pi(angle_rad: npt.ArrayLike) -> FloatArray:
    """Wrap angles to (−π, π] radians, the ICD's detection-azimuth interval."""
    a = np.asarray(angle_rad, dtype=np.float64)
    return np.pi - np.mod(np.pi - a, TWO_PI)


def wrap_two_pi(angle_rad: npt.ArrayLike) -> FloatArray:
    """Wrap angles to [0, 2π) radians, the ICD's antenna-azimuth interval."""
    a = np.mod(np.asarray(angle_rad, dtype=np.float64), TWO_PI)
    # float modulo of a tiny negative number rounds up to exactly 2π
    return np.where(a >= TWO_PI, 0.0, a)


def enu_to_polar(delta_enu_m: FloatArray) -> tuple[FloatArray, FloatArray, FloatArray]:
    """ENU offsets (…, 3) in metres → slant range (m), bearing and elevation (rad)."""
    e = delta_enu_m[..., 0]
    n = delta_enu_m[..., 1]
    u = delta_enu_m[..., 2]
    horizontal = np.hypot(e, n)
    return np.hypot(horizontal, u), portable.arctan2(e, n), portable.arctan2(u, horizontal)


def polar_to_enu(
    range_m: npt.ArrayLike, bearing_rad: npt.ArrayLike, elevation_rad: npt.ArrayLike
) -> FloatArray:
    """Slant range (m), bearing (rad, cw from north), elevation (rad) → ENU offsets (…, 3), m."""
    r = np.asarray(range_m, dtype=np.float64)
    b = np.asarray(bearing_rad, dtype=np.float64)
    el = np.asarray(elevation_rad, dtype=np.float64)
    horizontal = r * portable.cos(el)
    return np.stack(
        (horizontal * portable.sin(b), horizontal * portable.cos(b), r * portable.sin(el)), axis=-1
    )
