"""The statistics the history's analyses share: a band over a sweep's seeds, the relative change
of a value in a measurement's worse direction, and a two-sample test over seeds.

Two-sample test (``two_sample``), B against A, values keyed by seed:

- **paired** — both ran the same seeds (at least 2): Wilcoxon signed-rank on the per-seed
  differences B − A. A seed is the same scenario draw in both, so pairing removes the spread
  between seeds (one seed's geometry is harder than another's) and leaves the change. Zero
  differences are dropped (``zero_method="wilcox"``); when every difference is zero there is no
  evidence of a change: p = 1 and effect 0 (scipy would divide by zero).
- **unpaired** — otherwise (different seeds, or some missing): Mann–Whitney U of B against A.

Effect size, both tests: the **rank-biserial correlation** r in [-1, 1], positive when B tends
to be larger than A. Paired (Kerby's matched-pairs form): (T+ − T−) / (T+ + T−), T± the rank
sums of the positive and negative differences. Unpaired: 2·U_B / (n_A·n_B) − 1, i.e.
P(B > A) − P(B < A). Every number handed out is finite: NaN or inf never leaves this module.

scipy.stats is imported where it is used: it costs every ``hil`` command 0.6 s at start-up.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np

from hil.campaign.measurements import Better

Alternative = Literal["two-sided", "greater", "less"]
"""Of a two-sample test, B against A: ``greater``: B tends to be larger."""
PAIRED_TEST = "wilcoxon-signed-rank"
UNPAIRED_TEST = "mann-whitney-u"
EFFECT_SIZE = "rank-biserial"
MIN_PER_SIDE = 2
"""Fewer values than this on a side: no test (one value says nothing about a spread)."""


@dataclass(frozen=True)
class Band:
    """A measurement over a case's runs: ``n`` finite values, their median and the 5th and 95th
    percentiles (linear interpolation; a single run: all three are its value). Unit: the
    measurement's."""

    n: int
    median: float
    p5: float
    p95: float


def finite(values: Sequence[float]) -> list[float]:
    """``values`` without NaN and ±inf (a value that was never measured)."""
    return [float(v) for v in values if math.isfinite(v)]


def band(values: Sequence[float]) -> Band | None:
    """The band over ``values`` (non-finite ones left out); None when none is left."""
    kept = np.asarray(finite(values), dtype=float)
    if kept.size == 0:
        return None
    p5, median, p95 = np.percentile(kept, [5.0, 50.0, 95.0])
    return Band(int(kept.size), float(median), float(p5), float(p95))


def worse_by(current: float, baseline: float, better: Better) -> float | None:
    """How much worse ``current`` is than ``baseline`` as a fraction of ``|baseline|``, in the
    worse direction of ``better`` (0.1: 10 % worse; negative: better). None when ``baseline``
    is 0: a relative change from zero has no size (``regression`` treats any worsening from a
    zero baseline as beyond every ``max_worse``)."""
    if baseline == 0.0:
        return None
    change = (current - baseline) / abs(baseline)
    return change if better == "lower" else -change


def is_worse(current: float, baseline: float, better: Better) -> bool:
    return current > baseline if better == "lower" else current < baseline


def worse_alternative(better: Better) -> Alternative:
    """The one-sided alternative of a test of current (B) against baseline (A) in the worse
    direction: a lower-is-better measurement gets worse by growing."""
    return "greater" if better == "lower" else "less"


@dataclass(frozen=True)
class TwoSampleTest:
    """A test of B against A over seeds: ``test`` (``wilcoxon-signed-rank`` paired by seed,
    ``mann-whitney-u`` unpaired), its ``p_value`` for ``alternative``, ``effect_size``
    (rank-biserial, positive: B larger) and how many values each side had (``n_a``, ``n_b``;
    paired: the seeds both ran, zero differences included)."""

    test: str
    alternative: Alternative
    p_value: float
    effect_size: float
    n_a: int
    n_b: int

    @property
    def paired(self) -> bool:
        return self.test == PAIRED_TEST

    def as_json(self) -> dict[str, object]:
        return {
            "test": self.test,
            "alternative": self.alternative,
            "p_value": self.p_value,
            "effect_size": self.effect_size,
            "effect_size_kind": EFFECT_SIZE,
            "n_a": self.n_a,
            "n_b": self.n_b,
        }


def _clean(seeded: Mapping[int, float]) -> dict[int, float]:
    return {seed: float(v) for seed, v in seeded.items() if math.isfinite(v)}


def two_sample(
    a: Mapping[int, float], b: Mapping[int, float], alternative: Alternative = "two-sided"
) -> TwoSampleTest | None:
    """B against A, each seed → value (non-finite values left out): paired by seed when both
    hold the same seeds, else unpaired (see the module's docstring). None when a side has
    fewer than ``MIN_PER_SIDE`` values."""
    a, b = _clean(a), _clean(b)
    if len(a) < MIN_PER_SIDE or len(b) < MIN_PER_SIDE:
        return None
    if a.keys() == b.keys():
        seeds = sorted(a)
        differences = [b[seed] - a[seed] for seed in seeds]
        return paired(differences, alternative, len(seeds))
    return unpaired(list(a.values()), list(b.values()), alternative)


def paired(
    differences: Sequence[float], alternative: Alternative, n: int | None = None
) -> TwoSampleTest:
    """Wilcoxon signed-rank on ``differences`` (B − A per seed); every one zero: p = 1."""
    from scipy.stats import rankdata, wilcoxon

    count = len(differences) if n is None else n
    nonzero = np.asarray([d for d in differences if d != 0.0 and math.isfinite(d)], dtype=float)
    if nonzero.size == 0:
        return TwoSampleTest(PAIRED_TEST, alternative, 1.0, 0.0, count, count)
    ranks = rankdata(np.abs(nonzero))
    positive = float(ranks[nonzero > 0].sum())
    negative = float(ranks[nonzero < 0].sum())
    effect = (positive - negative) / (positive + negative)
    with warnings.catch_warnings():
        # a sample too small for the normal approximation's warning: the p-value is still the
        # test's (exact where scipy can)
        warnings.simplefilter("ignore", RuntimeWarning)
        warnings.simplefilter("ignore", UserWarning)
        result = wilcoxon(nonzero, zero_method="wilcox", alternative=alternative)
    return TwoSampleTest(
        PAIRED_TEST, alternative, _probability(result.pvalue), _bounded(effect), count, count
    )


def unpaired(
    a: Sequence[float], b: Sequence[float], alternative: Alternative = "two-sided"
) -> TwoSampleTest:
    """Mann–Whitney U of ``b`` against ``a``; two samples of one and the same value: p = 1."""
    from scipy.stats import mannwhitneyu

    left, right = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    if np.all(left == left[0]) and np.all(right == left[0]):
        return TwoSampleTest(UNPAIRED_TEST, alternative, 1.0, 0.0, left.size, right.size)
    result = mannwhitneyu(right, left, alternative=alternative)
    effect = 2.0 * float(result.statistic) / (left.size * right.size) - 1.0
    return TwoSampleTest(
        UNPAIRED_TEST,
        alternative,
        _probability(result.pvalue),
        _bounded(effect),
        left.size,
        right.size,
    )


def _probability(value: object) -> float:
    """A p-value as a finite float in [0, 1] (scipy's NaN for a degenerate sample: 1, no
    evidence)."""
    p = float(value)  # type: ignore[arg-type]
    if not math.isfinite(p):
        return 1.0
    return min(1.0, max(0.0, p))


def _bounded(effect: float) -> float:
    if not math.isfinite(effect):
        return 0.0
    return min(1.0, max(-1.0, effect))
