"""``hil sim``: run the radar sensor model over a scenario as fast as the CPU allows."""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Any, BinaryIO

import numpy as np

from hil.cli.arguments import output_file, run_duration, seed
from hil.cli.sim_summary import SimSummary, SummaryTally, render
from hil.config.bundled import bundled_file
from hil.config.loader import load_scenario
from hil.loop.sim_scenario import SimulatedScenario, build_scenario
from sim.clock import SimClock
from sim.run import SimulationLog, simulate_chunks
from sim.scan import ScanMode

DEFAULT_SCENARIO = bundled_file("scenarios/raid-100.toml")
TRUTH_SAMPLE_S = 0.1
MAX_OUT_BYTES = 2 * 1024**3
"""Largest run ``--out`` holds in memory before saving (2 GiB)."""
EXIT_FAILURE = 1
EXIT_USAGE = 2


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
        type=run_duration,
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
        type=output_file,
        default=None,
        metavar="FILE.npz",
        help="save every dwell, detection and 10 Hz ground truth as .npz (held in memory "
        f"until saved: at most {MAX_OUT_BYTES // 1024**3} GiB)",
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
    output: AtomicOutput | None = None
    if args.out is not None:
        problem = out_too_large(scenario, config.radar.clutter_per_dwell, duration)
        if problem:
            print(f"error: --out {args.out}: {problem}", file=sys.stderr)
            return EXIT_USAGE
        try:
            output = AtomicOutput(args.out)
        except OSError as error:
            print(f"error: --out {args.out}: cannot write: {_reason(error)}", file=sys.stderr)
            return EXIT_USAGE
    try:
        summary, log = _simulate(args, scenario, duration, keep_log=output is not None)
        if output is not None:
            assert log is not None
            try:
                write_npz(output.stream, log, scenario, duration, args.seed)
                output.commit()
            except OSError as error:
                print(f"error: --out {args.out}: cannot save: {_reason(error)}", file=sys.stderr)
                return EXIT_FAILURE
    finally:
        if output is not None:
            output.discard()
    if args.json:
        print(json.dumps(summary.as_json()))
    else:
        print(render(summary))
        if args.out is not None:
            print(f"\nsaved {args.out}")
    return 0


def _simulate(
    args: argparse.Namespace, scenario: SimulatedScenario, duration_s: float, keep_log: bool
) -> tuple[SimSummary, SimulationLog | None]:
    """Run the scenario chunk by chunk: the summary in constant memory, the whole log only when
    ``keep_log`` (for ``--out``)."""
    tally = SummaryTally(scenario.targets)
    kept: list[SimulationLog] = []
    started = time.perf_counter()
    chunks = simulate_chunks(
        scenario.targets,
        scenario.sensor,
        scenario.scan,
        duration_s,
        np.random.default_rng(args.seed),
        SimClock(),
    )
    for chunk in chunks:
        tally.add(chunk)
        if keep_log:
            kept.append(chunk)
    wall = time.perf_counter() - started
    summary = tally.summary(scenario.name, args.seed, duration_s, wall)
    return summary, SimulationLog.concatenate(kept) if keep_log else None


def _reason(error: OSError) -> str:
    return error.strerror or str(error)


DWELL_BYTES = 4 * 8
"""A dwell's row in the saved log: time, scan id, antenna azimuth and elevation."""
DETECTION_BYTES = 7 * 8 + 2 + 8
"""A detection's row: dwell index, range, az, el, vr, SNR, truth id, flags."""
TRUTH_BYTES_PER_TARGET = 6 * 8 + 1
"""One target in one 10 Hz truth sample: position and velocity (ENU), alive."""


def out_too_large(scenario: SimulatedScenario, clutter_per_dwell: float, duration_s: float) -> str:
    """Why a run's ``--out`` would not fit in ``MAX_OUT_BYTES``, or ``""``. Counts what is
    certain (dwells, ground truth, mean clutter); target detections come on top."""
    per_dwell = DWELL_BYTES + clutter_per_dwell * DETECTION_BYTES
    dwells_per_s = 0.0 if scenario.scan.mode is ScanMode.STANDBY else 1.0 / scenario.scan.dwell_s
    truth_per_s = len(scenario.targets) * TRUTH_BYTES_PER_TARGET / TRUTH_SAMPLE_S
    per_s = dwells_per_s * per_dwell + truth_per_s
    needed = per_s * duration_s
    if needed <= MAX_OUT_BYTES:
        return ""
    return (
        f"{duration_s:g} s of every dwell and 10 Hz truth of {len(scenario.targets)} targets "
        f"needs over {needed / 1024**3:.1f} GiB of memory before saving, more than the "
        f"{MAX_OUT_BYTES // 1024**3} GiB limit: give --duration {MAX_OUT_BYTES / per_s:.0f} or "
        "less, or leave out --out (the summary alone runs in constant memory)"
    )


def truth_samples(scenario: SimulatedScenario, duration_s: float) -> dict[str, Any]:
    """Ground truth every 0.1 s from 0 s (so never empty): times (T,), positions and velocities
    (T, N, 3) in ENU m and m/s, alive (T, N)."""
    times = np.arange(0.0, duration_s + 1e-9, TRUTH_SAMPLE_S)
    count = len(scenario.targets)
    position = np.empty((len(times), count, 3))
    velocity = np.empty((len(times), count, 3))
    alive = np.empty((len(times), count), dtype=bool)
    for row, t in enumerate(times.tolist()):
        state = scenario.targets.state_at(t)
        position[row], velocity[row], alive[row] = (
            state.position_enu_m,
            state.velocity_enu_mps,
            state.alive,
        )
    return {
        "truth_t_s": times,
        "truth_position_enu_m": position,
        "truth_velocity_enu_mps": velocity,
        "truth_alive": alive,
        "truth_target_id": scenario.targets.target_id,
    }


class AtomicOutput:
    """A temporary file beside ``path``, created at once (so an unwritable path fails before
    the run), that replaces ``path`` on ``commit``: a crash or error leaves either the old file
    or the complete new one, never a partial one."""

    def __init__(self, path: Path) -> None:
        self.path = path
        path.parent.mkdir(parents=True, exist_ok=True)
        handle, temporary = tempfile.mkstemp(
            dir=path.parent, prefix=f".{path.name}.", suffix=".npz"
        )
        self.temporary = Path(temporary)
        self.stream = os.fdopen(handle, "wb")

    def commit(self) -> None:
        """Flush to disk and move into place."""
        umask = os.umask(0)
        os.umask(umask)
        os.fchmod(self.stream.fileno(), 0o666 & ~umask)  # as open() would have made it
        self.stream.flush()
        os.fsync(self.stream.fileno())
        self.stream.close()
        os.replace(self.temporary, self.path)

    def discard(self) -> None:
        """Remove the temporary file if it was not committed (idempotent)."""
        self.stream.close()
        self.temporary.unlink(missing_ok=True)


def write_npz(
    stream: BinaryIO, log: SimulationLog, scenario: SimulatedScenario, duration_s: float, seed: int
) -> None:
    """The run as a compressed .npz: the log, 10 Hz ground truth, target names and metadata."""
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
    np.savez_compressed(stream, **arrays)
