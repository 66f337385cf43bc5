"""The threat screen as one compiled pass over the track picture.

What ``Engagement`` asks every ``threat_evaluation_interval_s`` while idle: of the confirmed
tracks, the rows that are threats (``threat.order_threats``), in their order of urgency (time
to closest approach, then range, then id), kept only if fresh and settled (track age and
velocity σ within the limits) and with a valid intercept solution by the batched test
(``solution.feasible``). The numpy functions in ``threat`` and ``solution`` are the oracle this
kernel is tested against (``tests/test_fire_control_screen.py``: identical rows, figures within
1e-9 relative). Positions ENU (m), velocities ENU (m/s), times s, angles rad.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from hil.config.fire_control import FireControlConfig
from hil.fire_control.solution import MAX_INTERCEPT_TIME_S
from hil.tracking._jit import njit

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]


@dataclass(frozen=True, slots=True)
class ScreenLimits:
    """The configuration's numbers the screen needs, in SI units (built once per engagement)."""

    defended_point_enu_m: FloatArray
    launcher_enu_m: FloatArray
    max_threat_range_m: float
    max_miss_distance_m: float
    exclude_receding: bool
    max_track_age_s: float
    max_velocity_sigma_mps: float
    interceptor_speed_mps: float
    max_time_of_flight_s: float
    range_min_m: float
    range_max_m: float
    el_min_rad: float
    el_max_rad: float

    @classmethod
    def of(
        cls, config: FireControlConfig, launcher_enu_m: tuple[float, float, float]
    ) -> ScreenLimits:
        lo_el, hi_el = np.radians(config.elevation_limits_deg)
        return cls(
            np.asarray(config.defended_point_enu_m, dtype=np.float64),
            np.asarray(launcher_enu_m, dtype=np.float64),
            float(config.max_threat_range_m),
            float(config.max_miss_distance_m),
            bool(config.exclude_receding),
            float(config.max_track_age_s),
            float(config.max_velocity_sigma_mps),
            float(config.interceptor_speed_mps),
            float(config.max_time_of_flight_s),
            float(config.intercept_range_m[0]),
            float(config.intercept_range_m[1]),
            float(lo_el),
            float(hi_el),
        )


@dataclass(frozen=True, slots=True)
class Screen:
    """``rows``: the picture's rows worth engaging, most urgent first; per input row the time
    to CPA (s, ≥ 0), miss distance (m) and range (m) to the defended point."""

    rows: IntArray
    time_to_cpa_s: FloatArray
    miss_distance_m: FloatArray
    range_m: FloatArray


def screen(
    ids: IntArray,
    position_enu_m: FloatArray,
    velocity_enu_mps: FloatArray,
    age_s: FloatArray,
    velocity_sigma_mps: FloatArray,
    limits: ScreenLimits,
) -> Screen:
    """Screen tracks (K,) with positions and velocities (K, 3) (see the module doc)."""
    rows, t_cpa, miss, distance = _screen(
        np.ascontiguousarray(ids, dtype=np.int64),
        np.ascontiguousarray(position_enu_m, dtype=np.float64),
        np.ascontiguousarray(velocity_enu_mps, dtype=np.float64),
        np.ascontiguousarray(age_s, dtype=np.float64),
        np.ascontiguousarray(velocity_sigma_mps, dtype=np.float64),
        limits.defended_point_enu_m,
        limits.launcher_enu_m,
        limits.max_threat_range_m,
        limits.max_miss_distance_m,
        limits.exclude_receding,
        limits.max_track_age_s,
        limits.max_velocity_sigma_mps,
        limits.interceptor_speed_mps,
        limits.max_time_of_flight_s,
        limits.range_min_m,
        limits.range_max_m,
        limits.el_min_rad,
        limits.el_max_rad,
    )
    return Screen(rows, t_cpa, miss, distance)


def warm_up(limits: ScreenLimits) -> None:
    """Compile the kernel (or load it from numba's cache) now, on an empty picture, rather
    than in the loop's first idle cycle, which a wall-clock rig must keep on time."""
    empty = np.empty((0, 3))
    screen(np.empty(0, np.int64), empty, empty, np.empty(0), np.empty(0), limits)


