"""Sensor-model throughput: dwells per second for 10, 100 and 1000 targets with clutter.

Runs on one core (the process is pinned to CPU 0 and BLAS threads are limited to 1). Each case is
a raid of constant-velocity targets spread over the radar's coverage, a 12 rpm rotating antenna
with the ICD's 10 ms dwell and 2 false alarms per dwell. Real time is 100 dwells/s; the
requirement is ≥ 50× real time (5,000 dwells/s) at 1,000 targets.

Usage: python benchmarks/sim_bench.py [--seconds S] [--repeats N]
Prints a table and, last, one JSON line.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time

for _name in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_name, "1")

import numpy as np  # noqa: E402

from hil.config.scenario import ScenarioConfig  # noqa: E402
from hil.loop.sim_scenario import build_scenario  # noqa: E402
from sim.run import simulate  # noqa: E402

REALTIME_DWELLS_PER_S = 100.0
REQUIRED_FACTOR_1000 = 50.0


def scenario(count: int) -> ScenarioConfig:
    return ScenarioConfig.model_validate(
        {
            "scenario": {"name": f"bench-{count}"},
            "radar": {"rpm": 12.0, "clutter_per_dwell": 2.0},
            "raids": [
                {
                    "name": "raid",
                    "count": count,
                    "seed": 1,
                    "centre_enu_m": [0.0, 0.0, 1500.0],
                    "half_extent_m": [15000.0, 15000.0, 1000.0],
                    "heading_deg": 0.0,
                    "heading_spread_deg": 180.0,
                    "speed_mps": [100.0, 300.0],
                    "rcs_m2": [0.5, 5.0],
                }
            ],
        }
    )


def measure(count: int, seconds: float, repeats: int) -> dict[str, float]:
    built = build_scenario(scenario(count))
    simulate(built.targets, built.sensor, built.scan, 1.0, np.random.default_rng(0))  # warm-up
    best = float("inf")
    detections = 0
    for repeat in range(repeats):
        started = time.perf_counter()
        log = simulate(
            built.targets, built.sensor, built.scan, seconds, np.random.default_rng(repeat)
        )
        best = min(best, time.perf_counter() - started)
        detections = len(log.range_m)
    dwells = seconds * REALTIME_DWELLS_PER_S
    rate = dwells / best
    return {
        "targets": count,
        "dwells": dwells,
        "detections_last_run": detections,
        "best_wall_s": best,
        "dwells_per_s": rate,
        "us_per_dwell": 1e6 / rate,
        "realtime_factor": rate / REALTIME_DWELLS_PER_S,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=30.0, help="simulated seconds per run")
    parser.add_argument("--repeats", type=int, default=3, help="runs per case (best is kept)")
    args = parser.parse_args()
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})
    results = [measure(n, args.seconds, args.repeats) for n in (10, 100, 1000)]
    print(
        f"sensor model, {args.seconds:g} s simulated per run, best of {args.repeats}, one core "
        f"({platform.processor() or platform.machine()}, numpy {np.__version__})"
    )
    print(f"{'targets':>8} {'dwells/s':>10} {'µs/dwell':>9} {'x real time':>12}")
    for r in results:
        print(
            f"{r['targets']:>8} {r['dwells_per_s']:>10,.0f} {r['us_per_dwell']:>9.1f} "
            f"{r['realtime_factor']:>12.1f}"
        )
    factor = results[-1]["realtime_factor"]
    passed = factor >= REQUIRED_FACTOR_1000
    print(
        f"1000 targets: {factor:.1f}x real time (required ≥ {REQUIRED_FACTOR_1000:g}x): "
        f"{'PASS' if passed else 'FAIL'}"
    )
    print(
        json.dumps(
            {
                "benchmark": "sim_bench",
                "cases": results,
                "required_factor_1000": REQUIRED_FACTOR_1000,
                "pass": passed,
            }
        )
    )
    return 0 if passed else 1


if __name__ == "__main__":
    sys.exit(main())
