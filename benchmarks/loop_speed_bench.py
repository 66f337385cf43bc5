"""Loop speed with and without an event loop: the issue 24 figures of sims, replays and sweeps.

Every figure is measured twice in this one process, alternating, on the same inputs: the old
path (the async shell, ``hil.loop.shell.FireControlLoop`` under ``asyncio.run``, as before
issue 24) and the new one (``hil.loop.shell.DirectLoop``, no event loop: ``perform_run_now``,
``execute_now``) — so a loaded machine slows both alike. The best of ``--repeats`` counts.
Both paths must give the same determinism digest (checked: a difference is an error, exit 1).
Each figure is given on wall time (what the issue's table states) and, as ``*_cpu``, on the
process's CPU time (all its threads: the recorder's writer too), which a machine shared with
other work disturbs far less than wall time.

1. **Replay as fast as possible** (``hil replay FILE --rate max``): a ``--replay-s`` (120) s
   raid-100 sim recording, made first under a temporary directory, replayed whole with the
   recorded launcher and no recording of the replay: × real time (recorded loop seconds per
   wall second). Goal ≥ 100×.
2. **Sim loop** (``hil run --rig sim --scenario raid-100 --duration 300 --no-record``):
   ``--sim-s`` (300) s of simulated time: × real time. Goal ≥ 100×.
3. **Sweep runs per minute per core**: ``--sweep-runs`` (4) seeds of raid-100 for
   ``--sweep-s`` (60, the campaign benchmark's default) s each, each performed, recorded,
   measured and judged as a campaign's pool worker does (``hil.campaign.execute``) on this one
   core, one after another; runs per minute = 60 / mean wall s per run. A pool of N workers on
   N cores multiplies it by about N (``benchmarks/campaign_bench.py`` measures that, and the
   pool's start-up, which this leaves out); the issue's figure is for a 200-run sweep, scaled
   here from the runs measured. Goal ≥ 40.

Usage: python benchmarks/loop_speed_bench.py [--replay-s S] [--sim-s S] [--sweep-runs N]
[--sweep-s S] [--repeats N] [--only replay,sim,sweep]
Prints a table and, per figure, one JSON line; last, all figures as one JSON line.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import os
import platform
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

for _name in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_name, "1")

from hil.campaign.execute import RunJob, execute, execute_now  # noqa: E402
from hil.config.loader import load_rig, load_scenario  # noqa: E402
from hil.rig.base import ReplayOptions, RunSettings  # noqa: E402
from hil.run.perform import RunResult, StopSwitch, perform_run, perform_run_now  # noqa: E402
from hil.run.recorded import open_run_recording, perform_recorded_now  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
SIM_RIG = REPO / "configs" / "rigs" / "sim.toml"
RAID_100 = REPO / "configs" / "scenarios" / "raid-100.toml"
GOALS = {"replay_x_real_time": 100.0, "sim_x_real_time": 100.0, "sweep_runs_per_min_core": 40.0}
FIGURES = ("replay", "sim", "sweep")


def sim_settings(duration_s: float, seed: int = 0) -> RunSettings:
    return RunSettings(load_rig(SIM_RIG), load_scenario(RAID_100), RAID_100, duration_s, seed)


def replay_settings(path: Path, sim: RunSettings) -> RunSettings:
    """``hil replay PATH --rate max`` of a recording of ``sim``: the recorded launcher, no
    recording of the replay."""
    rig = sim.rig.model_copy(update={"rig": sim.rig.rig.model_copy(update={"mode": "replay"})})
    return RunSettings(
        rig, sim.scenario, path, math.inf, sim.seed, sim.armed, (), ReplayOptions(path)
    )


class Times:
    """Best wall and CPU seconds of one path over the repeats."""

    def __init__(self) -> None:
        self.wall_s = math.inf
        self.cpu_s = math.inf

    def add(self, wall_s: float, cpu_s: float) -> None:
        self.wall_s = min(self.wall_s, wall_s)
        self.cpu_s = min(self.cpu_s, cpu_s)


def timed(run: Callable[[], RunResult], times: Times) -> RunResult:
    wall, cpu = time.perf_counter(), time.process_time()
    result = run()
    times.add(time.perf_counter() - wall, time.process_time() - cpu)
    return result


def old_and_new(settings: RunSettings, repeats: int) -> tuple[Times, Times, float]:
    """Best times of the async shell and of the direct loop on ``settings``, and the loop
    seconds played; both paths' digests must be equal."""
    old, new = Times(), Times()
    digests: set[str] = set()
    loop_s = 0.0
    for _ in range(repeats):
        digests.add(timed(lambda: asyncio.run(perform_run(settings)), old).loop.digest)
        result = timed(lambda: perform_run_now(settings), new)
        digests.add(result.loop.digest)
        loop_s = result.loop.duration_s
    if len(digests) != 1:
        raise SystemExit(f"error: the two paths' digests differ: {sorted(digests)}")
    return old, new, loop_s


def figure(
    name: str, unit: str, old: tuple[float, float], new: tuple[float, float], **extra: Any
) -> dict[str, Any]:
    """A figure from (wall, CPU) values of the old and the new path."""
    row: dict[str, Any] = {"figure": name, "unit": unit, "goal": GOALS.get(name)}
    row |= {"old_async": round(old[0], 2), "new_direct": round(new[0], 2)}
    row["speedup"] = round(new[0] / old[0], 2)
    row |= {"old_async_cpu": round(old[1], 2), "new_direct_cpu": round(new[1], 2)}
    row["speedup_cpu"] = round(new[1] / old[1], 2)
    print(json.dumps(row | extra))
    return row | extra


