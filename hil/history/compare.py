"""Two stored campaigns side by side (``hil results compare A B``): per case and measurement
A's and B's value (a sweep: the median over its seeds, with the band), the delta B − A, whether
B is better or worse by the measurement's direction, and for sweeps a two-sample test over the
seeds (``hil.history.stats.two_sample``, two-sided: paired Wilcoxon when both ran the same
seeds, else Mann–Whitney U; effect size rank-biserial, positive when B is larger)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from hil.campaign.measurements import better_direction
from hil.history.model import MeasurementSample
from hil.history.stats import Band, TwoSampleTest, band, is_worse, two_sample

Judgement = Literal["better", "worse", "same", "changed", "only in A", "only in B"]
"""B against A: ``changed`` for a measurement without a better direction."""


@dataclass(frozen=True)
class ComparisonRow:
    """One case × measurement. ``a``/``b``: the band over each campaign's runs (None: not
    measured there); ``delta``: B's median − A's, in ``unit``; ``test``: for sweeps (None with
    fewer than 2 runs a side)."""

    case: str
    measurement: str
    unit: str
    a: Band | None
    b: Band | None
    delta: float | None
    judgement: Judgement
    test: TwoSampleTest | None

    def as_json(self) -> dict[str, object]:
        def side(spread: Band | None) -> dict[str, float | int] | None:
            if spread is None:
                return None
            return {"n": spread.n, "median": spread.median, "p5": spread.p5, "p95": spread.p95}

        return {
            "case": self.case,
            "measurement": self.measurement,
            "unit": self.unit,
            "better": better_direction(self.measurement),
            "a": side(self.a),
            "b": side(self.b),
            "delta": self.delta,
            "judgement": self.judgement,
            "test": None if self.test is None else self.test.as_json(),
        }


def _by_seed(samples: Sequence[MeasurementSample]) -> dict[tuple[str, str], dict[int, float]]:
    grouped: dict[tuple[str, str], dict[int, float]] = defaultdict(dict)
    for sample in samples:
        grouped[(sample.case, sample.name)][sample.seed] = sample.value
    return grouped


def compare(a: Sequence[MeasurementSample], b: Sequence[MeasurementSample]) -> list[ComparisonRow]:
    """Campaign A's samples against campaign B's, one row per case × measurement either has,
    sorted by case and measurement."""
    left, right = _by_seed(a), _by_seed(b)
    units = {(s.case, s.name): s.unit for s in (*a, *b)}
    rows = []
    for key in sorted(left.keys() | right.keys()):
        case, measurement = key
        a_values, b_values = left.get(key, {}), right.get(key, {})
        a_band = band(list(a_values.values()))
        b_band = band(list(b_values.values()))
        delta = None
        if a_band is not None and b_band is not None:
            delta = b_band.median - a_band.median
        test = None
        if max(len(a_values), len(b_values)) > 1:
            test = two_sample(a_values, b_values, "two-sided")
        rows.append(
            ComparisonRow(
                case,
                measurement,
                units[key],
                a_band,
                b_band,
                delta,
                _judge(measurement, a_band, b_band),
                test,
            )
        )
    return rows


def _judge(measurement: str, a: Band | None, b: Band | None) -> Judgement:
    if a is None or b is None:
        return "only in B" if b is not None else "only in A"
    if a.median == b.median:
        return "same"
    better = better_direction(measurement)
    if better is None:
        return "changed"
    return "worse" if is_worse(b.median, a.median, better) else "better"
