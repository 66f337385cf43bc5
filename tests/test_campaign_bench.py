"""The campaign benchmark at a tiny size: every figure is there and the three sweeps ran (the
pool with 1 and 2 jobs, a 2-worker local Dask cluster) with the same digests."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parents[1] / "benchmarks" / "campaign_bench.py"


LOADED_S = 540
"""The tiny sweep's bound: well under a minute alone; it passed 110 s once on a machine loaded
4-fold (other suites beside this one), and its figures are the benchmark's, not a time limit."""


@pytest.mark.timeout(LOADED_S + 60)
def test_tiny_sweep_reports_every_figure() -> None:
    done = subprocess.run(
        [sys.executable, str(BENCH), "--runs", "4", "--duration", "1", "--no-demo"],
        capture_output=True, text=True, timeout=LOADED_S, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    figures = json.loads(done.stdout.strip().splitlines()[-1])
    assert figures["jobs1_verdict"] == figures["jobs2_verdict"] == "pass"
    assert figures["dask2_verdict"] == "pass"
    for key in ("jobs1_runs_per_min", "jobs2_runs_per_min", "speedup", "dask2_runs_per_min",
                "dask2_runs_per_min_per_worker_core", "dask2_over_jobs2"):  # fmt: skip
        assert figures[key] > 0, key
    assert figures["dask2_digests_equal_jobs2"] is True
    assert "report_render_s" in figures and "demo_wall_s" not in figures
    assert set(figures["goals"]) == {"speedup_ge_1_8", "dask_within_10_pct", "dask_same_digests"}
    assert "speed-up 2 jobs / 1 job" in done.stdout
    assert "Dask wall / 2-job pool wall" in done.stdout
