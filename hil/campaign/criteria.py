"""Criteria: ``MEASUREMENT OP LIMIT`` per run, ``STAT(MEASUREMENT) OP LIMIT`` over a sweep.

Per run: ``gospa_mean_m <= 60``, ``launches{source="injected"} >= 1``,
``rig_final_state == "SAFE"``. Over the runs of a case (``sweep_criteria``):
``mean(gospa_mean_m) <= 60``, ``p95(latency_p99_ms) <= 5``, ``fraction_passing >= 0.95`` (the
fraction of the case's runs whose every per-run criterion passed). Comparators ``<= < >= > ==
!=``; numbers are finite; a text measurement (``state``) takes ``==``/``!=`` and a quoted or
bare word. Parsing checks the measurement, its labels and the limit against
``hil.campaign.measurements.MEASUREMENTS``; a problem is a ``ValueError`` of one line that says
what is allowed.
"""

from __future__ import annotations

import json
import math
import operator
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import PurePath
from typing import Any

import numpy as np

from hil.campaign.measurements import MEASUREMENTS, Value, measurement_key

COMPARATORS: dict[str, Callable[[Any, Any], bool]] = {
    "<=": operator.le,
    "<": operator.lt,
    ">=": operator.ge,
    ">": operator.gt,
    "==": operator.eq,
    "!=": operator.ne,
}
STATISTICS: dict[str, Callable[[np.ndarray[Any, Any]], float]] = {
    "mean": lambda v: float(np.mean(v)),
    "min": lambda v: float(np.min(v)),
    "max": lambda v: float(np.max(v)),
    "p50": lambda v: float(np.percentile(v, 50)),
    "p95": lambda v: float(np.percentile(v, 95)),
    "p99": lambda v: float(np.percentile(v, 99)),
}
FRACTION_PASSING = "fraction_passing"
"""The sweep statistic without a measurement: the fraction of runs that passed (0..1)."""

_NAME = r"[A-Za-z_][A-Za-z0-9_]*"
_SPLIT = re.compile(r"^\s*(?P<lhs>.+?)\s*(?P<op><=|>=|==|!=|<|>)\s*(?P<limit>.*?)\s*$", re.S)
_STAT = re.compile(rf"^(?P<stat>{_NAME})\s*\(\s*(?P<inner>.*?)\s*\)$", re.S)
_MEASURE = re.compile(rf"^(?P<name>{_NAME})\s*(?:\{{(?P<labels>[^{{}}]*)\}})?$", re.S)
_LABEL = re.compile(rf'^\s*(?P<key>{_NAME})\s*=\s*"(?P<value>[^"]*)"\s*$')
_WORD = re.compile(rf"^{_NAME}$")
EXAMPLE = 'e.g. gospa_mean_m <= 60 or launches{source="injected"} >= 1'


@dataclass(frozen=True)
class Criterion:
    """A limit on a measurement: ``statistic`` is None for a per-run criterion, a key of
    ``STATISTICS`` or ``fraction_passing`` (measurement ``fraction_passing``) over a sweep."""

    measurement: str
    labels: tuple[tuple[str, str], ...]
    statistic: str | None
    comparator: str
    limit: float | str

    @property
    def key(self) -> str:
        """The measured value's name in a run's measurements."""
        return measurement_key(self.measurement, dict(self.labels))

    @property
    def unit(self) -> str:
        if self.measurement == FRACTION_PASSING:
            return "fraction"
        return MEASUREMENTS[self.measurement].unit

    @property
    def text(self) -> str:
        """The criterion as written canonically (``parse(text)`` gives it back)."""
        if self.statistic == FRACTION_PASSING:
            left = FRACTION_PASSING
        elif self.statistic is not None:
            left = f"{self.statistic}({self.key})"
        else:
            left = self.key
        return f"{left} {self.comparator} {format_limit(self.limit)}"

    def holds(self, measured: float | int | str) -> bool:
        return COMPARATORS[self.comparator](measured, self.limit)


def format_limit(limit: float | str) -> str:
    if isinstance(limit, str):
        return json.dumps(limit)
    shown = repr(float(limit))
    return shown.removesuffix(".0")


