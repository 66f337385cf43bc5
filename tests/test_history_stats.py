"""The history's statistics (issue 23): bands over seeds, the worse-direction change and the
two-sample tests, checked against scipy's own and on degenerate samples."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from scipy.stats import mannwhitneyu, wilcoxon

from hil.history.stats import (
    PAIRED_TEST,
    UNPAIRED_TEST,
    band,
    two_sample,
    worse_alternative,
    worse_by,
)


def test_band_is_median_and_5th_95th_percentiles() -> None:
    values = [float(v) for v in range(1, 21)]
    got = band([*values, math.nan, math.inf])
    assert got is not None
    assert (got.n, got.median) == (20, 10.5)
    assert got.p5 == pytest.approx(np.percentile(values, 5))
    assert got.p95 == pytest.approx(np.percentile(values, 95))
    single = band([3.0])
    assert single is not None and (single.n, single.median, single.p5, single.p95) == (1, 3, 3, 3)
    assert band([math.nan]) is None
    assert band([]) is None


def test_worse_by_follows_the_direction() -> None:
    assert worse_by(110.0, 100.0, "lower") == pytest.approx(0.10)
    assert worse_by(90.0, 100.0, "lower") == pytest.approx(-0.10)
    assert worse_by(9.0, 10.0, "higher") == pytest.approx(0.10)
    assert worse_by(-12.0, -10.0, "lower") == pytest.approx(-0.2)
    assert worse_by(1.0, 0.0, "lower") is None
    assert worse_alternative("lower") == "greater"
    assert worse_alternative("higher") == "less"


def test_same_seeds_are_paired_with_wilcoxon() -> None:
    a = {seed: float(seed) for seed in range(1, 11)}
    b = {seed: float(seed) + (0.5 if seed % 3 else -0.2) + seed / 100 for seed in range(1, 11)}
    test = two_sample(a, b, "greater")
    assert test is not None and test.test == PAIRED_TEST and test.paired
    expected = wilcoxon([b[s] - a[s] for s in a], alternative="greater")
    assert test.p_value == pytest.approx(expected.pvalue)
    assert 0 < test.effect_size < 1  # B mostly larger
    assert (test.n_a, test.n_b) == (10, 10)


def test_every_difference_zero_is_p_one() -> None:
    a = {seed: 5.0 for seed in range(1, 8)}
    for alternative in ("two-sided", "greater", "less"):
        test = two_sample(a, dict(a), alternative)
        assert test is not None
        assert (test.test, test.p_value, test.effect_size) == (PAIRED_TEST, 1.0, 0.0)


def test_different_seeds_are_mann_whitney_with_rank_biserial() -> None:
    a = {seed: float(seed) for seed in range(1, 9)}
    b = {seed: float(seed) + 3.0 for seed in range(20, 26)}
    test = two_sample(a, b, "two-sided")
    assert test is not None and test.test == UNPAIRED_TEST
    expected = mannwhitneyu(list(b.values()), list(a.values()))
    assert test.p_value == pytest.approx(expected.pvalue)
    assert test.effect_size == pytest.approx(2 * expected.statistic / (8 * 6) - 1)
    lower = two_sample(b, a, "less")
    assert lower is not None and lower.effect_size == pytest.approx(-test.effect_size)


def test_identical_samples_unpaired_are_p_one() -> None:
    test = two_sample({1: 2.0, 2: 2.0}, {3: 2.0, 4: 2.0, 5: 2.0}, "greater")
    assert test is not None and (test.p_value, test.effect_size) == (1.0, 0.0)


def test_too_few_values_is_no_test() -> None:
    assert two_sample({1: 1.0}, {1: 2.0}) is None
    assert two_sample({1: 1.0, 2: math.nan}, {1: 2.0, 2: 3.0}) is None


values = st.floats(min_value=-1e6, max_value=1e6, allow_nan=False)


@given(
    st.dictionaries(st.integers(0, 40), values, min_size=2, max_size=25),
    st.dictionaries(st.integers(0, 40), values, min_size=2, max_size=25),
    st.sampled_from(["two-sided", "greater", "less"]),
)
def test_any_samples_give_finite_numbers(
    a: dict[int, float], b: dict[int, float], alternative: str
) -> None:
    test = two_sample(a, b, alternative)  # type: ignore[arg-type]
    assert test is not None
    assert 0.0 <= test.p_value <= 1.0
    assert -1.0 <= test.effect_size <= 1.0
