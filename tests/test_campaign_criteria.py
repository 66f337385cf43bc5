"""Campaign criteria: the parser against the measurement table, verdicts, sweep statistics."""

from __future__ import annotations

import math
import re
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from hil.campaign.criteria import (
    COMPARATORS,
    FRACTION_PASSING,
    STATISTICS,
    Criterion,
    judge_run,
    judge_sweep,
    parse,
)
from hil.campaign.measurements import MEASUREMENTS, RecordingFacts, measure

NUMERIC = sorted(name for name, m in MEASUREMENTS.items() if not m.is_text)
TEXT = sorted(name for name, m in MEASUREMENTS.items() if m.is_text)


def test_issue_examples_parse() -> None:
    assert parse("gospa_mean_m <= 60", sweep=False) == Criterion(
        "gospa_mean_m", (), None, "<=", 60.0
    )
    injected = parse('launches{source="injected"} >= 1', sweep=False)
    assert injected.key == 'launches{source="injected"}' and injected.labels == (
        ("source", "injected"),
    )
    assert parse("p95(latency_p99_ms) <= 5", sweep=True).statistic == "p95"
    assert parse("fraction_passing >= 0.95", sweep=True).statistic == FRACTION_PASSING
    assert parse("rig_final_state == SAFE", sweep=False).limit == "SAFE"
    assert parse('rig_final_state != "ARMED"', sweep=False).text == 'rig_final_state != "ARMED"'


@pytest.mark.parametrize(
    ("text", "sweep", "says"),
    [
        ("gospa_mean <= 60", False, "unknown measurement 'gospa_mean'; known: frames (count)"),
        ("gospa_mean_m => 60", False, "OP one of <= < >= > == !="),
        ("gospa_mean_m <= sixty", False, "is not a number"),
        ("gospa_mean_m <= nan", False, "finite number"),
        ("gospa_mean_m <= inf", False, "finite number"),
        (
            'launches{colour="red"} >= 1',
            False,
            "launches has no label 'colour'; its labels: source",
        ),
        ('launches{source="decoy"} >= 1', False, "is not one of injected, real"),
        ("launches{source=injected} >= 1", False, 'write key="value"'),
        ("mean(gospa_mean_m) <= 60", False, "put it in sweep_criteria"),
        ("fraction_passing >= 0.9", False, "put it in sweep_criteria"),
        ("gospa_mean_m <= 60", True, "needs a statistic"),
        ("median(gospa_mean_m) <= 60", True, "unknown statistic 'median'; allowed: mean"),
        ("fraction_passing >= 1.5", True, "between 0 and 1"),
        ("rig_final_state <= SAFE", False, "compared with == or != only"),
        ("rig_final_state == 'SAFE'", False, "write it in quotes"),
        ("mean(rig_final_state) == SAFE", True, "a state, not a number"),
    ],
)
def test_bad_criteria_say_what_is_allowed(text: str, sweep: bool, says: str) -> None:
    with pytest.raises(ValueError, match=re.escape(says)) as error:
        parse(text, sweep=sweep)
    assert "\n" not in str(error.value)


limits = st.floats(allow_nan=False, allow_infinity=False, width=64)
words = st.from_regex(r"[A-Za-z_][A-Za-z0-9_]{0,12}", fullmatch=True)


@st.composite
def criteria(draw: st.DrawFn) -> tuple[Criterion, bool]:
    comparator = draw(st.sampled_from(sorted(COMPARATORS)))
    if draw(st.booleans()) and TEXT:
        name = draw(st.sampled_from(TEXT))
        word = draw(words)
        return Criterion(name, (), None, draw(st.sampled_from(["==", "!="])), word), False
    if draw(st.integers(0, 5)) == 0:
        fraction = draw(st.floats(0.0, 1.0))
        return Criterion(FRACTION_PASSING, (), FRACTION_PASSING, comparator, fraction), True
    name = draw(st.sampled_from(NUMERIC))
    labels: tuple[tuple[str, str], ...] = ()
    allowed = MEASUREMENTS[name].labels
    if allowed and draw(st.booleans()):
        key = draw(st.sampled_from(sorted(allowed)))
        labels = ((key, draw(st.sampled_from(allowed[key]))),)
    statistic = draw(st.sampled_from([None, *STATISTICS]))
    return Criterion(name, labels, statistic, comparator, draw(limits)), statistic is not None


@given(criteria())
def test_text_parses_back_to_the_same_criterion(drawn: tuple[Criterion, bool]) -> None:
    criterion, sweep = drawn
    again = parse(criterion.text, sweep=sweep)
    assert again == criterion
    assert again.text == criterion.text


