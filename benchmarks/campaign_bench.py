"""Campaign figures: the benchmarks of issues 12 and 13.

Every campaign runs as an operator runs it, ``hil campaign run ... --json`` in a child process
(start-up, worker spawning and writing the results included), its results under a temporary
directory deleted at the end. Measured:

1. **Demo wall time**: configs/campaigns/demo.toml (emulated rig, then a sim sweep): goal under
   120 s. Left out with ``--no-demo``.
2. **Monte-Carlo sweep**: one ``sim`` case of ``--runs`` seeds of ``--scenario`` (default
   raid-100) for ``--duration`` seconds each, with ``--jobs 1`` and ``--jobs 2``: runs per
   minute (wall) and the speed-up of 2 jobs over 1 (goal ≥ 1.8× on 2 cores).
3. **The same sweep on Dask** (issue 13): ``--executor local-dask:2``, a 2-worker local Dask
   cluster (its start and close included): runs per minute, per worker core, and its wall time
   over the 2-job pool's (goal ≤ 1.10: within 10 %); the digests of both sweeps must be equal.
   ``--sweeps`` chooses which of ``jobs1``, ``jobs2``, ``dask2`` run (default: all).
4. **Report render time** for the 2-job sweep's results folder: ``hil.campaign.report.render``
   in a child process (None when that module is not installed).

Prints a table, then the figures as one JSON line (last line).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
SCENARIOS = REPO / "configs" / "scenarios"
SIM_RIG = REPO / "configs" / "rigs" / "sim.toml"
DEMO_GOAL_S = 120.0
SPEEDUP_GOAL = 1.8
DASK_OVER_POOL_GOAL = 1.10
SWEEPS = {
    "jobs1": ("--executor", "pool", "--jobs", "1"),
    "jobs2": ("--executor", "pool", "--jobs", "2"),
    "dask2": ("--executor", "local-dask:2"),
}


def campaign(folder: Path, scenario: Path, runs: int, duration_s: float) -> Path:
    path = folder / "sweep.toml"
    path.write_text(
        f'[campaign]\nname = "sweep"\nrig = "{SIM_RIG}"\n\n'
        f'[[cases]]\nname = "monte-carlo"\nmode = "sim"\nscenario = "{scenario}"\n'
        f"duration_s = {duration_s}\nseeds = {runs}\n"
        'criteria = ["launches_with_interlock_false == 0"]\n'
    )
    return path


def run_campaign(*args: str, timeout_s: float) -> tuple[float, dict[str, Any]]:
    """Wall seconds of ``hil campaign run ARGS --json`` and its outcome line."""
    started = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-m", "hil", "campaign", "run", *args, "--json"],
        capture_output=True,
        text=True,
        timeout=timeout_s,
        check=False,
    )
    wall = time.perf_counter() - started
    if done.returncode not in (0, 1):
        why = done.stderr.strip()[-500:]
        raise SystemExit(f"hil campaign run {' '.join(args)} exited {done.returncode}: {why}")
    return wall, json.loads(done.stdout.strip().splitlines()[-1])


def render_seconds(folder: str) -> float | None:
    """Seconds ``hil.campaign.report.render(folder)`` takes in a fresh child (None when the
    report renderer is not installed)."""
    code = (
        "import importlib.util, sys, time\n"
        "if importlib.util.find_spec('hil.campaign.report') is None:\n"
        "    print('null'); sys.exit(0)\n"
        "from hil.campaign.report import render\n"
        "t = time.perf_counter(); render(__import__('pathlib').Path(sys.argv[1]))\n"
        "print(time.perf_counter() - t)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code, folder], capture_output=True, text=True, check=False
    )
    if done.returncode != 0:
        raise SystemExit(f"rendering the report failed: {done.stderr.strip()[-500:]}")
    value = json.loads(done.stdout.strip().splitlines()[-1])
    return None if value is None else round(float(value), 3)


def digests(results_file: str) -> list[tuple[int, str | None]]:
    """(seed, digest) of every run of a results.json."""
    results = json.loads(Path(results_file).read_text())
    return [
        (run["seed"], (run["summary"] or {}).get("digest"))
        for case in results["cases"]
        for run in case["runs"]
    ]


def sweeps_argument(text: str) -> list[str]:
    chosen = [name.strip() for name in text.split(",") if name.strip()]
    unknown = [name for name in chosen if name not in SWEEPS]
    if unknown or not chosen:
        choice = ", ".join(SWEEPS)
        raise argparse.ArgumentTypeError(f"{text!r}: a comma-separated choice of {choice}")
    return chosen


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=200, help="sweep runs (default 200)")
    parser.add_argument("--duration", type=float, default=60.0, help="seconds per run (60)")
    parser.add_argument("--scenario", type=Path, default=SCENARIOS / "raid-100.toml")
    parser.add_argument("--no-demo", action="store_true", help="leave out the demo campaign")
    parser.add_argument(
        "--sweeps",
        type=sweeps_argument,
        default=list(SWEEPS),
        help="which sweeps run, comma-separated: jobs1, jobs2, dask2 (default: all)",
    )
    args = parser.parse_args()
    figures: dict[str, Any] = {
        "runs": args.runs,
        "duration_s": args.duration,
        "scenario": args.scenario.stem,
    }
    budget = max(600.0, args.runs * args.duration * 2)
    with tempfile.TemporaryDirectory(prefix="hil-campaign-bench-") as temp:
        folder = Path(temp)
        if not args.no_demo:
            wall, outcome = run_campaign("--out", str(folder / "demo"), timeout_s=600)
            figures["demo_wall_s"] = round(wall, 1)
            figures["demo_verdict"] = outcome["verdict"]
        path = campaign(folder, args.scenario, args.runs, args.duration)
        walls = {}
        seeds_digests = {}
        for name in args.sweeps:
            out = folder / name
            wall, outcome = run_campaign(str(path), "--out", str(out), *SWEEPS[name],
                                         timeout_s=budget)  # fmt: skip
            walls[name] = wall
            seeds_digests[name] = digests(outcome["results"])
            figures[f"{name}_wall_s"] = round(wall, 1)
            figures[f"{name}_runs_per_min"] = round(args.runs / wall * 60, 1)
            figures[f"{name}_verdict"] = outcome["verdict"]
            if name == "jobs2" or (name == "dask2" and "jobs2" not in args.sweeps):
                figures["report_render_s"] = render_seconds(outcome["folder"])
    goals = {}
    if "jobs1" in walls and "jobs2" in walls:
        figures["speedup"] = round(walls["jobs1"] / walls["jobs2"], 2)
        goals["speedup_ge_1_8"] = figures["speedup"] >= SPEEDUP_GOAL
    if "dask2" in walls:
        figures["dask2_runs_per_min_per_worker_core"] = round(figures["dask2_runs_per_min"] / 2, 1)
    if "dask2" in walls and "jobs2" in walls:
        figures["dask2_over_jobs2"] = round(walls["dask2"] / walls["jobs2"], 3)
        figures["dask2_digests_equal_jobs2"] = seeds_digests["dask2"] == seeds_digests["jobs2"]
        goals["dask_within_10_pct"] = figures["dask2_over_jobs2"] <= DASK_OVER_POOL_GOAL
        goals["dask_same_digests"] = figures["dask2_digests_equal_jobs2"]
    if "demo_wall_s" in figures:
        goals["demo_under_120_s"] = figures["demo_wall_s"] < DEMO_GOAL_S
    figures["goals"] = goals
    print(f"campaign benchmark: {args.runs} runs of {args.scenario.stem}, {args.duration} s each")
    rows = [
        ("demo wall time", figures.get("demo_wall_s"), "s"),
        ("sweep --jobs 1", figures.get("jobs1_runs_per_min"), "runs/min"),
        ("sweep --jobs 2", figures.get("jobs2_runs_per_min"), "runs/min"),
        ("speed-up 2 jobs / 1 job", figures.get("speedup"), "×"),
        ("sweep local-dask:2", figures.get("dask2_runs_per_min"), "runs/min"),
        ("  per Dask worker core", figures.get("dask2_runs_per_min_per_worker_core"), "runs/min"),
        ("Dask wall / 2-job pool wall", figures.get("dask2_over_jobs2"), "×"),
        ("Dask digests = pool digests", figures.get("dask2_digests_equal_jobs2"), ""),
        ("report render (2-job sweep)", figures.get("report_render_s"), "s"),
    ]
    for label, value, unit in rows:
        shown = "—" if value is None else f"{value} {unit}".strip()
        print(f"  {label:<30} {shown}")
    print(json.dumps(figures))
    return 0


if __name__ == "__main__":
    sys.exit(main())
