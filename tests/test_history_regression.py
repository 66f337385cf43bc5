"""Regressions judged against earlier comparable campaigns (issue 23 §3), on plain records: the
single-run and sweep rules, a zero baseline, what is (and is not) a baseline, and the criterion
written into results.json."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

import pytest
from history_support import EPOCH, FINGERPRINT, MemoryHistory, document, finite_everywhere

from hil.campaign import junit
from hil.campaign.model import RegressionSpec
from hil.campaign.summary import exit_summary
from hil.history.regression import NO_BASELINE, judge, judge_regressions
from hil.history.stats import PAIRED_TEST, UNPAIRED_TEST

SPEC = RegressionSpec(against=3, measurements=("gospa_mean_m",), max_worse=0.05, alpha=0.01)
SEEDS = range(1, 9)


def test_single_run_beyond_max_worse_is_a_regression() -> None:
    baseline = [{0: 100.0}, {0: 102.0}, {0: 98.0}]
    worse = judge({0: 110.0}, baseline, "lower", 0.05, 0.01)
    assert worse is not None and worse.regressed and worse.test is None
    assert (worse.baseline, worse.threshold) == (100.0, 105.0)
    assert worse.worse_by == pytest.approx(0.10)
    slightly = judge({0: 104.0}, baseline, "lower", 0.05, 0.01)
    assert slightly is not None and not slightly.regressed
    fewer = judge({0: 3.0}, [{0: 4.0}, {0: 4.0}], "higher", 0.05, 0.01)
    assert fewer is not None and fewer.regressed and fewer.threshold == pytest.approx(3.8)


def test_zero_baseline_any_worsening_counts() -> None:
    zero = [{0: 0.0}, {0: 0.0}]
    lost = judge({0: 1.0}, zero, "lower", 0.5, 0.01)
    assert lost is not None and lost.regressed and lost.worse_by is None
    still = judge({0: 0.0}, zero, "lower", 0.5, 0.01)
    assert still is not None and not still.regressed
    more = judge({0: 2.0}, zero, "higher", 0.5, 0.01)
    assert more is not None and not more.regressed


def test_sweep_same_seeds_is_paired_and_needs_significance() -> None:
    baseline = [{s: 100.0 + s for s in SEEDS}, {s: 100.0 + s + 0.5 for s in SEEDS}]
    same = judge({s: 100.25 + s for s in SEEDS}, baseline, "lower", 0.05, 0.01)
    assert same is not None and same.test is not None
    assert (same.test.test, same.test.p_value, same.regressed) == (PAIRED_TEST, 1.0, False)
    worse = judge({s: 1.2 * (100.25 + s) for s in SEEDS}, baseline, "lower", 0.05, 0.01)
    assert worse is not None and worse.test is not None and worse.regressed
    assert worse.test.p_value == pytest.approx(1 / 256)  # all 8 seeds worse: exact one-sided
    few = judge({s: 1.2 * (100.25 + s) for s in range(1, 6)}, baseline, "lower", 0.05, 0.01)
    assert few is not None and few.test is not None
    assert few.beyond and few.test.p_value == pytest.approx(1 / 32) and not few.regressed


def test_sweep_other_seeds_is_mann_whitney_against_the_pooled_baseline() -> None:
    baseline = [{s: 100.0 + s for s in SEEDS}, {s + 10: 100.0 + s for s in SEEDS}]
    worse = judge({s + 20: 130.0 + s for s in SEEDS}, baseline, "lower", 0.05, 0.01)
    assert worse is not None and worse.test is not None
    assert worse.test.test == UNPAIRED_TEST and worse.regressed
    assert worse.test.effect_size == 1.0  # every current run worse than every baseline run
    better = judge({s + 20: 90.0 + s for s in SEEDS}, baseline, "lower", 0.05, 0.01)
    assert better is not None and better.test is not None and not better.regressed
    assert better.test.p_value > 0.5


def sweep(scale: float, shift: int = 0) -> dict[str, dict[int, float]]:
    return {"gospa_mean_m": {s + shift: scale * (100.0 + s) for s in SEEDS}}


def test_no_baseline_yet_is_a_note_not_a_failure() -> None:
    history = MemoryHistory()
    history.add(sweep(1.0))
    history.add(sweep(1.0), fingerprint="other")  # another bench: not comparable
    result = judge_regressions(
        document({"sweep": sweep(2.0)}),
        SPEC,
        history,
        "d" * 64,
        FINGERPRINT,
    )
    assert result["verdict"] == "pass"
    assert result["regression"]["status"] == NO_BASELINE
    assert result["regression"]["baseline_campaigns"] == []
    assert "at least 2 needed" in result["regression"]["notes"][0]
    assert result["cases"][0]["criteria"] == []


def test_only_finished_comparable_earlier_campaigns_run_without_set_count() -> None:
    history = MemoryHistory()
    kept = [history.add(sweep(1.0)).campaign_id for _ in range(2)]
    history.add(sweep(1.0), verdict="interrupted")
    history.add(sweep(1.0), digest="e" * 64)
    history.add(sweep(3.0), overrides=("tracker.gate_probability=0.5",))
    kept += [history.add(sweep(1.01)).campaign_id for _ in range(2)]
    current = document({"sweep": sweep(1.3)}, started=EPOCH + timedelta(hours=6, minutes=30))
    history.add(sweep(1.0))  # started after the current campaign
    result = judge_regressions(current, SPEC, history, "d" * 64, FINGERPRINT)
    assert result["regression"]["baseline_campaigns"] == kept[-3:]
    (row,) = result["cases"][0]["criteria"]
    assert row["against"] == kept[-3:]


def test_a_what_if_campaign_is_judged_against_the_files_own_campaigns() -> None:
    """``--set`` is how a tuning change is tried before it is committed: its campaign is judged
    against the campaigns run as the file is written, not against other what-ifs."""
    history = MemoryHistory()
    own = [history.add(sweep(1.0)).campaign_id for _ in range(3)]
    history.add(sweep(1.3), overrides=("tracker.gate_probability=0.02",))  # an earlier what-if
    current = document(
        {"sweep": sweep(1.3)},
        started=EPOCH + timedelta(hours=6),
        overrides=("tracker.gate_probability=0.02",),
    )
    result = judge_regressions(current, SPEC, history, "d" * 64, FINGERPRINT)
    assert result["regression"]["baseline_campaigns"] == own
    assert result["verdict"] == "fail"


def test_a_regression_fails_the_case_and_the_campaign_with_its_evidence() -> None:
    history = MemoryHistory()
    for _ in range(4):
        history.add(sweep(1.0))
    current = document({"sweep": sweep(1.2), "steady": sweep(1.0)})
    history.add(sweep(1.0), case="steady")
    history.add(sweep(1.0), case="steady")
    result = judge_regressions(current, SPEC, history, "d" * 64, FINGERPRINT)
    assert result["verdict"] == "fail"
    regressed, steady = result["cases"]
    assert (regressed["verdict"], steady["verdict"]) == ("fail", "pass")
    (row,) = regressed["criteria"]
    assert row["kind"] == "regression" and row["verdict"] == "fail"
    assert (row["measurement"], row["statistic"], row["comparator"]) == (
        "gospa_mean_m",
        "median",
        "<=",
    )
    assert row["baseline"] == 104.5 and row["limit"] == pytest.approx(104.5 * 1.05)
    assert row["measured"] == pytest.approx(1.2 * 104.5)
    assert row["worse_by"] == pytest.approx(0.2)
    assert row["p_value"] == pytest.approx(1 / 256) and row["test"]["test"] == PAIRED_TEST
    assert row["against"] == ["c0001", "c0002", "c0003"]
    assert row["worst_seed"] == 8
    assert row["replay_command"] == "hil replay runs/x/recordings/sweep-seed8.mcap --compare"
    assert row["unit"] == "m"
    (steady_row,) = steady["criteria"]
    assert steady_row["verdict"] == "pass" and steady_row["p_value"] == 1.0
    assert finite_everywhere(result)
    json.dumps(result, allow_nan=False)


def test_without_a_store_nothing_is_judged_and_it_says_so() -> None:
    current = document({"sweep": sweep(5.0)})
    result = judge_regressions(current, SPEC, None, "", "")
    assert result["verdict"] == "pass" and result["regression"]["status"] == "not judged"
    assert judge_regressions(current, None, MemoryHistory(), "", "") is current


def test_a_regression_reaches_junit_and_the_exit_summary() -> None:
    history = MemoryHistory()
    for _ in range(3):
        history.add(sweep(1.0))
    result = judge_regressions(
        document({"sweep": sweep(1.5)}), SPEC, history, "d" * 64, FINGERPRINT
    )
    result |= {"wall_s": 1.0, "environment": {"host": "h"}}
    for case in result["cases"]:
        case |= {"emulated": False}
        for run in case["runs"]:
            run |= {"wall_s": 0.1, "error": None}
    failure = junit.build(result).getroot().find(".//testcase[@name='sweep of 8 runs']/failure")
    assert failure is not None and failure.text is not None
    assert failure.get("message", "").startswith("regression: median(gospa_mean_m) worse than")
    assert "reproduce: hil replay runs/x/recordings/sweep-seed8.mcap --compare" in failure.text
    lines = exit_summary(result, Path("r.json"), Path("j.xml"), None)
    assert "sweep: FAIL regression: median(gospa_mean_m)" in lines
    assert "reproduce: hil replay runs/x/recordings/sweep-seed8.mcap --compare" in lines


def test_the_exit_summary_says_when_regressions_were_not_judged() -> None:
    result = judge_regressions(document({"sweep": sweep(1.0)}), SPEC, None, "", "")
    result |= {"wall_s": 1.0}
    for case in result["cases"]:
        case |= {"emulated": False}
    lines = exit_summary(result, Path("r.json"), Path("j.xml"), None).splitlines()
    assert "  regressions: not judged" in lines
    assert "    no results store: regressions are not judged" in lines
