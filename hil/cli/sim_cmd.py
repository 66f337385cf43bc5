"""``hil sim``: run the radar sensor model over a scenario as fast as the CPU allows."""

from __future__ import annotations

import argparse
import json
import os
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

from hil.cli.arguments import positive_float, seed
from hil.config.loader import load_scenario
from hil.scenario import SimulatedScenario, build_scenario
from hil.sim_summary import render, summarize
from sim.clock import SimClock
from sim.run import SimulationLog, simulate

DEFAULT_SCENARIO = Path(__file__).resolve().parents[2] / "configs" / "scenarios" / "raid-100.toml"
TRUTH_SAMPLE_S = 0.1


def register(commands: Any) -> None:
    parser = commands.add_parser(
        "sim", help="run the radar sensor model over a scenario and summarise the detections"
    )
    parser.add_argument(
        "--scenario",
        type=Path,
        default=DEFAULT_SCENARIO,
        metavar="FILE",
        help="scenario TOML (default: the bundled 100-target raid)",
    )
    parser.add_argument(
        "--duration",
        type=positive_float,
        default=None,
        metavar="S",
        help="simulated seconds (default: the scenario's duration_s)",
    )
    parser.add_argument(
        "--seed",
        type=seed,
        default=0,
        metavar="N",
        help="seed of the sensor noise, detections and clutter (default 0)",
    )
    parser.add_argument(
        "--out",
        type=Path,
        default=None,
        metavar="FILE.npz",
        help="save every dwell, detection and 10 Hz ground truth as .npz",
    )
    parser.add_argument(
        "--json",
        action="store_true",
        help="print the summary as one JSON object instead of a table",
    )
    parser.set_defaults(handler=run_sim)


def run_sim(args: argparse.Namespace) -> int:
    config = load_scenario(args.scenario)
    scenario = build_scenario(config)
    duration = args.duration if args.duration is not None else scenario.duration_s
    started = time.perf_counter()
    log = simulate(
        scenario.targets,
        scenario.sensor,
        scenario.scan,
        duration,
        np.random.default_rng(args.seed),
        SimClock(),
    )
    wall = time.perf_counter() - started
    summary = summarize(log, scenario.targets, scenario.name, args.seed, duration, wall)
    if args.out is not None:
        save_npz(args.out, log, scenario, duration, args.seed)
    if args.json:
        print(json.dumps(summary.as_json()))
    else:
        print(render(summary))
        if args.out is not None:
            print(f"\nsaved {args.out}")
    return 0


def truth_samples(scenario: SimulatedScenario, duration_s: float) -> dict[str, Any]:
    """Ground truth every 0.1 s from 0 s (so never empty): times (T,), positions and velocities
    (T, N, 3) in ENU m and m/s, alive (T, N)."""
    times = np.arange(0.0, duration_s + 1e-9, TRUTH_SAMPLE_S)
    states = [scenario.targets.state_at(float(t)) for t in times]
    return {
        "truth_t_s": times,
        "truth_position_enu_m": np.stack([s.position_enu_m for s in states]),
        "truth_velocity_enu_mps": np.stack([s.velocity_enu_mps for s in states]),
        "truth_alive": np.stack([s.alive for s in states]),
        "truth_target_id": scenario.targets.target_id,
    }


def save_npz(
    path: Path, log: SimulationLog, scenario: SimulatedScenario, duration_s: float, seed: int
) -> None:
    """Write the run atomically: a crash leaves either the old file or the complete new one."""
    arrays: dict[str, Any] = log.as_arrays() | truth_samples(scenario, duration_s)
    arrays["target_name"] = np.array(scenario.targets.names)
    arrays["meta_json"] = np.array(
        json.dumps(
            {
                "scenario": scenario.name,
                "seed": seed,
                "duration_s": duration_s,
                "frames": "ENU metres; azimuths turntable frame, radians clockwise from north",
            }
        )
    )
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".npz")
    try:
        with os.fdopen(handle, "wb") as stream:
            np.savez_compressed(stream, **arrays)
            stream.flush()
            os.fsync(stream.fileno())
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