def per_real_s(loop_s: float, times: Times) -> tuple[float, float]:
    """Loop seconds per wall second and per CPU second."""
    return loop_s / times.wall_s, loop_s / times.cpu_s


def replay(seconds: float, repeats: int, tmp: Path) -> dict[str, Any]:
    sim = sim_settings(seconds)
    path = tmp / "raid-100.mcap"
    started = time.perf_counter()
    perform_recorded_now(sim, open_run_recording(path, sim), StopSwitch())
    made_s = time.perf_counter() - started
    old, new, loop_s = old_and_new(replay_settings(path, sim), repeats)
    return figure(
        "replay_x_real_time", "× real time", per_real_s(loop_s, old), per_real_s(loop_s, new),
        loop_s=round(loop_s, 3), old_wall_s=round(old.wall_s, 3), new_wall_s=round(new.wall_s, 3),
        recorded_wall_s=round(made_s, 3), recording_mb=round(path.stat().st_size / 1e6, 1),
    )  # fmt: skip


def sim(seconds: float, repeats: int) -> dict[str, Any]:
    old, new, loop_s = old_and_new(sim_settings(seconds), repeats)
    return figure(
        "sim_x_real_time", "× real time", per_real_s(loop_s, old), per_real_s(loop_s, new),
        loop_s=round(loop_s, 3), old_wall_s=round(old.wall_s, 3), new_wall_s=round(new.wall_s, 3),
    )  # fmt: skip


def sweep(runs: int, seconds: float, tmp: Path) -> dict[str, Any]:
    """Runs per minute on this core, old and new, alternating seed by seed (and which goes
    first)."""
    walls: dict[str, list[float]] = {"old": [], "new": []}
    cpus: dict[str, list[float]] = {"old": [], "new": []}
    digests: dict[int, set[str]] = {}
    for seed in range(runs):
        for path_name in ("old", "new") if seed % 2 == 0 else ("new", "old"):  # either first
            job = RunJob(
                "sweep", seed, sim_settings(seconds, seed), tmp / f"{path_name}-{seed}.mcap", ()
            )
            started, cpu = time.perf_counter(), time.process_time()
            if path_name == "old":
                record = asyncio.run(execute(job, StopSwitch()))
            else:
                record = execute_now(job, StopSwitch())
            walls[path_name].append(time.perf_counter() - started)
            cpus[path_name].append(time.process_time() - cpu)
            if record["verdict"] != "pass":
                raise SystemExit(f"error: sweep run {seed} ({path_name}): {record['error']}")
            digests.setdefault(seed, set()).add(record["summary"]["digest"])
            job.recording.unlink()
    if any(len(found) != 1 for found in digests.values()):
        raise SystemExit("error: the two paths' sweep digests differ")

    def per_minute(path_name: str) -> tuple[float, float]:
        wall, cpu = walls[path_name], cpus[path_name]
        return 60.0 / (sum(wall) / len(wall)), 60.0 / (sum(cpu) / len(cpu))

    return figure(
        "sweep_runs_per_min_core", "runs/min/core", per_minute("old"), per_minute("new"),
        runs=runs, run_s=seconds,
        old_mean_wall_s=round(sum(walls["old"]) / runs, 3),
        new_mean_wall_s=round(sum(walls["new"]) / runs, 3),
        note=f"{runs} runs measured in process on one core, scaled to a sweep of any size",
    )  # fmt: skip


def positive(text: str) -> float:
    value = float(text)
    if not (math.isfinite(value) and value > 0):
        raise argparse.ArgumentTypeError(f"{text}: must be a number > 0")
    return value


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--replay-s", type=positive, default=120.0)
    parser.add_argument("--sim-s", type=positive, default=300.0)
    parser.add_argument("--sweep-runs", type=int, default=4)
    parser.add_argument("--sweep-s", type=positive, default=60.0)
    parser.add_argument("--repeats", type=int, default=1)
    parser.add_argument("--only", default=",".join(FIGURES))
    args = parser.parse_args()
    only = set(args.only.split(","))
    if not only <= set(FIGURES) or args.sweep_runs < 1 or args.repeats < 1:
        parser.error(f"--only takes {', '.join(FIGURES)}; --sweep-runs, --repeats ≥ 1")
    print(
        f"loop speed: old (async shell) vs new (no event loop), same process; "
        f"{platform.python_version()}, {os.cpu_count()} CPUs, load {os.getloadavg()[0]:.1f}",
        file=sys.stderr,
    )
    rows: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory(prefix="loop-speed-") as folder:
        tmp = Path(folder)
        if "replay" in only:
            rows.append(replay(args.replay_s, args.repeats, tmp))
        if "sim" in only:
            rows.append(sim(args.sim_s, args.repeats))
        if "sweep" in only:
            rows.append(sweep(args.sweep_runs, args.sweep_s, tmp))
    print(
        f"{'figure':<26} {'old (async)':>12} {'new (direct)':>13} {'speed-up':>9} "
        f"{'on CPU: old':>12} {'new':>7} {'speed-up':>9} {'goal':>6}"
    )
    for row in rows:
        print(
            f"{row['figure']:<26} {row['old_async']:>12} {row['new_direct']:>13} "
            f"{row['speedup']:>8}× {row['old_async_cpu']:>12} {row['new_direct_cpu']:>7} "
            f"{row['speedup_cpu']:>8}× {row['goal']:>6}"
        )
    print(json.dumps({row["figure"]: row for row in rows}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
