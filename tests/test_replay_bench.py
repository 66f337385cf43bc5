"""The replay benchmark runs at tiny sizes: every figure is there, nothing was dropped, the
verification passed, the big file was read whole, and its temporary directory is gone."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parents[1] / "benchmarks" / "replay_bench.py"
BIG_MIB = 8


LOADED_S = 540
"""The tiny run's bound: ~40 s alone; it passed the suite's 120 s once on a machine loaded 4-fold
(other suites beside this one), and its figures are the benchmark's, not a time limit."""


@pytest.mark.timeout(LOADED_S + 60)
def test_tiny_run_reports_every_figure_and_drops_nothing(tmp_path: Path) -> None:
    # the benchmark's temporary folders go under tmp_path (TMPDIR), so another suite running
    # the same benchmark at the same time cannot make a folder appear or vanish here
    temp = tmp_path / "tmp"
    temp.mkdir()
    done = subprocess.run(
        [sys.executable, str(BENCH), "--minutes", "0.1", "--big-mib", str(BIG_MIB),
         "--runs", "1", "--sim-s", "1", "--emulate-s", "1"],
        capture_output=True, text=True, timeout=LOADED_S, check=False,
        env={**os.environ, "TMPDIR": str(temp)},
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout.strip().splitlines()[-1])
    assert set(result) >= {"overhead", "replay", "memory", "size_mb_per_min", "dropped",
                           "goals", "goals_met"}  # fmt: skip
    assert result["dropped"] == 0
    sim, emulate = result["overhead"]
    for overhead in (sim, emulate):
        assert overhead["dropped"] == 0 and overhead["messages"] > 0 and not overhead["errors"]
        for key in ("latency_p50_ms_off", "latency_p99_ms_on", "observe_p50_ms"):
            assert overhead[key] > 0, key
    assert sim["wall_ms_per_cycle_on"] > 0 and emulate["wall_ms_per_cycle_on"] is None
    replay = result["replay"]
    assert replay["read_cycles"] == 600  # 6 s at 100 frames/s
    assert "bit-identical" in replay["verify_says"]
    assert replay["replay_x_real_time"] > 0 and replay["read_x_real_time"] > 0
    memory = result["memory"]
    assert memory["big_mb"] * 1e6 >= BIG_MIB * 2**20 and memory["big_write_error"] is None
    assert memory["messages"] == memory["big_messages"] > 0
    assert memory["read_peak_rss_mb"] >= 0 and memory["rss_peak_mb"] < 1000
    assert replay["replay_peak_rss_mb"] > 0 and replay["verify_peak_rss_mb"] > 0
    assert result["size_mb_per_min"]["sim"] > 0 and result["size_mb_per_min"]["emulate"] > 0
    assert set(result["goals_met"]) == {"replay_x_real_time", "read_x_real_time",
                                        "read_peak_rss_mb", "big_file_at_least_1_gib"}  # fmt: skip
    assert not result["goals_met"]["big_file_at_least_1_gib"]
    assert not list(temp.iterdir())  # the benchmark left nothing behind


def test_bad_argument_is_one_line_and_exit_2() -> None:
    done = subprocess.run(
        [sys.executable, str(BENCH), "--runs", "0"],
        capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert done.returncode == 2
    assert "--runs: expected a whole number ≥ 1, got '0'" in done.stderr.splitlines()[-1]