def known_measurements() -> str:
    return ", ".join(f"{m.name} ({m.unit})" for m in MEASUREMENTS.values())


def parse(text: str, *, sweep: bool) -> Criterion:
    """A criterion from its text; ``sweep``: a criterion over a case's runs (a statistic
    required) rather than one run's (none allowed). ``ValueError`` names what is wrong."""
    if not isinstance(text, str):
        raise ValueError(f"expected a criterion as a string, {EXAMPLE}")
    split = _SPLIT.match(text)
    if split is None:
        raise ValueError(
            f"cannot read criterion {text!r}: expected MEASUREMENT OP LIMIT with OP one of "
            f"{' '.join(COMPARATORS)}, {EXAMPLE}"
        )
    lhs, comparator = split["lhs"], split["op"]
    statistic: str | None = None
    if lhs == FRACTION_PASSING:
        if not sweep:
            raise ValueError(
                f"{text!r}: fraction_passing is over a sweep's runs; put it in sweep_criteria"
            )
        fraction = _number(text, split["limit"])
        if not 0.0 <= fraction <= 1.0:
            raise ValueError(f"{text!r}: fraction_passing is between 0 and 1, got {fraction!r}")
        return Criterion(FRACTION_PASSING, (), FRACTION_PASSING, comparator, fraction)
    stat = _STAT.match(lhs)
    if stat is not None:
        statistic, lhs = stat["stat"], stat["inner"]
        if statistic not in STATISTICS:
            raise ValueError(
                f"{text!r}: unknown statistic {statistic!r}; allowed: "
                f"{', '.join(STATISTICS)} (or fraction_passing)"
            )
    if sweep and statistic is None:
        raise ValueError(
            f"{text!r}: a sweep criterion needs a statistic over the runs: "
            f"{'|'.join(STATISTICS)}(MEASUREMENT) or fraction_passing, e.g. mean(gospa_mean_m) "
            "<= 60; per-run limits go in criteria"
        )
    if not sweep and statistic is not None:
        raise ValueError(
            f"{text!r}: a statistic is over a sweep's runs; put it in sweep_criteria, or "
            "write the per-run limit without it"
        )
    name, labels = _measurement(text, lhs)
    is_text = MEASUREMENTS[name].is_text
    if is_text and statistic is not None:
        raise ValueError(f"{text!r}: {name} is a state, not a number: no statistic over it")
    _comparable(text, comparator, text_measurement=is_text)
    limit_text = split["limit"]
    limit: float | str = _word(text, limit_text) if is_text else _number(text, limit_text)
    return Criterion(name, labels, statistic, comparator, limit)


def _measurement(text: str, lhs: str) -> tuple[str, tuple[tuple[str, str], ...]]:
    found = _MEASURE.match(lhs)
    if found is None:
        raise ValueError(
            f"cannot read measurement {lhs!r} in {text!r}: expected MEASUREMENT OP LIMIT with "
            f"OP one of {' '.join(COMPARATORS)}, {EXAMPLE}"
        )
    name = found["name"]
    measurement = MEASUREMENTS.get(name)
    if measurement is None:
        raise ValueError(f"{text!r}: unknown measurement {name!r}; known: {known_measurements()}")
    labels: dict[str, str] = {}
    if found["labels"] is not None:
        for part in found["labels"].split(","):
            label = _LABEL.match(part)
            if label is None:
                raise ValueError(f'{text!r}: cannot read label {part.strip()!r}; write key="value"')
            allowed = measurement.labels.get(label["key"])
            if allowed is None:
                known = ", ".join(measurement.labels) or "none"
                raise ValueError(
                    f"{text!r}: {name} has no label {label['key']!r}; its labels: {known}"
                )
            if label["value"] not in allowed:
                raise ValueError(
                    f"{text!r}: {label['key']}={label['value']!r} is not one of "
                    f"{', '.join(allowed)}"
                )
            labels[label["key"]] = label["value"]
    return name, tuple(sorted(labels.items()))