@given(criteria(), st.sampled_from(["", " ", "  "]))
def test_spacing_does_not_matter(drawn: tuple[Criterion, bool], gap: str) -> None:
    criterion, sweep = drawn
    spaced = criterion.text.replace(
        f" {criterion.comparator} ", f"{gap}{criterion.comparator}{gap}"
    )
    assert parse(spaced, sweep=sweep) == criterion


def _summary(**overrides: object) -> dict[str, object]:
    summary: dict[str, object] = {
        "frames": 1000, "detections": 10, "injected_detections": 2, "tracks_confirmed": 2,
        "engagements": 2, "launch_requests": 2, "launches": 2, "launch_requests_refused": 0,
        "fire_suppressed": 0, "gospa_mean_m": 41.2, "ospa_mean_m": 30.0, "rmse_m": 12.0,
        "id_switches": 0, "time_to_confirm_mean_s": 2.0, "false_track_fraction": 0.0,
        "latency_p50_ms": 0.3, "latency_p99_ms": 0.9, "latency_max_ms": 3.0,
        "jitter_p99_ms": None, "duration_s": 10.0, "rig_final_state": "SAFE",
        "engagement_log": [
            {"outcome": "launched", "source": "injected"},
            {"outcome": "launched", "source": "real"},
            {"outcome": "aborted", "source": "injected"},
        ],
        "links": {
            "radar": {"source": "driver", "outages": 1, "longest_outage_s": 0.4,
                      "driver": {"lost_frames": 3, "queue_drops": 1}},
            "plc": {"source": "driver", "outages": 0, "longest_outage_s": 0.0},
        },
        "devices_lost": [],
    }  # fmt: skip
    summary.update(overrides)
    return summary


def test_measurements_from_a_summary() -> None:
    values = measure(_summary(), RecordingFacts(launches_with_interlock_false=0))
    assert values['launches{source="injected"}'] == 1 and values['launches{source="real"}'] == 1
    assert values["frames_lost"] == 4 and values["time_to_confirm_s"] == 2.0
    assert values["jitter_p99_ms"] is None and values["rig_final_state"] == "SAFE"
    assert values["radar_outages"] == 1 and values["devices_lost"] == 0
    assert measure(_summary(gospa_mean_m=math.nan), RecordingFacts())["gospa_mean_m"] is None


def test_run_verdicts_carry_measured_value_and_limit() -> None:
    values = measure(_summary(), RecordingFacts())
    rows = judge_run(
        [
            parse("gospa_mean_m <= 40", sweep=False),
            parse('launches{source="real"} >= 1', sweep=False),
            parse("jitter_p99_ms <= 5", sweep=False),
            parse("launches_with_interlock_false == 0", sweep=False),
            parse('rig_final_state == "SAFE"', sweep=False),
        ],
        values,
    )
    assert [r["verdict"] for r in rows] == ["fail", "pass", "error", "error", "pass"]
    assert (rows[0]["measured"], rows[0]["limit"], rows[0]["unit"]) == (41.2, 40.0, "m")
    assert "jitter_p99_ms was not measured" in rows[2]["reason"]


def test_sweep_statistics_over_the_runs() -> None:
    runs = [
        {"seed": s, "verdict": v, "measurements": {"gospa_mean_m": g}}
        for s, v, g in [(1, "pass", 10.0), (2, "pass", 20.0), (3, "fail", 60.0)]
    ]
    criteria = [
        parse("mean(gospa_mean_m) <= 30", sweep=True),
        parse("max(gospa_mean_m) <= 50", sweep=True),
        parse("fraction_passing >= 0.6", sweep=True),
        parse("mean(rmse_m) <= 1", sweep=True),
    ]
    rows = judge_sweep(criteria, runs)
    assert [(r["measured"], r["verdict"]) for r in rows[:3]] == [
        (30.0, "pass"), (60.0, "fail"), (0.666667, "pass"),
    ]  # fmt: skip
    assert rows[3]["verdict"] == "error" and "seeds [1, 2, 3]" in rows[3]["reason"]
    interrupted = judge_sweep(criteria, [*runs, {"seed": 4, "verdict": "not_run"}])
    assert {r["verdict"] for r in interrupted} == {"error"}
    assert "1 of 4 runs did not run" in interrupted[0]["reason"]


def test_docs_list_every_measurement_with_its_unit() -> None:
    docs = (Path(__file__).resolve().parents[1] / "docs" / "campaigns.md").read_text()
    rows = {
        line.split("|")[1].strip().strip("`"): line.split("|")[2].strip()
        for line in docs.splitlines()
        if line.startswith("| `")
    }
    assert rows == {name: m.unit for name, m in MEASUREMENTS.items()}
