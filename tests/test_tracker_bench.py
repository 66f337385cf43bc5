"""The tracker benchmark runs, and on its short 3-D case and its long-range 2-D case this tracker
is as accurate as Stone Soup and FilterPy: same detections, matched settings, GOSPA within 5 % of
the better peer and no more missed targets per scan."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

BENCH = Path(__file__).resolve().parents[1] / "benchmarks" / "tracker_bench.py"
PEERS = ("stonesoup", "filterpy")
PEER_CAP_S = 240
"""How long each peer tracker may take (its run is cut, "capped", after that): 30 s was passed
by a peer once on a machine loaded 4-fold, which failed the agreement for nothing hil did."""
LOADED_S = 600


def run_bench(*args: str) -> dict[str, Any]:
    done = subprocess.run(
        [sys.executable, str(BENCH), "--peer-cap-s", str(PEER_CAP_S), *args],
        capture_output=True, text=True, timeout=LOADED_S, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def check_peer_agreement(result: dict[str, Any], case: str, scans: int) -> dict[str, Any]:
    """Every tracker ran every scan; hil's GOSPA and misses are no worse than the better peer's."""
    by_name = {r["tracker"]: r for r in result["trackers"] if r["case"] == case}
    assert set(by_name) == {"hil", *PEERS}
    assert all(r["scans"] == scans and not r["capped"] for r in by_name.values())
    ours = by_name["hil"]
    peers = [by_name[name] for name in PEERS]
    assert ours["gospa_mean_m"] is not None and all(p["gospa_mean_m"] is not None for p in peers)
    assert ours["gospa_mean_m"] <= 1.05 * min(p["gospa_mean_m"] for p in peers)
    assert ours["missed_per_scan"] <= min(p["missed_per_scan"] for p in peers) + 0.2
    (goal,) = [g for g in result["goals"] if g["case"] == case]
    assert goal["hil_gospa"] is not None and goal["speedup_vs_filterpy"] is not None
    hil: dict[str, Any] = ours
    return hil


@pytest.mark.timeout(LOADED_S + 60)
def test_short_3d_case_smoke_and_peer_agreement() -> None:
    result = run_bench("--cases", "short-3d", "--sizes", "10", "--scans", "10",
                       "--loop-duration-s", "1")  # fmt: skip
    ours = check_peer_agreement(result, "short-3d", 10)
    # 10 targets at c = 200 m: all missed would be 447 m; one still unconfirmed ≈ 150 m
    assert ours["gospa_mean_m"] < 250.0
    assert result["loop"]["frames"] == 100 and result["loop"]["latency_p99_ms"] > 0


@pytest.mark.timeout(LOADED_S + 60)
def test_long_2d_case_peer_agreement() -> None:
    """20-80 km, bearing σ 0.1°, 3-of-5 confirmation: the case issue 10 found hil worse on."""
    result = run_bench("--cases", "long-2d", "--sizes", "15", "--scans", "15",
                       "--loop-duration-s", "0")  # fmt: skip
    ours = check_peer_agreement(result, "long-2d", 15)
    # 15 targets at c = 1000 m: all missed would be 2739 m; the peers keep every target
    assert ours["gospa_mean_m"] < 500.0
    assert ours["targets_never_confirmed"] == 0
    assert result["loop"] is None