@njit
def _screen(
    ids: IntArray,
    position: FloatArray,
    velocity: FloatArray,
    age: FloatArray,
    velocity_sigma: FloatArray,
    defended: FloatArray,
    launcher: FloatArray,
    max_threat_range: float,
    max_miss: float,
    exclude_receding: bool,
    max_age: float,
    max_velocity_sigma: float,
    speed: float,
    max_tof: float,
    range_min: float,
    range_max: float,
    el_min: float,
    el_max: float,
) -> tuple[IntArray, FloatArray, FloatArray, FloatArray]:
    k = len(ids)
    t_cpa = np.empty(k)
    miss = np.empty(k)
    distance = np.empty(k)
    threat = np.zeros(k, np.bool_)
    for i in range(k):
        rx = position[i, 0] - defended[0]
        ry = position[i, 1] - defended[1]
        rz = position[i, 2] - defended[2]
        vx, vy, vz = velocity[i, 0], velocity[i, 1], velocity[i, 2]
        speed2 = _dot(vx, vy, vz, vx, vy, vz)
        closing = -_dot(rx, ry, rz, vx, vy, vz)
        t = max(closing, 0.0) / max(speed2, 1e-9) if speed2 > 1e-9 else 0.0
        mx, my, mz = rx + vx * t, ry + vy * t, rz + vz * t
        t_cpa[i] = t
        miss[i] = math.sqrt(mx * mx + my * my + mz * mz)
        distance[i] = math.sqrt(rx * rx + ry * ry + rz * rz)
        threat[i] = (
            distance[i] <= max_threat_range
            and miss[i] <= max_miss
            and (closing > 0 or not exclude_receding)
        )
    # the threats in lexicographic order of (time to CPA, range, id): an insertion sort, as
    # ``np.lexsort`` orders them (the keys of a threat are never NaN: a NaN fails the range or
    # miss test), written out because numba compiles numpy's sorts slowly (seconds, cold)
    order = np.empty(k, np.int64)
    m = 0
    for i in range(k):
        if not threat[i]:
            continue
        j = m
        while j > 0 and _after(order[j - 1], i, t_cpa, distance, ids):
            order[j] = order[j - 1]
            j -= 1
        order[j] = i
        m += 1
    rows = np.empty(m, np.int64)
    n = 0
    for j in range(m):
        i = order[j]
        if not (age[i] <= max_age and velocity_sigma[i] <= max_velocity_sigma):
            continue
        if _feasible(
            position[i, 0] - launcher[0],
            position[i, 1] - launcher[1],
            position[i, 2] - launcher[2],
            velocity[i, 0],
            velocity[i, 1],
            velocity[i, 2],
            speed,
            max_tof,
            range_min,
            range_max,
            el_min,
            el_max,
        ):
            rows[n] = i
            n += 1
    return rows[:n].copy(), t_cpa, miss, distance


@njit
def _after(a: int, b: int, t_cpa: FloatArray, distance: FloatArray, ids: IntArray) -> bool:
    """Whether row ``a`` comes after row ``b`` in (time to CPA, range, id) order."""
    if t_cpa[a] != t_cpa[b]:
        return bool(t_cpa[a] > t_cpa[b])
    if distance[a] != distance[b]:
        return bool(distance[a] > distance[b])
    return bool(ids[a] > ids[b])


@njit
def _dot(ax: float, ay: float, az: float, bx: float, by: float, bz: float) -> float:
    """A 3-vector dot product summed as numpy's ``einsum("ki,ki->k")`` sums it on x86-64
    (two SIMD lanes: the first and third products, then the second), so that the kernel's
    figures match the oracle's even where the terms cancel."""
    return (ax * bx + az * bz) + ay * by


@njit
def _feasible(
    rx: float,
    ry: float,
    rz: float,
    vx: float,
    vy: float,
    vz: float,
    speed: float,
    max_tof: float,
    range_min: float,
    range_max: float,
    el_min: float,
    el_max: float,
) -> bool:
    """``solution.feasible`` for one track (offset from the launcher m, velocity m/s)."""
    a = _dot(vx, vy, vz, vx, vy, vz) - speed * speed
    b = 2.0 * _dot(rx, ry, rz, vx, vy, vz)
    c = _dot(rx, ry, rz, rx, ry, rz)
    disc = b * b - 4.0 * a * c
    if abs(a) < 1e-9:
        t = -c / b if b < 0 else np.inf
        if not (t > 0 and t <= MAX_INTERCEPT_TIME_S):
            t = np.inf
    elif disc < 0:
        t = np.inf
    else:
        root = math.sqrt(max(disc, 0.0))
        q = -0.5 * (b + math.copysign(root, b))
        t1, t2 = q / a, c / q
        t = np.inf
        if t1 > 0 and t1 <= MAX_INTERCEPT_TIME_S:
            t = t1
        if t2 > 0 and t2 <= MAX_INTERCEPT_TIME_S and t2 < t:
            t = t2
    if not (math.isfinite(t) and t > 0 and t <= max_tof):
        return False
    ax, ay, az = rx + vx * t, ry + vy * t, rz + vz * t
    distance = math.sqrt(ax * ax + ay * ay + az * az)
    elevation = math.atan2(az, math.hypot(ax, ay))
    return range_min <= distance <= range_max and el_min <= elevation <= el_max
