"""``hil results trend`` and ``hil results compare`` (issue 23 §2) over an in-memory history
(``history_support.MemoryHistory``, the store's interface): rows, rig changes, the PNG, the
JSON, and the one-line errors."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import pytest
from history_support import MemoryHistory, finite_everywhere

from hil.cli.results_analysis_cmd import register
from hil.errors import ConfigError

SEEDS = range(1, 11)


def run(history: MemoryHistory, *argv: str) -> int:
    parser = argparse.ArgumentParser(prog="hil results")
    register(parser.add_subparsers(dest="command", required=True), lambda args: history)
    args = parser.parse_args(argv)
    code: int = args.handler(args)
    return code


@pytest.fixture
def history() -> MemoryHistory:
    stored = MemoryHistory()
    for number in range(4):
        fingerprint = "f" * 64 if number < 2 else "g" * 64  # the bench changed before #2
        sweep = {"gospa_mean_m": {s: 100.0 + number * 10 + s for s in SEEDS}}
        stored.add(sweep, fingerprint=fingerprint, commit=f"{number:040d}")
        stored.values += [
            stored.values[-1].__class__(
                f"c{number:04d}", "single", "emulate", 0, "gospa_mean_m", 50.0 + number, "m"
            )
        ]
    return stored


def test_trend_rows_bands_and_rig_changes(
    history: MemoryHistory, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run(history, "trend", "gospa_mean_m", "--json") == 0
    out = json.loads(capsys.readouterr().out)
    single, sweep = out["series"]
    assert (single["case"], sweep["case"]) == ("single", "sweep")
    assert [p["median"] for p in single["points"]] == [50.0, 51.0, 52.0, 53.0]
    assert [p["n"] for p in sweep["points"]] == [10] * 4
    assert [p["median"] for p in sweep["points"]] == [105.5, 115.5, 125.5, 135.5]
    assert sweep["points"][0]["p5"] == pytest.approx(101.45)
    assert [p["rig_changed"] for p in sweep["points"]] == [False, False, True, False]
    assert sweep["unit"] == "m" and finite_everywhere(out)


def test_trend_table_filters_and_png(
    history: MemoryHistory, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    png = tmp_path / "trend.png"
    code = run(
        history, "trend", "gospa_mean_m", "--case", "sweep", "--last", "3", "--png", str(png)
    )
    assert code == 0
    out = capsys.readouterr().out
    assert "case sweep" in out and "case single" not in out
    assert "c0000" not in out and "c0001" in out and "c0003" in out
    assert "101.45 – 109.55" not in out and "111.45 – 119.55" in out
    changed = [line for line in out.splitlines() if "c0002" in line]
    assert len(changed) == 1 and "*" in changed[0]
    assert png.read_bytes().startswith(b"\x89PNG")


def test_trend_of_nothing_is_exit_1_and_bad_measurements_are_one_line(
    history: MemoryHistory, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run(history, "trend", "rmse_m") == 1
    assert "no stored campaign measured rmse_m" in capsys.readouterr().out
    with pytest.raises(ConfigError, match=r"MEASUREMENT gospa: .*unknown measurement 'gospa'"):
        run(history, "trend", "gospa")
    with pytest.raises(ConfigError, match="a state has no trend"):
        run(history, "trend", "rig_final_state")
    with pytest.raises(SystemExit) as stopped:
        run(history, "trend", "rmse_m", "--last", "0")
    assert stopped.value.code == 2


def test_compare_paired_sweep_and_single(
    history: MemoryHistory, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run(history, "compare", "c0000", "c0003", "--json") == 0
    out = json.loads(capsys.readouterr().out)
    assert out["comparable"] is False
    single, sweep = out["rows"]
    assert (single["delta"], single["judgement"], single["test"]) == (3.0, "worse", None)
    assert sweep["delta"] == 30.0 and sweep["judgement"] == "worse"
    assert sweep["better"] == "lower"
    assert sweep["test"]["test"] == "wilcoxon-signed-rank"
    assert sweep["test"]["p_value"] == pytest.approx(2 / 1024)
    assert sweep["test"]["effect_size"] == 1.0
    assert finite_everywhere(out)
    assert run(history, "compare", "c0003", "c0002") == 0
    table = capsys.readouterr().out
    assert "better" in table and "paired" in table and "-1.00" in table


def test_compare_unknown_or_ambiguous_id_is_one_line(history: MemoryHistory) -> None:
    with pytest.raises(ConfigError, match="A nope: no stored campaign has this id"):
        run(history, "compare", "nope", "c0001")
    with pytest.raises(ConfigError, match="B c000: the prefix of 4 campaigns"):
        run(history, "compare", "c0001", "c000")
