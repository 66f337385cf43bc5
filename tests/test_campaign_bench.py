"""The campaign benchmark at a tiny size: every figure is there and both sweeps ran."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

BENCH = Path(__file__).resolve().parents[1] / "benchmarks" / "campaign_bench.py"


def test_tiny_sweep_reports_every_figure() -> None:
    done = subprocess.run(
        [sys.executable, str(BENCH), "--runs", "4", "--duration", "1", "--no-demo"],
        capture_output=True, text=True, timeout=110, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    figures = json.loads(done.stdout.strip().splitlines()[-1])
    assert figures["jobs1_verdict"] == figures["jobs2_verdict"] == "pass"
    for key in ("jobs1_runs_per_min", "jobs2_runs_per_min", "speedup"):
        assert figures[key] > 0, key
    assert "report_render_s" in figures and "demo_wall_s" not in figures
    assert set(figures["goals"]) == {"speedup_ge_1_8"}
    assert "speed-up 2 jobs / 1 job" in done.stdout
