"""The loop's seam: a run's cycles recorded as (input, output) bytes by an observer replay
through a fresh ``LoopCore`` bit for bit (``verify_cycles``), and stop at a named cycle and
field when the core differs; the observers see exactly what the loop counted."""

from __future__ import annotations

import asyncio
import re
from collections.abc import Callable

import pytest
from conftest import CONFIGS

from hil.config.loader import load_rig, load_scenario
from hil.config.rig import RigConfig
from hil.errors import HilError
from hil.loop.core import LoopCore
from hil.loop.cycle import CycleInput, CycleOutput
from hil.loop.cycle_codec import decode_input, decode_output, encode_input, encode_output
from hil.loop.verify import Mismatch, verify_cycles
from hil.rig.base import RunSettings, build_core, resite
from hil.run.perform import RunResult, perform_run

pytestmark = pytest.mark.xdist_group("test_loop_core")
"""One worker for the whole file (``make pytest`` runs ``--dist loadgroup``): its tests share
a module-scoped fixture, which each worker would otherwise make again."""

SIM_RIG = CONFIGS / "rigs" / "sim.toml"
SCENARIO = CONFIGS / "scenarios" / "defended-site.toml"


class CycleLog:
    """Records every cycle as its codec bytes (what the recorder will write)."""

    def __init__(self) -> None:
        self.pairs: list[tuple[bytes, bytes]] = []

    def observe(self, cycle_input: CycleInput, cycle_output: CycleOutput) -> None:
        self.pairs.append((encode_input(cycle_input), encode_output(cycle_output)))


def recorded_sim_run(duration_s: float = 20.0) -> tuple[RunSettings, RunResult, CycleLog]:
    settings = RunSettings(
        load_rig(SIM_RIG), load_scenario(SCENARIO), SCENARIO, duration_s, seed=0, armed=True
    )
    log = CycleLog()
    result = asyncio.run(perform_run(settings, lambda _: [log]))
    return settings, result, log


@pytest.fixture(scope="module")
def recorded() -> tuple[RunSettings, RunResult, CycleLog]:
    return recorded_sim_run()


def core_factory(rig: RigConfig, settings: RunSettings) -> Callable[[], LoopCore]:
    return lambda: build_core(rig, resite(settings.scenario, rig))


def test_a_recorded_sim_run_verifies(recorded: tuple[RunSettings, RunResult, CycleLog]) -> None:
    settings, result, log = recorded
    assert len(log.pairs) == result.loop.counters.cycles > 1000
    outputs = [decode_output(out) for _, out in log.pairs]
    # the run did what the recording must capture: tracks, an engagement, a launch request
    assert any(len(o.picture.ids) for o in outputs)
    kinds = {e.kind for o in outputs for e in o.events}
    assert {"designated", "fire_requested", "launched"} <= kinds
    assert any(o.interlocks is not None and o.interlocks.all_hold for o in outputs)
    assert verify_cycles(log.pairs, core_factory(settings.rig, settings)) is None


def test_a_changed_tracker_setting_fails_at_a_named_cycle_and_field(
    recorded: tuple[RunSettings, RunResult, CycleLog],
) -> None:
    settings, _, log = recorded
    rig = settings.rig
    changed = rig.model_copy(
        update={"tracker": rig.tracker.model_copy(update={"sigma_range_m": 6.0})}
    )
    mismatch = verify_cycles(log.pairs, core_factory(changed, settings))
    assert mismatch is not None
    # a track needs a few looks to be confirmed: the first cycles still agree
    assert mismatch.cycle > 0
    assert mismatch.field == "picture"
    assert str(mismatch) == f"cycle {mismatch.cycle}: picture differs from the recording"
    # the cycles before it are the recording's own: verifying just those passes
    prefix = log.pairs[: mismatch.cycle]
    assert verify_cycles(prefix, core_factory(changed, settings)) is None


def test_a_tampered_output_is_named_by_cycle_and_field(
    recorded: tuple[RunSettings, RunResult, CycleLog],
) -> None:
    settings, _, log = recorded
    target = next(i for i, (_, out) in enumerate(log.pairs) if decode_output(out).events)
    record = bytearray(log.pairs[target][1])
    record[-1] ^= 1  # the last byte: fire_suppressed
    pairs = [*log.pairs[:target], (log.pairs[target][0], bytes(record)), *log.pairs[target + 1 :]]
    assert verify_cycles(pairs, core_factory(settings.rig, settings)) == Mismatch(
        target, "fire_suppressed"
    )


def test_same_inputs_give_the_same_outputs_in_a_fresh_core(
    recorded: tuple[RunSettings, RunResult, CycleLog],
) -> None:
    """Decoded inputs stepped through two fresh cores give byte-identical outputs."""
    settings, _, log = recorded
    make = core_factory(settings.rig, settings)
    a, b = make(), make()
    for data, _ in log.pairs[:2000]:
        cycle = decode_input(data)
        assert encode_output(a.step(cycle)) == encode_output(b.step(cycle))


def test_a_replay_rig_without_a_recording_is_a_clear_error() -> None:
    rig = load_rig(SIM_RIG)
    replay = rig.model_copy(update={"rig": rig.rig.model_copy(update={"mode": "replay"})})
    settings = RunSettings(replay, load_scenario(SCENARIO), SCENARIO, 1.0)
    with pytest.raises(
        HilError, match=re.escape("rig mode 'replay' needs a recording: use hil replay FILE")
    ):
        asyncio.run(perform_run(settings))
