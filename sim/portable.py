"""Elementwise sin, cos, arctan2, exp … whose bits do not depend on the CPU, in radians.

numpy chooses its float64 transcendental loops at run time: on an AVX-512 machine ``np.sin``,
``np.cos``, ``np.arctan2``, ``np.exp``, ``np.log10`` … are SVML's, elsewhere numpy's own or the
C library's, and the three differ in the last bits. The loop's arithmetic must not: a
recording replays bit for bit on any machine, and CI's golden-recording test is red or green for
the software, not for the CPU it lands on (``tests/test_cpu_independence.py``). So the models
on the loop's path take these functions from the C library, element by element (Python's
``math``, as the compiled kernels' ``math`` calls are): about 0.1 µs per element, nothing for
the tens of values a cycle needs. ``+``, ``-``, ``*``, ``/``, ``sqrt`` and ``hypot`` are exact
or the C library's on every machine and stay numpy's.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np
import numpy.typing as npt

FloatArray = npt.NDArray[np.float64]


def _unary(function: Callable[[float], float], x: npt.ArrayLike) -> FloatArray:
    a = np.asarray(x, dtype=np.float64)
    values = np.fromiter(map(function, a.ravel().tolist()), np.float64, a.size)
    return values.reshape(a.shape)


def sin(x: npt.ArrayLike) -> FloatArray:
    return _unary(math.sin, x)


def cos(x: npt.ArrayLike) -> FloatArray:
    return _unary(math.cos, x)


def exp(x: npt.ArrayLike) -> FloatArray:
    return _unary(math.exp, x)


def log10(x: npt.ArrayLike) -> FloatArray:
    return _unary(math.log10, x)


def arctan2(y: npt.ArrayLike, x: npt.ArrayLike) -> FloatArray:
    """Four-quadrant arctan of y/x (rad), elementwise over the broadcast of ``y`` and ``x``."""
    ya, xa = np.broadcast_arrays(np.asarray(y, dtype=np.float64), np.asarray(x, dtype=np.float64))
    values = np.fromiter(
        map(math.atan2, ya.ravel().tolist(), xa.ravel().tolist()), np.float64, ya.size
    )
    return values.reshape(ya.shape)


def power(base: npt.ArrayLike, exponent: npt.ArrayLike) -> FloatArray:
    """``base ** exponent`` elementwise over the broadcast of both (the C library's ``pow``)."""
    ba, ea = np.broadcast_arrays(
        np.asarray(base, dtype=np.float64), np.asarray(exponent, dtype=np.float64)
    )
    values = np.fromiter(
        map(math.pow, ba.ravel().tolist(), ea.ravel().tolist()), np.float64, ba.size
    )
    return values.reshape(ba.shape)
