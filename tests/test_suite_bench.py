"""The suite benchmark (issue 22's ``make test`` figure) at the smoke test's size: one small test
file through ``make pytest`` in this checkout, every figure there and the selection honoured."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

BENCH = Path(__file__).resolve().parents[1] / "benchmarks" / "suite_bench.py"


def test_one_file_through_make_pytest_reports_its_figures(tmp_path: Path) -> None:
    selection = f"tests/test_suite_distribution.py -p no:cacheprovider --basetemp={tmp_path}/bt"
    done = subprocess.run(
        [sys.executable, str(BENCH), "--here", "--steps", "pytest", "--pytest-args", selection],
        capture_output=True, text=True, timeout=110, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout.strip().splitlines()[-1])
    (step,) = result["steps"]
    assert step["name"] == "pytest" and step["status"] == 0, done.stderr
    assert step["counts"] == {"passed": 1}
    assert step["wall_s"] > 0 and step["cpu_s"] > 0
    assert result["goal_met"] is None  # a part of make test is not the goal's figure
    assert "slowest:" in done.stdout
