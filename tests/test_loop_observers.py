"""The observers on a real sim run's cycles: scoring samples once per ``interval_s`` of loop
time (never per cycle), and the digest is SHA-256 over exactly the bytes its docstring names
(what ``replay --verify`` and the golden recording compare)."""

from __future__ import annotations

import asyncio
import hashlib
import math
import struct

import numpy as np
import pytest
from conftest import CONFIGS

from hil.config.loader import load_rig, load_scenario
from hil.loop.cycle import CycleInput, CycleOutput
from hil.loop.observers import DigestObserver, ScoringObserver
from hil.loop.sim_scenario import build_targets
from hil.rig.base import RunSettings, resite
from hil.run.perform import perform_run

SCENARIO = CONFIGS / "scenarios" / "defended-site.toml"
Pairs = list[tuple[CycleInput, CycleOutput]]


@pytest.fixture(scope="module")
def run() -> tuple[RunSettings, Pairs]:
    settings = RunSettings(
        load_rig(CONFIGS / "rigs" / "sim.toml"), load_scenario(SCENARIO), SCENARIO, 5.0, seed=3
    )
    pairs: Pairs = []

    class Capture:
        def observe(self, cycle_input: CycleInput, cycle_output: CycleOutput) -> None:
            pairs.append((cycle_input, cycle_output))

    asyncio.run(perform_run(settings, lambda _: [Capture()]))
    return settings, pairs


@pytest.mark.parametrize("interval_s", [1.0, 0.25])
def test_scoring_samples_once_per_interval_not_per_cycle(
    run: tuple[RunSettings, Pairs], interval_s: float
) -> None:
    settings, pairs = run
    truth = build_targets(resite(settings.scenario, settings.rig))
    scoring = ScoringObserver(truth, interval_s)
    for cycle_input, cycle_output in pairs:
        scoring.observe(cycle_input, cycle_output)
    frame_times = [c.t_s for c, _ in pairs if c.frame is not None]
    expected, next_s = 0, -math.inf
    for t in frame_times:
        if t >= next_s:
            expected, next_s = expected + 1, t + interval_s
    assert len(frame_times) > 10 * expected
    assert scoring.scorer.summary().samples == expected == math.ceil(5.0 / interval_s)


def test_the_digest_is_sha256_over_time_demand_ids_and_rounded_positions(
    run: tuple[RunSettings, Pairs],
) -> None:
    _, pairs = run
    digest = DigestObserver(start_s=0.0)
    expected = hashlib.sha256()
    for cycle_input, cycle_output in pairs:
        digest.observe(cycle_input, cycle_output)
        demand, picture = cycle_output.demand, cycle_output.picture
        expected.update(
            struct.pack(
                "<d??dd??",
                round(cycle_input.t_s, 9),
                demand.axes_enabled,
                demand.pointing,
                demand.az_rad,
                demand.el_rad,
                demand.arm,
                demand.fire,
            )
        )
        expected.update(picture.ids.astype("<i8").tobytes())
        expected.update(np.round(picture.position_enu_m, 6).astype("<f8").tobytes())
    assert any(len(o.picture.ids) for _, o in pairs)
    assert digest.hexdigest() == expected.hexdigest()
