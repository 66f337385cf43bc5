"""Per-stage cost of one loop cycle on raid-100, this tree against a baseline, in one run.

One sim run of configs/scenarios/raid-100.toml on configs/rigs/sim.toml (seed 0, ``--seconds``
of loop time, 100 frames/s) is captured as its cycle inputs; then each stage is timed alone,
``--repeats`` times (best kept), on those inputs:

- ``sim_frame``: the sensor model's dwell (``scan.pose_at``, ``targets.state_at``,
  ``RadarSensor.observe``, ``frame_from_dwell``) for every dwell of the run, seeded as the rig;
- ``inject``: ``Injector.inject`` on every frame (raid-100 injects nothing: the check that
  the loop skips it);
- ``track``, ``picture`` and ``fire_control``: a fresh ``LoopCore`` stepping every captured
  input, split by its ``lap("track")`` and by timing its tracker's ``picture`` (the confirmed
  tracks at the cycle's time); fire control is the rest: track changes, threat screen,
  engagement, interlocks and the engagement's events;
- ``observers``: ``LoopCounters``, ``DigestObserver``, ``ScoringObserver`` (once per
  ``score_interval_s``) and ``TimingObserver`` on every (input, output) pair.

µs per cycle (per frame cycle for ``sim_frame`` and ``inject``). With ``--baseline REF`` (a git
ref of this repository, default ``main``; ``none`` to skip) the same measurement runs again in
a child process on ``git archive REF`` (unpacked in a temporary directory), alternating with
this tree's, so both see the same machine load. ``--baseline DIR`` (an existing directory: another
checkout or worktree) measures that tree as it is, with its own numba cache: an unpacked ref
starts with an empty cache, so its first round compiles its kernels (about 40 s of one core) in
the capture run, before anything is timed. The digest of both runs is printed: equal means the
two trees made the same tracks and commands.

Usage: .venv/bin/python benchmarks/cycle_bench.py [--seconds 30] [--repeats 3] [--baseline main]
Prints a table and, last, one JSON line. Single-threaded BLAS; the machine's other load is noise.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

for _name in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_name, "1")

ROOT = Path(__file__).resolve().parent.parent
STAGES = ("sim_frame", "inject", "track", "picture", "fire_control", "observers")


def measure(seconds: float, repeats: int) -> dict[str, object]:
    """Every stage's best µs per cycle over ``repeats`` passes, on the tree ``hil`` imports
    from (this process's ``sys.path``)."""
    import numpy as np

    import hil
    from hil.config.loader import load_rig, load_scenario
    from hil.loop.core import LoopCore
    from hil.loop.cycle import CycleInput, CycleOutput
    from hil.loop.injection import Injector, frame_from_dwell
    from hil.loop.observers import (
        CycleObserver,
        DigestObserver,
        LoopCounters,
        ScoringObserver,
        StageTimer,
        TimingObserver,
    )
    from hil.loop.sim_scenario import build_targets, radar_parameters, scan_pattern
    from hil.rig.base import RunSettings, build_core, resite
    from hil.run.perform import perform_run
    from sim.sensor import RadarSensor

    if not Path(hil.__file__).resolve().is_relative_to(ROOT):
        raise SystemExit(f"hil imported from {hil.__file__}, not from {ROOT}")
    scenario_file = ROOT / "configs" / "scenarios" / "raid-100.toml"
    rig = load_rig(ROOT / "configs" / "rigs" / "sim.toml")
    settings = RunSettings(rig, load_scenario(scenario_file), scenario_file, seconds, seed=0)
    inputs: list[CycleInput] = []

    class Capture:
        def observe(self, cycle_input: CycleInput, cycle_output: CycleOutput) -> None:
            inputs.append(cycle_input)

    asyncio.run(perform_run(settings, lambda _: [Capture()]))
    scenario = resite(settings.scenario, rig)
    frames = [c.frame for c in inputs if c.frame is not None]
    cycles, n_frames = len(inputs), len(frames)

    def sim_frames() -> None:
        sensor = RadarSensor(radar_parameters(scenario.radar))
        scan, targets = scan_pattern(scenario.radar), build_targets(scenario, "real")
        rng = np.random.default_rng(0)
        for t in scan.iter_dwell_centres(0.0, seconds):
            frame_from_dwell(sensor.observe(scan.pose_at(t), targets.state_at(t), rng), t, t, 0.0)

    def inject() -> None:
        injector = Injector(scenario, 0)
        if len(injector):  # as the loop: no injector when the scenario injects nothing
            for frame in frames:
                injector.inject(frame)

    outputs: list[CycleOutput] = []
    split = {"track": 0.0, "picture": 0.0, "fire_control": 0.0}

    def core() -> None:
        fresh: LoopCore = build_core(rig, scenario)
        outputs.clear()
        marks = [0.0]
        track = fire_control = 0.0
        picture = [0.0]
        tracker_picture = fresh.tracker.picture

        def timed_picture(t_s: float) -> Any:
            start = time.perf_counter()
            result = tracker_picture(t_s)
            picture[0] += time.perf_counter() - start
            return result

        fresh.tracker.picture = timed_picture  # type: ignore[method-assign]

        def lap(stage: str) -> None:
            marks[0] = time.perf_counter()

        for cycle in inputs:
            start = marks[0] = time.perf_counter()
            outputs.append(fresh.step(cycle, lap))
            end = time.perf_counter()
            track += marks[0] - start
            fire_control += end - marks[0]
        split["track"], split["picture"] = track, picture[0]
        split["fire_control"] = fire_control - picture[0]

    digest_hex: list[str] = []

    def observers() -> None:
        truth = build_targets(scenario)
        digest = DigestObserver(0.0)
        watchers: list[CycleObserver] = [
            LoopCounters(),
            digest,
            ScoringObserver(truth),  # the shell's default interval, 1 s
            TimingObserver(StageTimer(), False),
        ]
        for cycle_input, cycle_output in zip(inputs, outputs, strict=True):
            for watcher in watchers:
                watcher.observe(cycle_input, cycle_output)
        digest_hex[:] = [digest.hexdigest()]

    def timed(work: Callable[[], None]) -> float:
        start = time.perf_counter()
        work()
        return time.perf_counter() - start

    best = dict.fromkeys(STAGES, float("inf"))
    for _ in range(repeats):
        best["sim_frame"] = min(best["sim_frame"], timed(sim_frames) / n_frames)
        best["inject"] = min(best["inject"], timed(inject) / n_frames)
        timed(core)
        best["track"] = min(best["track"], split["track"] / cycles)
        best["picture"] = min(best["picture"], split["picture"] / cycles)
        best["fire_control"] = min(best["fire_control"], split["fire_control"] / cycles)
        best["observers"] = min(best["observers"], timed(observers) / cycles)
    per_cycle_us = {stage: round(value * 1e6, 2) for stage, value in best.items()}
    return {
        "cycles": cycles,
        "frames": n_frames,
        "us_per_cycle": per_cycle_us,
        "total_us": round(sum(per_cycle_us.values()), 2),
        "digest": digest_hex[0],
    }


def baseline(ref: str, seconds: float, repeats: int, workdir: Path) -> dict[str, object]:
    """``measure`` in a child process on the tree ``ref`` names: an existing directory as it is,
    otherwise ``git archive ref`` unpacked under ``workdir``."""
    if Path(ref).is_dir():
        tree = Path(ref).resolve()
    else:
        tree = workdir / "baseline"
        tree.mkdir()
        archive = subprocess.run(
            ["git", "-C", str(ROOT), "archive", ref], check=True, capture_output=True
        ).stdout
        subprocess.run(["tar", "-x", "-C", str(tree)], input=archive, check=True)
    env = dict(os.environ, PYTHONPATH=str(tree))
    child = subprocess.run(
        [
            *(sys.executable, __file__, "--child", str(tree)),
            *("--seconds", str(seconds), "--repeats", str(repeats)),
        ],
        env=env,
        check=True,
        capture_output=True,
        text=True,
        cwd=tree,
    )
    result: dict[str, object] = json.loads(child.stdout.strip().splitlines()[-1])
    return result


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=30.0)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument(
        "--baseline", default="main", help="git ref, a directory holding another tree, or 'none'"
    )
    parser.add_argument("--rounds", type=int, default=2, help="alternations with the baseline")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:  # a baseline tree: import from it, not from this file's tree
        global ROOT
        ROOT = Path(args.child)
        sys.path.insert(0, args.child)
        print(json.dumps(measure(args.seconds, args.repeats)))
        return 0
    sys.path.insert(0, str(ROOT))
    runs: dict[str, list[dict[str, object]]] = {"new": [], "old": []}
    with tempfile.TemporaryDirectory() as work:
        for round_ in range(args.rounds):
            runs["new"].append(measure(args.seconds, args.repeats))
            if args.baseline != "none":
                folder = Path(work) / str(round_)
                folder.mkdir()
                runs["old"].append(baseline(args.baseline, args.seconds, args.repeats, folder))

    def best(which: str) -> dict[str, float]:
        rows = [r["us_per_cycle"] for r in runs[which]]
        return {s: min(float(r[s]) for r in rows if isinstance(r, dict)) for s in STAGES}

    new = best("new")
    old = best("old") if runs["old"] else None
    print(f"raid-100, {args.seconds:g} s, {runs['new'][0]['cycles']} cycles; µs per cycle")
    print(f"{'stage':<14}{'new':>10}" + (f"{'old':>10}{'speed-up':>10}" if old else ""))
    for stage in (*STAGES, "total"):
        n = sum(new.values()) if stage == "total" else new[stage]
        line = f"{stage:<14}{n:>10.1f}"
        if old:
            o = sum(old.values()) if stage == "total" else old[stage]
            line += f"{o:>10.1f}{o / n if n else float('nan'):>9.1f}×"
        print(line)
    digests = {which: runs[which][0]["digest"] for which in runs if runs[which]}
    same = len(set(digests.values())) == 1
    print("digest: " + ("identical" if same else f"differs {digests}"))
    summary = {
        "benchmark": "cycle_bench",
        "seconds": args.seconds,
        "baseline": args.baseline,
        "new_us_per_cycle": new,
        "old_us_per_cycle": old,
        "digests_identical": same,
    }
    print(json.dumps(summary))
    return 0


if __name__ == "__main__":
    sys.exit(main())
