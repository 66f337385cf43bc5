"""The launcher's engagement solution: a constant-velocity intercept.

The interceptor is modelled as flying a straight line from the launcher at a constant mean
speed ``s``; the target keeps its track velocity. The intercept time ``t`` is the smallest
positive root of ``|r + v·t| = s·t`` (``r`` target position relative to the launcher, ``v``
target velocity, ENU m and m/s), and the launcher points at ``r + v·t`` (lead). There is no
solution when the quadratic has no positive root (a receding target faster than the
interceptor), or when the intercept lies outside the rig's limits: time of flight, intercept
range, elevation. Bearings are clockwise from north in [0, 2π); elevations up from the horizon.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from hil.config.fire_control import FireControlConfig

FloatArray = npt.NDArray[np.float64]


@dataclass(frozen=True, slots=True)
class Solution:
    valid: bool
    reason: str
    """Why there is no solution ("" when valid)."""
    az_rad: float = math.nan
    el_rad: float = math.nan
    time_of_flight_s: float = math.nan
    intercept_enu_m: tuple[float, float, float] = (math.nan, math.nan, math.nan)
    intercept_range_m: float = math.nan


def intercept_time_s(relative_m: FloatArray, velocity_mps: FloatArray, speed_mps: float) -> float:
    """Smallest positive t with |r + v t| = s t, or NaN if none (s > 0)."""
    a = float(velocity_mps @ velocity_mps) - speed_mps**2
    b = 2.0 * float(relative_m @ velocity_mps)
    c = float(relative_m @ relative_m)
    if abs(a) < 1e-9:  # target as fast as the interceptor: linear equation
        return -c / b if b < 0 else math.nan
    disc = b * b - 4.0 * a * c
    if disc < 0:
        return math.nan
    root = math.sqrt(disc)
    # numerically stable pair of roots
    q = -0.5 * (b + math.copysign(root, b))
    roots = [t for t in (q / a, c / q if q != 0 else math.nan) if t > 0 and math.isfinite(t)]
    return min(roots) if roots else math.nan


def solve(
    launcher_enu_m: FloatArray,
    target_enu_m: FloatArray,
    target_velocity_enu_mps: FloatArray,
    config: FireControlConfig,
) -> Solution:
    """Pointing with lead for one track (ENU m, m/s), checked against the rig's limits."""
    relative = np.asarray(target_enu_m, dtype=np.float64) - np.asarray(launcher_enu_m)
    velocity = np.asarray(target_velocity_enu_mps, dtype=np.float64)
    t = intercept_time_s(relative, velocity, config.interceptor_speed_mps)
    if not math.isfinite(t):
        return Solution(False, "no intercept: the interceptor cannot catch the target")
    aim = relative + velocity * t
    east, north, up = (float(v) for v in aim)
    az = math.atan2(east, north) % (2.0 * math.pi)
    el = math.atan2(up, math.hypot(east, north))
    distance = math.sqrt(east * east + north * north + up * up)
    point = tuple(float(v) for v in aim + np.asarray(launcher_enu_m))
    result = Solution(True, "", az, el, t, (point[0], point[1], point[2]), distance)
    lo_range, hi_range = config.intercept_range_m
    lo_el, hi_el = (math.radians(v) for v in config.elevation_limits_deg)
    if t > config.max_time_of_flight_s:
        return _invalid(result, f"time of flight {t:.1f} s > {config.max_time_of_flight_s} s")
    if not lo_range <= distance <= hi_range:
        return _invalid(
            result, f"intercept at {distance:.0f} m is outside [{lo_range:.0f}, {hi_range:.0f}] m"
        )
    if not lo_el <= el <= hi_el:
        return _invalid(
            result,
            f"elevation {math.degrees(el):.1f}° is outside "
            f"[{config.elevation_limits_deg[0]}, {config.elevation_limits_deg[1]}]°",
        )
    return result


def _invalid(solution: Solution, reason: str) -> Solution:
    return Solution(
        False,
        reason,
        solution.az_rad,
        solution.el_rad,
        solution.time_of_flight_s,
        solution.intercept_enu_m,
        solution.intercept_range_m,
    )
