"""The sensor model's arithmetic as two compiled kernels (numba ``njit``: ``cache=True``,
``fastmath=False``, no ``parallel``, numpy's error model).

Why compiled code in ``sim`` (pure numpy otherwise, DESIGN.md): one dwell of raid-100 was some
sixty numpy calls on arrays of a handful of elements, ~100 µs, as much as the whole loop cycle
is meant to cost. The random draws stay numpy's (``RadarSensor.observe`` takes them between the
two kernels, in the documented order), and every formula is evaluated in the order numpy
evaluated it, with the same C library functions (``atan2``, ``hypot``, ``log10``, ``pow``,
``log1p``), so the dwells are the previous numpy model's bit for bit
(``tests/test_sensor_stream.py`` checks it against that model, ``tests/sensor_oracle.py``).
Units as in ``sim.sensor``: metres, radians, seconds, m/s, dB.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any, TypeVar, cast

import numba
import numpy as np
import numpy.typing as npt

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]
BoolArray = npt.NDArray[np.bool_]
UInt16Array = npt.NDArray[np.uint16]

F = TypeVar("F", bound=Callable[..., Any])


def _njit(function: F) -> F:
    """``hil.tracking._jit.njit``'s options and fallback (``sim`` imports nothing of ``hil``):
    cached on disk, or compiled in memory when no cache location is writable (a read-only
    install), where numba would otherwise refuse the decorator."""
    options: dict[str, Any] = {"fastmath": False, "parallel": False, "error_model": "numpy"}
    try:
        compiled = numba.njit(cache=True, **options)(function)
    except RuntimeError as error:  # "cannot cache function …: no locator available …"
        if "no locator available" not in str(error):
            raise
        compiled = numba.njit(cache=False, **options)(function)
    return cast(F, compiled)


@_njit
def _remainder(a: float, b: float) -> float:
    """numpy's float ``mod`` (``npy_divmod``): C's exact ``fmod`` moved to the divisor's
    sign, which is also Python's float ``%`` (numba compiles it as Python defines it)."""
    return a % b


@_njit
def illuminate(
    position: FloatArray,
    alive: BoolArray,
    rcs: FloatArray,
    site: FloatArray,
    beam_bearing: float,
    half_beam: float,
    el_min: float,
    el_max: float,
    range_min: float,
    range_max: float,
    snr_ref_db: float,
    snr_ref_rcs: float,
    snr_ref_range: float,
    pfa: float,
) -> tuple[IntArray, FloatArray, FloatArray, FloatArray, FloatArray, FloatArray]:
    """Rows of the targets the swept beam covers (``sim.sensor``'s module doc: within the swept
    beam — tested without trigonometry while the half-beam is under π/2 — the elevation
    coverage and the instrumented range), alive, in row order; their ENU offsets from the
    antenna (k, 3), slant ranges, elevations, mean SNR (dB) and P_d."""
    n = position.shape[0]
    narrow = half_beam < 0.5 * math.pi
    sin_b, cos_b = math.sin(beam_bearing), math.cos(beam_bearing)
    tan_half = math.tan(half_beam)
    candidates = np.empty(n, np.int64)
    m = 0
    for i in range(n):
        east = position[i, 0] - site[0]
        north = position[i, 1] - site[1]
        if narrow:
            along = east * sin_b + north * cos_b
            across = east * cos_b - north * sin_b
            in_beam = abs(across) <= tan_half * along
        else:
            off = math.atan2(east, north) - beam_bearing
            in_beam = abs(math.pi - _remainder(math.pi - off, 2.0 * math.pi)) <= half_beam
        if in_beam and alive[i]:
            candidates[m] = i
            m += 1
    rows = np.empty(m, np.int64)
    offset = np.empty((m, 3))
    slant = np.empty(m)
    elevation = np.empty(m)
    k = 0
    for j in range(m):
        i = candidates[j]
        ox = position[i, 0] - site[0]
        oy = position[i, 1] - site[1]
        oz = position[i, 2] - site[2]
        horizontal = math.hypot(ox, oy)
        r = math.hypot(horizontal, oz)
        el = math.atan2(oz, horizontal)
        if el >= el_min and el <= el_max and r >= range_min and r <= range_max:
            rows[k] = i
            offset[k, 0], offset[k, 1], offset[k, 2] = ox, oy, oz
            slant[k], elevation[k] = r, el
            k += 1
    mean_snr_db = np.empty(k)
    pd = np.empty(k)
    for j in range(k):
        snr = (
            snr_ref_db
            + 10.0 * math.log10(rcs[rows[j]] / snr_ref_rcs)
            - 40.0 * math.log10(max(slant[j], 1e-3) / snr_ref_range)
        )
        mean_snr_db[j] = snr
        pd[j] = math.pow(pfa, 1.0 / (1.0 + math.pow(10.0, snr / 10.0)))
    return (
        rows[:k].copy(),
        offset[:k].copy(),
        slant[:k].copy(),
        elevation[:k].copy(),
        mean_snr_db,
        pd,
    )


