"""The trend benchmark runs (small) and prints its figures and one JSON line that adds up."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

BENCH = Path(__file__).resolve().parents[1] / "benchmarks" / "trend_bench.py"


def test_trend_bench_smoke() -> None:
    done = subprocess.run(
        [sys.executable, str(BENCH), "--campaigns", "250", "--seeds", "3", "--repeats", "1"],
        capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    lines = done.stdout.strip().splitlines()
    assert lines[0].startswith("250 campaigns × 3 seeds")
    result = json.loads(lines[-1])
    assert result["benchmark"] == "trend" and result["points"] == 250
    assert result["samples_of_measurement"] == 750 and result["samples_all"] == 750 * 30
    assert result["rig_changes"] == 2  # the fingerprint changes every 100 campaigns
    parts = result["trend_s"] + result["json_s"] + result["plot_s"]
    assert abs(result["analysis_total_s"] - parts) < 1e-3
    assert result["png_bytes"] > 0 and result["within_goal"] is (parts <= result["goal_s"])
