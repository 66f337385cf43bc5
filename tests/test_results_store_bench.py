"""The results store benchmark runs at tiny sizes: every figure is there and positive, the trend
query found every sample, and its temporary folder is gone. PostgreSQL is left out here
(``--no-postgres``): the benchmark's temporary folder is under this test's tmp_path, which the
``postgres`` user cannot enter when the suite runs as root; tests/test_results_store.py writes
to a real server."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

BENCH = Path(__file__).resolve().parents[1] / "benchmarks" / "results_store_bench.py"


def test_tiny_run_reports_every_figure(tmp_path: Path) -> None:
    temp = tmp_path / "tmp"
    temp.mkdir()
    done = subprocess.run(
        [sys.executable, str(BENCH), "--runs", "20", "--measurements", "5", "--campaigns", "7",
         "--trend-runs", "3", "--no-postgres"],
        capture_output=True, text=True, timeout=120, check=False,
        env={**os.environ, "TMPDIR": str(temp)},
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout.strip().splitlines()[-1])
    assert result["benchmark"] == "results_store_bench"
    assert result["sqlite_write_s"] > 0 and result["sqlite_open_s"] > 0
    assert result["postgres_write_s"] is None and result["postgres_skipped"] == "--no-postgres"
    assert result["trend_query_s"] > 0 and result["trend_samples"] == 7 * 3
    assert set(result["goals_met"]) == {
        "sqlite_write_s", "postgres_write_s", "trend_query_s", "trend_command_s"
    }  # fmt: skip
    assert result["trend_command_s"] > 0 and result["trend_command_points"] == 7
    assert result["goals_met"]["postgres_write_s"] is False
    assert "postgres_write_s   skipped: --no-postgres" in done.stdout
    assert not list(temp.iterdir())  # the benchmark left nothing behind


def test_bad_argument_is_one_line_and_exit_2() -> None:
    done = subprocess.run(
        [sys.executable, str(BENCH), "--runs", "0"],
        capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert done.returncode == 2
    assert "--runs: expected a whole number ≥ 1, got '0'" in done.stderr.splitlines()[-1]