@_njit
def measure(
    detected: BoolArray,
    slant: FloatArray,
    offset: FloatArray,
    elevation: FloatArray,
    mean_snr_db: FloatArray,
    velocity: FloatArray,
    rows: IntArray,
    target_id: IntArray,
    noise: FloatArray,
    excess: FloatArray,
    draws: FloatArray,
    sigmas: FloatArray,
    clutter_low: FloatArray,
    clutter_span: FloatArray,
    north_alignment: float,
    multipath_el: float,
    beam_az: float,
    half_beam: float,
    threshold: float,
    saturation_snr_db: float,
    max_detections: int,
) -> tuple[FloatArray, FloatArray, UInt16Array, IntArray]:
    """The dwell's detections from its draws (``RadarSensor.observe`` after the draws), in
    the order they are reported (by range; the strongest ``max_detections`` if more): measured
    (n, 4) (range m, turntable az rad, elevation rad, vr m/s), SNR dB, flags and truth ids
    (the targets' detections' ids, ``CLUTTER_ID`` = −1 for clutter)."""
    k = len(noise)
    n_clutter = draws.shape[0]
    n = k + n_clutter
    measured = np.empty((n, 4))
    power = np.empty(n)
    multipath = np.zeros(n, np.bool_)
    truth_id = np.full(n, -1, np.int64)
    j = 0
    for i in range(len(detected)):
        if not detected[i]:
            continue
        h = rows[i]
        truth_id[j] = target_id[h]
        dx, dy, dz = offset[i, 0], offset[i, 1], offset[i, 2]
        r = slant[i]
        el = elevation[i]
        # einsum("ij,ij->i") on x86-64 sums the first and third products, then the second
        vr = ((dx * velocity[h, 0] + dz * velocity[h, 2]) + dy * velocity[h, 1]) / r
        multipath[j] = el < multipath_el
        measured[j, 0] = r + noise[j, 0] * sigmas[0]
        measured[j, 1] = (math.atan2(dx, dy) - north_alignment) + noise[j, 1] * sigmas[1]
        measured[j, 2] = el + noise[j, 2] * sigmas[2]
        measured[j, 3] = vr + noise[j, 3] * sigmas[3]
        power[j] = (1.0 + math.pow(10.0, mean_snr_db[i] / 10.0)) * excess[j]
        j += 1
    for c in range(n_clutter):
        row = k + c
        for q in range(4):
            measured[row, q] = clutter_low[q] + clutter_span[q] * draws[c, q]
        measured[row, 1] = beam_az + half_beam * (2.0 * draws[c, 1] - 1.0)
        power[row] = -math.log1p(-draws[c, 4])
    snr_db = np.empty(n)
    flags = np.zeros(n, np.uint16)
    for i in range(n):
        snr_db[i] = 10.0 * math.log10(power[i] + (threshold - 1.0))
        r = measured[i, 0]
        if r < 0.0:
            measured[i, 0] = 0.0
        measured[i, 1] = math.pi - _remainder(math.pi - measured[i, 1], 2.0 * math.pi)
        if snr_db[i] >= saturation_snr_db:
            flags[i] |= np.uint16(1)  # sim.sensor.FLAG_SATURATED
        if multipath[i]:
            flags[i] |= np.uint16(2)  # sim.sensor.FLAG_MULTIPATH
    # reported by range; over the cap, the strongest by SNR (ties: earlier first), by range.
    # Stable insertion sorts, as numpy's stable argsort orders them (no key is NaN: ranges and
    # SNRs are finite), written out because numba compiles numpy's sorts slowly (seconds, cold)
    if n > max_detections:
        strongest = _stable_order(-snr_db, np.arange(n))[:max_detections]
        order = _stable_order(measured[:, 0], strongest)
    else:
        order = _stable_order(measured[:, 0], np.arange(n))
    count = len(order)
    out_measured = np.empty((count, 4))
    out_snr = np.empty(count)
    out_flags = np.empty(count, np.uint16)
    out_truth = np.empty(count, np.int64)
    for j in range(count):
        i = order[j]
        for q in range(4):
            out_measured[j, q] = measured[i, q]
        out_snr[j], out_flags[j], out_truth[j] = snr_db[i], flags[i], truth_id[i]
    return out_measured, out_snr, out_flags, out_truth


@_njit
def _stable_order(key: FloatArray, rows: IntArray) -> IntArray:
    """``rows`` sorted by ``key[row]`` ascending, equal keys in their order in ``rows``."""
    order = rows.copy()
    for m in range(1, len(order)):
        row = order[m]
        j = m
        while j > 0 and key[order[j - 1]] > key[row]:
            order[j] = order[j - 1]
            j -= 1
        order[j] = row
    return order


def warm_up() -> tuple[Any, Any]:
    """Compile both kernels (or load them from numba's cache) for the argument types
    ``RadarSensor.observe`` passes — truth arrays row-major (N, 3) — by running them on a dwell
    of two dead targets and no clutter; returns them."""
    targets = np.zeros((2, 3))  # row-major, as RadarSensor.observe passes it
    none = np.empty(0)
    site = np.zeros(3)
    rows, offset, slant, elevation, snr, _ = illuminate(
        targets, np.zeros(2, np.bool_), np.ones(2), site, 0.0, 0.1, -1.0, 1.0, 0.0, 1.0,
        20.0, 1.0, 1.0, 1e-6,
    )  # fmt: skip
    measure(
        np.empty(0, np.bool_), slant, offset, elevation, snr, targets, rows,
        np.empty(0, np.int64), np.empty((0, 4)), none, np.empty((0, 5)), np.ones(4), np.zeros(4),
        np.ones(4), 0.0, 0.0, 0.0, 0.1, 13.8, 60.0, 203,
    )  # fmt: skip
    return illuminate, measure
