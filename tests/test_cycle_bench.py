"""The cycle benchmark runs (small), against a baseline tree, and prints every stage for both
trees and one JSON line."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

BENCH = Path(__file__).resolve().parents[1] / "benchmarks" / "cycle_bench.py"
STAGES = {"sim_frame", "inject", "track", "picture", "fire_control", "observers"}


def test_cycle_bench_smoke() -> None:
    """The baseline is this checkout as a directory: a ``git archive`` of HEAD would start with
    an empty numba cache and spend 40 s of the suite compiling (the child, its import path and
    the comparison are the same either way; ``git archive`` itself is one subprocess)."""
    done = subprocess.run(
        [sys.executable, str(BENCH), "--seconds", "1", "--repeats", "1", "--rounds", "1",
         "--baseline", str(BENCH.parents[1])],
        capture_output=True, text=True, timeout=300, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    lines = done.stdout.strip().splitlines()
    assert lines[0].startswith("raid-100, 1 s, 100 cycles")
    result = json.loads(lines[-1])
    assert result["benchmark"] == "cycle_bench"
    assert set(result["new_us_per_cycle"]) == STAGES == set(result["old_us_per_cycle"])
    assert all(v >= 0 for v in result["new_us_per_cycle"].values())
    assert result["new_us_per_cycle"]["track"] > 0
    assert result["digests_identical"] is True  # the same tree made the same tracks
