"""Regressions (a campaign file's ``[regression]`` table): each named measurement of each case
judged against the same case in the last ``against`` finished comparable campaigns — same
campaign file digest, same rig fingerprint, run as the file is written (no ``--set``) — its
*baseline*. A campaign run with ``--set`` (a "what if") is judged against that baseline like any
other, which is how a change of tuning is caught before it is committed, and never becomes
baseline itself.

- Fewer than 2 such campaigns: **no baseline yet**, a note in results.json, never a failure.
- The baseline value is the median of every baseline run's value (all campaigns, all seeds).
- The *threshold* is the baseline moved by ``max_worse`` of ``|baseline|`` in the worse
  direction: ``baseline + max_worse·|baseline|`` for a lower-is-better measurement,
  ``baseline − max_worse·|baseline|`` for a higher-is-better one.
- **Single run** (one seed): a regression when its value is beyond the threshold.
- **Sweep**: a regression when the median over its seeds is beyond the threshold AND a
  one-sided test in the worse direction gives p < ``alpha``. The size gate keeps a tiny but
  consistent change (a significant 0.1 %) from failing a campaign; the test keeps one unlucky
  sweep with a large median shift from failing it.
- **Zero baseline**: the threshold is the baseline itself (``max_worse`` of 0 is 0), so *any*
  change in the worse direction counts as beyond it (``frames_lost`` 0 → 1 is not "infinitely"
  worse, but it is worse, and nothing smaller exists); the relative change is reported as null.

The sweep's test (``hil.history.stats``): **paired by seed** — Wilcoxon signed-rank of each
seed's current value against the median of that seed's baseline values — when every baseline
campaign ran every seed the current one ran, which is the usual case (comparable campaigns share
the campaign file, hence the seeds). A seed fixes the scenario draw, so pairing takes the spread
between seeds out and is the more sensitive test; and in ``sim`` runs are deterministic per seed,
so an unchanged tracker gives zero differences and p = 1, never a false alarm. Otherwise
(different seeds, a run missing) **Mann–Whitney U** of the current seeds against the pooled
baseline seeds, one-sided: it assumes nothing about pairing.

A judged measurement is a case criterion in results.json like a sweep criterion (``text``,
``measurement``, ``comparator``, ``limit`` = the threshold, ``measured`` = the current value or
median, ``verdict``) with ``kind: "regression"``, the baseline's value, the relative change, the
test and its p-value, the campaigns compared against and the ``hil replay … --compare`` command of
the worst run; a failed one fails the case and the campaign (exit 1).
"""

from __future__ import annotations

import math
import statistics
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from hil.campaign.measurements import Better, better_direction, measurement_key, measurement_unit
from hil.campaign.model import RegressionSpec
from hil.campaign.results import worst
from hil.history.model import MeasurementSample, StoredCampaign
from hil.history.source import HistorySource
from hil.history.stats import (
    TwoSampleTest,
    paired,
    unpaired,
    worse_alternative,
    worse_by,
)

MIN_BASELINE = 2
"""Comparable campaigns needed for a baseline."""
NO_BASELINE = "no baseline yet"
UNFINISHED = "interrupted"
"""A stored campaign with this verdict did not finish: never a baseline."""


@dataclass(frozen=True)
class Judgement:
    """One measurement of one case against its baseline. ``current``: the value (single run)
    or the median over the seeds (sweep); ``baseline``: the median of the baseline runs;
    ``threshold``: where worse starts to count; ``worse_by``: the relative change in the worse
    direction (None from a zero baseline); ``test``: the sweep's one-sided test (None for a
    single run). Units: the measurement's."""

    current: float
    baseline: float
    threshold: float
    worse_by: float | None
    test: TwoSampleTest | None
    alpha: float
    beyond: bool
    """``current`` is beyond the threshold."""

    @property
    def regressed(self) -> bool:
        if self.test is None:
            return self.beyond
        return self.beyond and self.test.p_value < self.alpha


def threshold(baseline: float, better: Better, max_worse: float) -> float:
    """The baseline moved by ``max_worse·|baseline|`` in the worse direction."""
    step = max_worse * abs(baseline)
    return baseline + step if better == "lower" else baseline - step


