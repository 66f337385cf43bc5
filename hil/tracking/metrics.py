"""Set-distance metrics for scoring a track picture against ground truth.

Both take point sets as (N, d) arrays in the same frame and unit (ENU metres in this project) and
solve the optimal assignment with scipy's ``linear_sum_assignment``.

- **OSPA** (Schuhmacher, Vo & Vo 2008), order p, cut-off c: for |X| = m ≤ n = |Y|,
  ``(1/n · (min_π Σ min(d, c)^p + c^p · (n − m)))^(1/p)``; 0 for two empty sets, c when exactly
  one is empty. Normalised per point, so it mixes localisation and cardinality error.
- **GOSPA** (Rahmathullah, García-Fernández & Svensson 2017) with α = 2: ``(min over
  assignments γ of Σ_γ d^p + c^p/2 · (#missed + #false))^(1/p)``, pairs at distance ≥ c counting
  as one missed and one false. Not normalised; it decomposes into localisation, missed and false
  parts, which ``GospaResult`` reports.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
from scipy.optimize import linear_sum_assignment

FloatArray = npt.NDArray[np.float64]


def _distances(x: npt.ArrayLike, y: npt.ArrayLike) -> tuple[FloatArray, FloatArray, FloatArray]:
    a = np.asarray(x, dtype=np.float64)
    b = np.asarray(y, dtype=np.float64)
    a = a.reshape(len(a), -1) if a.size else np.zeros((len(a), b.shape[-1] if b.ndim > 1 else 0))
    b = b.reshape(len(b), -1) if b.size else np.zeros((len(b), a.shape[-1]))
    if a.shape[1] != b.shape[1] and len(a) and len(b):
        raise ValueError(f"point dimensions differ: {a.shape[1]} and {b.shape[1]}")
    diff = a[:, None, :] - b[None, :, :]
    return a, b, np.sqrt(np.einsum("ijk,ijk->ij", diff, diff))


def _check(cutoff: float, order: float) -> None:
    if not cutoff > 0:
        raise ValueError(f"cut-off must be > 0, got {cutoff}")
    if not order >= 1:
        raise ValueError(f"order must be ≥ 1, got {order}")


def ospa(x: npt.ArrayLike, y: npt.ArrayLike, cutoff: float, order: float = 2.0) -> float:
    """OSPA distance between point sets ``x`` and ``y`` (same unit as the points)."""
    _check(cutoff, order)
    a, b, d = _distances(x, y)
    m, n = len(a), len(b)
    if m == 0 and n == 0:
        return 0.0
    if m == 0 or n == 0:
        return float(cutoff)
    cost = np.minimum(d, cutoff) ** order
    rows, cols = linear_sum_assignment(cost)
    total = cost[rows, cols].sum() + cutoff**order * abs(n - m)
    return float((total / max(m, n)) ** (1.0 / order))


@dataclass(frozen=True, slots=True)
class GospaResult:
    """GOSPA and its parts: ``distance`` = (localisation + c^p/2·(missed + false))^(1/p)."""

    distance: float
    localisation: float
    """Σ d^p over the assigned pairs (in unit^p)."""
    missed: int
    """Truth points with no estimate within the cut-off."""
    false: int
    """Estimates with no truth point within the cut-off."""
    assignment: tuple[tuple[int, int], ...]
    """(truth index, estimate index) pairs closer than the cut-off."""


def gospa(
    truth: npt.ArrayLike, estimates: npt.ArrayLike, cutoff: float, order: float = 2.0
) -> GospaResult:
    """GOSPA (α = 2) between ground truth and estimates."""
    _check(cutoff, order)
    a, b, d = _distances(truth, estimates)
    m, n = len(a), len(b)
    pairs: list[tuple[int, int]] = []
    localisation = 0.0
    if m and n:
        cost = np.minimum(d, cutoff) ** order
        rows, cols = linear_sum_assignment(cost)
        for r, c in zip(rows.tolist(), cols.tolist(), strict=True):
            if d[r, c] < cutoff:
                pairs.append((r, c))
                localisation += float(d[r, c] ** order)
    missed = m - len(pairs)
    false = n - len(pairs)
    total = localisation + cutoff**order / 2.0 * (missed + false)
    return GospaResult(float(total ** (1.0 / order)), localisation, missed, false, tuple(pairs))


def assigned_rmse(
    truth: npt.ArrayLike, estimates: npt.ArrayLike, assignment: tuple[tuple[int, int], ...]
) -> float | None:
    """Root-mean-square distance over assigned (truth, estimate) pairs; ``None`` if none."""
    if not assignment:
        return None
    a = np.asarray(truth, dtype=np.float64)
    b = np.asarray(estimates, dtype=np.float64)
    rows = np.array([p[0] for p in assignment])
    cols = np.array([p[1] for p in assignment])
    return float(np.sqrt(np.mean(np.sum((a[rows] - b[cols]) ** 2, axis=1))))