def _comparable(text: str, comparator: str, *, text_measurement: bool) -> None:
    if text_measurement and comparator not in ("==", "!="):
        raise ValueError(f"{text!r}: a state is compared with == or != only")


def _number(text: str, limit: str) -> float:
    try:
        value = float(limit)
    except ValueError:
        raise ValueError(f"{text!r}: the limit {limit!r} is not a number") from None
    if not math.isfinite(value):
        raise ValueError(f"{text!r}: the limit must be a finite number, got {limit!r}")
    return value


def _word(text: str, limit: str) -> str:
    if len(limit) >= 2 and limit[0] == limit[-1] == '"' and '"' not in limit[1:-1]:
        return limit[1:-1]
    if _WORD.match(limit):
        return limit
    raise ValueError(f'{text!r}: the limit {limit!r} is not a word; write it in quotes: "SAFE"')


def row(criterion: Criterion, measured: Value, reason: str = "") -> dict[str, Any]:
    """The criterion's verdict on ``measured`` as a results row (``results.json``):
    ``error`` with the reason when nothing was measured."""
    out: dict[str, Any] = {
        "text": criterion.text,
        "measurement": criterion.measurement,
        "labels": dict(criterion.labels),
        "statistic": criterion.statistic,
        "comparator": criterion.comparator,
        "limit": criterion.limit,
        "unit": criterion.unit,
        "measured": measured,
    }
    if measured is None or isinstance(measured, str) != isinstance(criterion.limit, str):
        out["verdict"] = "error"
        out["reason"] = reason or f"{criterion.key} was not measured in this run"
    else:
        out["verdict"] = "pass" if criterion.holds(measured) else "fail"
    return out


def judge_run(
    criteria: Sequence[Criterion], measurements: Mapping[str, Value]
) -> list[dict[str, Any]]:
    """Each per-run criterion's row for one run's measurements."""
    return [row(c, measurements.get(c.key)) for c in criteria]


def run_identity(run: Mapping[str, Any]) -> str:
    """How a run record is named to people: ``seed N``; a replay run by its recording's file
    name, with the seed recorded in it once it could be read (``a.mcap (seed 3)``), else the
    name alone — an unreadable recording has no seed, and its place in the folder is none."""
    seed = run.get("seed")
    seeded = None if seed is None else f"seed {seed}"
    replay_of = run.get("replay_of")
    if not replay_of:
        return seeded or "seed unknown"
    name = PurePath(replay_of).name
    return name if seeded is None else f"{name} ({seeded})"


def judge_sweep(
    criteria: Sequence[Criterion], runs: Sequence[Mapping[str, Any]]
) -> list[dict[str, Any]]:
    """Each sweep criterion's row over the case's runs: a statistic needs the measurement in
    every run; a sweep with runs not run (an interrupted campaign) has no result, its rows are
    errors saying so."""
    ran = [r for r in runs if r["verdict"] != "not_run"]
    rows = []
    for criterion in criteria:
        if len(ran) < len(runs):
            reason = (
                f"{len(runs) - len(ran)} of {len(runs)} runs did not run: a statistic over part "
                "of a sweep is not its result"
            )
            rows.append(row(criterion, None, reason))
            continue
        if criterion.statistic == FRACTION_PASSING:
            passed = sum(r["verdict"] == "pass" for r in ran)
            rows.append(row(criterion, round(passed / len(ran), 6)))
            continue
        values = [r["measurements"].get(criterion.key) for r in ran if r["measurements"]]
        missing = [
            r for r in ran if not r["measurements"] or r["measurements"].get(criterion.key) is None
        ]
        if missing or not values:
            if all(r.get("replay_of") is None and r.get("seed") is not None for r in missing):
                named = f"of seeds {sorted(r['seed'] for r in missing)}"
            else:  # replay runs, by their recordings (an unreadable one has no seed)
                named = ", ".join(run_identity(r) for r in missing)
            reason = f"{criterion.key} is missing in the runs {named}"
            rows.append(row(criterion, None, reason))
            continue
        assert criterion.statistic is not None
        statistic = STATISTICS[criterion.statistic](np.asarray(values, dtype=float))
        rows.append(row(criterion, round(statistic, 6)))
    return rows