def judge(
    current: Mapping[int, float],
    baseline: Sequence[Mapping[int, float]],
    better: Better,
    max_worse: float,
    alpha: float,
) -> Judgement | None:
    """``current`` (seed → value) against ``baseline`` (per baseline campaign, seed → value);
    None when either has no finite value. See the module's docstring for the rules."""
    now = {seed: v for seed, v in current.items() if math.isfinite(v)}
    before = [{s: v for s, v in c.items() if math.isfinite(v)} for c in baseline]
    before = [c for c in before if c]
    pooled = [v for c in before for v in c.values()]
    if not now or not pooled:
        return None
    base = statistics.median(pooled)
    value = statistics.median(now.values())
    limit = threshold(base, better, max_worse)
    beyond = value > limit if better == "lower" else value < limit
    test = None
    if len(now) > 1:
        alternative = worse_alternative(better)
        if all(now.keys() <= c.keys() for c in before):
            differences = [
                now[seed] - statistics.median(c[seed] for c in before) for seed in sorted(now)
            ]
            test = paired(differences, alternative)
        else:
            test = unpaired(pooled, list(now.values()), alternative)
    return Judgement(value, base, limit, worse_by(value, base, better), test, alpha, beyond)


def document_samples(document: Mapping[str, Any], campaign_id: str) -> list[MeasurementSample]:
    """The numeric measurements of a results.json document's runs that ran (not ``not_run``),
    as the store will hold them."""
    samples = []
    for case in document["cases"]:
        units = _units(case)
        for run in case["runs"]:
            if run["verdict"] == "not_run" or run.get("seed") is None:
                continue
            for key, value in (run.get("measurements") or {}).items():
                if isinstance(value, bool) or not isinstance(value, int | float):
                    continue
                if not math.isfinite(value):
                    continue
                unit = units.get(key) or measurement_unit(key)
                samples.append(
                    MeasurementSample(
                        campaign_id, case["name"], case["mode"], run["seed"], key, value, unit
                    )
                )
    return samples


def _units(case: Mapping[str, Any]) -> dict[str, str]:
    rows = [*case["criteria"], *(r for run in case["runs"] for r in run.get("criteria") or [])]
    return {_row_key(row): row["unit"] for row in rows if row.get("measurement")}


def _row_key(row: Mapping[str, Any]) -> str:
    return measurement_key(row["measurement"], row.get("labels") or {})


def comparable_campaigns(
    source: HistorySource,
    digest: str,
    fingerprint: str,
    before: datetime,
) -> list[StoredCampaign]:
    """The finished comparable campaigns started before ``before`` that ran the campaign file as
    it is written (a ``--set`` "what if" campaign is judged against them, never one of them),
    oldest first."""
    found = source.campaigns(comparable_to=(digest, fingerprint), before=before)
    return [c for c in found if c.verdict != UNFINISHED and not c.overrides]


def judge_regressions(
    document: dict[str, Any],
    spec: RegressionSpec | None,
    source: HistorySource | None,
    digest: str,
    fingerprint: str,
) -> dict[str, Any]:
    """``document`` (results.json, before it is written) with its regressions judged: each
    case gains a criterion per ``[regression]`` measurement it measured, judged against the
    last ``spec.against`` comparable campaigns that measured it in that case (a campaign run
    with ``--only`` has only some cases); case and campaign verdicts recomputed;
    ``document["regression"]`` says what was compared against, or ``no baseline yet``. No
    ``spec``: the document unchanged. No ``source`` (no store), an interrupted campaign, or a
    case with runs not run: not judged, a note says so."""
    if spec is None:
        return document
    summary: dict[str, Any] = {
        "against": spec.against,
        "measurements": list(spec.measurements),
        "max_worse": spec.max_worse,
        "alpha": spec.alpha,
        "baseline_campaigns": [],
        "status": "not judged",
        "notes": [],
    }
    document = {**document, "regression": summary}
    if source is None:
        summary["notes"].append("no results store: regressions are not judged")
        return document
    if document.get("interrupted"):
        summary["notes"].append("the campaign was interrupted: its regressions are not judged")
        return document
    started = parse_utc(document["started_utc"])
    comparable = comparable_campaigns(source, digest, fingerprint, started)
    order = {c.campaign_id: i for i, c in enumerate(comparable)}
    current = document_samples(document, "current")
    used: set[str] = set()
    cases = []
    for case in document["cases"]:
        if any(r["verdict"] == "not_run" for r in case["runs"]):
            summary["notes"].append(f"{case['name']}: runs not run, regressions not judged")
            cases.append(case)
            continue
        rows = []
        for key in spec.measurements:
            stored = source.samples(list(order), measurement=key, case=case["name"])
            row = _row(case, key, spec, current, stored, order, summary["notes"])
            if row is not None:
                rows.append(row)
                used.update(row["against"])
        judged = [r["verdict"] for r in rows]
        verdict = worst([case["verdict"], *judged]) if rows else case["verdict"]
        cases.append({**case, "criteria": [*case["criteria"], *rows], "verdict": verdict})
    document["cases"] = cases
    document["verdict"] = worst(c["verdict"] for c in cases)
    summary["baseline_campaigns"] = sorted(used, key=order.__getitem__)
    summary["status"] = "judged" if used else NO_BASELINE
    return document


