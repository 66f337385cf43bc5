"""The launcher's engagement solution: a constant-velocity intercept.

The interceptor is modelled as flying a straight line from the launcher at a constant mean
speed ``s``; the target keeps its track velocity. The intercept time ``t`` is the smallest
positive root of ``|r + v·t| = s·t`` (``r`` target position relative to the launcher, ``v``
target velocity, ENU m and m/s), and the launcher points at ``r + v·t`` (lead). There is no
solution when the quadratic has no positive root (a receding target faster than the
interceptor, or a meeting beyond ``MAX_INTERCEPT_TIME_S``), or when the intercept lies outside
the rig's limits: time of flight, intercept range, elevation. Bearings are clockwise from north
in [0, 2π); elevations up from the horizon.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from hil.config.fire_control import FireControlConfig
from sim import portable

FloatArray = npt.NDArray[np.float64]

MAX_INTERCEPT_TIME_S = 3600.0
"""No interceptor flies an hour: a meeting later than this is no solution, whatever the rig's
``max_time_of_flight_s``. Near-degenerate geometry (an equal-speed tail chase with a vanishing
closing rate) gives roots of any size, up to 1e255 s, that are rounding noise, not intercepts."""


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


def intercept_time_s(
    relative_m: Sequence[float] | FloatArray,
    velocity_mps: Sequence[float] | FloatArray,
    speed_mps: float,
) -> float:
    """Smallest positive t with |r + v t| = s t, or NaN if none within ``MAX_INTERCEPT_TIME_S``
    (s > 0). Plain floats: this runs every loop cycle for the engaged track."""
    rx, ry, rz = (float(v) for v in relative_m)
    vx, vy, vz = (float(v) for v in velocity_mps)
    return _intercept_time(rx, ry, rz, vx, vy, vz, speed_mps)


def _intercept_time(
    rx: float, ry: float, rz: float, vx: float, vy: float, vz: float, speed_mps: float
) -> float:
    """``intercept_time_s`` on plain floats."""
    a = vx * vx + vy * vy + vz * vz - speed_mps**2
    b = 2.0 * (rx * vx + ry * vy + rz * vz)
    c = rx * rx + ry * ry + rz * rz
    if abs(a) < 1e-9:  # target as fast as the interceptor: linear equation
        t = -c / b if b < 0 else math.nan
        return t if 0 < t <= MAX_INTERCEPT_TIME_S else math.nan  # equal-speed tail chase: never
    disc = b * b - 4.0 * a * c
    if disc < 0:
        return math.nan
    root = math.sqrt(disc)
    # numerically stable pair of roots
    q = -0.5 * (b + math.copysign(root, b))
    roots = [t for t in (q / a, c / q if q != 0 else math.nan) if 0 < t <= MAX_INTERCEPT_TIME_S]
    return min(roots) if roots else math.nan


def _floats(vector: FloatArray | Sequence[float]) -> list[float]:
    """A 3-vector as Python floats (the same values; ``tolist`` is the cheap way)."""
    if isinstance(vector, np.ndarray):
        values: list[float] = vector.tolist()
        return values
    if isinstance(vector, list) and all(type(v) is float for v in vector):
        return vector
    return [float(v) for v in vector]


def feasible(
    launcher_enu_m: FloatArray,
    target_enu_m: FloatArray,
    target_velocity_enu_mps: FloatArray,
    config: FireControlConfig,
) -> npt.NDArray[np.bool_]:
    """For many tracks at once (K, 3) m and m/s: which have a valid solution — the same test
    as ``solve(...).valid``, batched, for screening threats every cycle."""
    r = np.asarray(target_enu_m, dtype=np.float64) - np.asarray(launcher_enu_m)
    v = np.asarray(target_velocity_enu_mps, dtype=np.float64)
    s = config.interceptor_speed_mps
    a = np.einsum("ki,ki->k", v, v) - s * s
    b = 2.0 * np.einsum("ki,ki->k", r, v)
    c = np.einsum("ki,ki->k", r, r)
    disc = b * b - 4.0 * a * c
    root = np.sqrt(np.maximum(disc, 0.0))
    with np.errstate(all="ignore"):
        q = -0.5 * (b + np.copysign(root, b))
        t1, t2 = q / a, c / q
        linear = np.where(b < 0, -c / b, np.nan)
    candidates = np.stack((t1, t2))
    candidates[~((candidates > 0) & (candidates <= MAX_INTERCEPT_TIME_S))] = np.inf
    linear[~((linear > 0) & (linear <= MAX_INTERCEPT_TIME_S))] = np.inf
    t = np.where(np.abs(a) < 1e-9, linear, candidates.min(axis=0))
    t = np.where((disc < 0) & (np.abs(a) >= 1e-9), np.inf, t)
    ok = np.isfinite(t) & (t > 0) & (t <= config.max_time_of_flight_s)
    aim = r + v * np.where(ok, t, 0.0)[:, None]
    distance = np.linalg.norm(aim, axis=1)
    elevation = portable.arctan2(aim[:, 2], np.hypot(aim[:, 0], aim[:, 1]))
    lo_range, hi_range = config.intercept_range_m
    lo_el, hi_el = np.radians(config.elevation_limits_deg)
    ok &= (lo_range <= distance) & (distance <= hi_range)
    ok &= (lo_el <= elevation) & (elevation <= hi_el)
    return np.asarray(ok)


def solve(
    launcher_enu_m: FloatArray | Sequence[float],
    target_enu_m: FloatArray | Sequence[float],
    target_velocity_enu_mps: FloatArray | Sequence[float],
    config: FireControlConfig,
) -> Solution:
    """Pointing with lead for one track (ENU m, m/s), checked against the rig's limits.
    Plain floats or arrays: the loop passes a track's row as floats (``tolist``)."""
    lx, ly, lz = _floats(launcher_enu_m)
    px, py, pz = _floats(target_enu_m)
    vx, vy, vz = _floats(target_velocity_enu_mps)
    relative = (px - lx, py - ly, pz - lz)
    t = _intercept_time(*relative, vx, vy, vz, config.interceptor_speed_mps)
    if not math.isfinite(t):
        return _NO_INTERCEPT
    east, north, up = relative[0] + vx * t, relative[1] + vy * t, relative[2] + vz * t
    az = math.atan2(east, north) % (2.0 * math.pi)
    el = math.atan2(up, math.hypot(east, north))
    distance = math.sqrt(east * east + north * north + up * up)
    result = Solution(True, "", az, el, t, (east + lx, north + ly, up + lz), distance)
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


_NO_INTERCEPT = Solution(False, "no intercept: the interceptor cannot catch the target")


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
