"""GOSPA, OSPA and RMSE against hand-worked values and brute force over permutations."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from hil.tracking.metrics import assigned_rmse, gospa, ospa


def test_empty_sets() -> None:
    empty = np.zeros((0, 3))
    one = np.array([[1.0, 2.0, 3.0]])
    assert ospa(empty, empty, 10.0) == 0.0
    assert ospa(one, empty, 10.0) == 10.0
    result = gospa(one, empty, 10.0)
    assert (result.missed, result.false) == (1, 0)
    assert result.distance == pytest.approx(10.0 / math.sqrt(2))
    assert gospa(empty, one, 10.0).false == 1
    assert gospa(empty, empty, 10.0).distance == 0.0


def test_worked_example() -> None:
    truth = np.array([[0.0, 0.0], [100.0, 0.0], [500.0, 500.0]])
    estimates = np.array([[3.0, 4.0], [100.0, 1.0], [900.0, 900.0], [-50.0, 0.0]])
    result = gospa(truth, estimates, cutoff=20.0, order=2)
    assert set(result.assignment) == {(0, 0), (1, 1)}
    assert (result.missed, result.false) == (1, 2)
    assert result.localisation == pytest.approx(25.0 + 1.0)
    assert result.distance == pytest.approx(math.sqrt(26.0 + 400.0 / 2 * 3))
    # OSPA: n = 4; two pairs at 5 and 1, one pair clipped at c, one unmatched
    expected = math.sqrt((25.0 + 1.0 + 400.0 + 400.0) / 4)
    assert ospa(truth, estimates, 20.0) == pytest.approx(expected)
    assert assigned_rmse(truth, estimates, result.assignment) == pytest.approx(math.sqrt(13.0))


def test_bad_parameters() -> None:
    with pytest.raises(ValueError, match="cut-off"):
        ospa([[0.0]], [[1.0]], 0.0)
    with pytest.raises(ValueError, match="order"):
        gospa([[0.0]], [[1.0]], 1.0, order=0.5)


points = st.lists(st.tuples(st.floats(-100, 100), st.floats(-100, 100)), max_size=5)


def brute_gospa(
    x: list[tuple[float, float]], y: list[tuple[float, float]], c: float, p: float
) -> float:
    best = math.inf
    small, large = (x, y) if len(x) <= len(y) else (y, x)
    for perm in itertools.permutations(range(len(large)), len(small)):
        total, paired = 0.0, 0
        for i, j in enumerate(perm):
            dist = math.dist(small[i], large[j])
            if dist < c:
                total += dist**p
                paired += 1
        total += c**p / 2 * (len(x) + len(y) - 2 * paired)
        best = min(best, total)
    return best ** (1 / p)


@given(points, points, st.floats(1.0, 80.0), st.sampled_from([1.0, 2.0, 3.0]))
def test_gospa_is_the_optimum_over_all_assignments(
    x: list[tuple[float, float]], y: list[tuple[float, float]], c: float, p: float
) -> None:
    got = gospa(np.array(x).reshape(-1, 2), np.array(y).reshape(-1, 2), c, p).distance
    assert got == pytest.approx(brute_gospa(x, y, c, p), rel=1e-9, abs=1e-9)


@given(points, points, st.floats(1.0, 80.0))
def test_metric_symmetry_and_bounds(
    x: list[tuple[float, float]], y: list[tuple[float, float]], c: float
) -> None:
    a, b = np.array(x).reshape(-1, 2), np.array(y).reshape(-1, 2)
    assert ospa(a, b, c) == pytest.approx(ospa(b, a, c))
    assert 0.0 <= ospa(a, b, c) <= c + 1e-12
    assert gospa(a, b, c).distance == pytest.approx(gospa(b, a, c).distance)
    assert ospa(a, a, c) == pytest.approx(0.0, abs=1e-9)