def _row(
    case: Mapping[str, Any],
    key: str,
    spec: RegressionSpec,
    current: Sequence[MeasurementSample],
    stored: Sequence[MeasurementSample],
    order: Mapping[str, int],
    notes: list[str],
) -> dict[str, Any] | None:
    """The criterion of ``key`` in ``case`` against the newest ``spec.against`` comparable
    campaigns (``order``: id → age rank) that measured it there; None with a note when it
    cannot be judged."""
    better = better_direction(key)
    assert better is not None, f"{key} was validated to have a direction"
    name = case["name"]
    now = {s.seed: s.value for s in current if s.case == name and s.name == key}
    per_campaign: dict[str, dict[int, float]] = defaultdict(dict)
    for sample in stored:
        if sample.case == name and sample.name == key and sample.campaign_id in order:
            per_campaign[sample.campaign_id][sample.seed] = sample.value
    if not now:
        notes.append(f"{name}: {key} was not measured in this campaign: not judged")
        return None
    ids = sorted(per_campaign, key=order.__getitem__)[-spec.against :]
    if len(ids) < MIN_BASELINE:
        notes.append(
            f"{name}: {key}: {NO_BASELINE}: {len(ids)} finished comparable campaign(s) measured "
            f"it (same campaign file and rig, run without --set), at least {MIN_BASELINE} needed"
        )
        return None
    judgement = judge(now, [per_campaign[i] for i in ids], better, spec.max_worse, spec.alpha)
    if judgement is None:
        return None
    return regression_row(case, key, better, spec, judgement, ids, now)


def regression_row(
    case: Mapping[str, Any],
    key: str,
    better: Better,
    spec: RegressionSpec,
    judgement: Judgement,
    ids: Sequence[str],
    values: Mapping[int, float],
) -> dict[str, Any]:
    """The results.json criterion of one judged measurement (see the module's docstring)."""
    name, _, labels_text = key.partition("{")
    labels = dict(part.split("=", 1) for part in labels_text.rstrip("}").split(",") if "=" in part)
    labels = {k.strip(): v.strip().strip('"') for k, v in labels.items()}
    sweep = judgement.test is not None
    comparator = "<=" if better == "lower" else ">="
    what = f"median({key})" if sweep else key
    text = f"regression: {what} worse than its baseline by at most {spec.max_worse * 100:g} %"
    if sweep:
        text += f" or not significantly (one-sided p ≥ {spec.alpha:g})"
    unit = measurement_unit(key) or next(iter(_units(case).values()), "")
    worst_seed = max(values, key=lambda s: values[s] if better == "lower" else -values[s])
    replay = next(
        (r.get("replay_command") for r in case["runs"] if r.get("seed") == worst_seed), None
    )
    regressed = judgement.regressed
    reason = _reason(judgement, spec, worst_seed)
    row: dict[str, Any] = {
        "text": text,
        "kind": "regression",
        "measurement": name,
        "labels": labels,
        "statistic": "median" if sweep else None,
        "comparator": comparator,
        "limit": _rounded(judgement.threshold),
        "unit": unit,
        "measured": _rounded(judgement.current),
        "verdict": "fail" if regressed else "pass",
        "reason": reason,
        "baseline": _rounded(judgement.baseline),
        "worse_by": None if judgement.worse_by is None else _rounded(judgement.worse_by),
        "max_worse": spec.max_worse,
        "alpha": spec.alpha if sweep else None,
        "test": None if judgement.test is None else judgement.test.as_json(),
        "p_value": None if judgement.test is None else judgement.test.p_value,
        "against": list(ids),
        "worst_seed": worst_seed,
        "replay_command": replay,
    }
    return row


def _reason(judgement: Judgement, spec: RegressionSpec, worst_seed: int) -> str:
    change = (
        "from a zero baseline"
        if judgement.worse_by is None
        else f"{judgement.worse_by * 100:+.3g} % in the worse direction"
    )
    parts = [f"baseline {judgement.baseline:.6g}, now {judgement.current:.6g} ({change})"]
    if judgement.test is not None:
        parts.append(
            f"{judgement.test.test} p = {judgement.test.p_value:.3g} (alpha {spec.alpha:g})"
        )
    if judgement.regressed:
        parts.append(f"regression; worst run: seed {worst_seed}")
    elif judgement.beyond:
        parts.append("worse beyond the threshold but not significant over the seeds")
    return "; ".join(parts)


def _rounded(value: float) -> float:
    return float(f"{value:.6g}")


def parse_utc(text: str) -> datetime:
    return datetime.strptime(text, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)
