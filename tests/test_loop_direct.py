"""The loop with no event loop (``hil.loop.shell.DirectLoop``, ``perform_run_now``): a sim run
and a replay as fast as possible give the async shell's results bit for bit, stop cleanly on a
signal with the rig SAFE and the recording finished, and only runs that need no I/O take it."""

from __future__ import annotations

import asyncio
import dataclasses
import os
import signal
from pathlib import Path

import pytest
from conftest import CONFIGS, DATA

from hil.campaign.execute import RunJob, execute, execute_now
from hil.config.loader import load_rig, load_scenario
from hil.errors import HilError
from hil.loop.cycle import CycleInput, CycleOutput
from hil.loop.launchers import run_now
from hil.recording.reader import Recording
from hil.recording.run_layout import recorded_result
from hil.rig.base import ReplayOptions, RunSettings
from hil.rig.faults import FaultEvent
from hil.run.perform import RunResult, StopSwitch, perform_run, perform_run_now, runs_direct
from hil.run.recorded import open_run_recording, run_recorded
from hil.run.summary import summarize

SIM_RIG = CONFIGS / "rigs" / "sim.toml"
SCENARIO = CONFIGS / "scenarios" / "defended-site.toml"
GOLDEN = DATA / "golden-sim.mcap"
SAME_KEYS = (
    "frames",
    "cycles",
    "tracks_confirmed",
    "launches",
    "launch_requests",
    "gospa_mean_m",
    "rmse_m",
    "engagement_log",
    "notes",
    "rig_final_state",
    "stopped_early",
    "duration_s",
)


def sim_settings(duration_s: float, *faults: FaultEvent, seed: int = 3) -> RunSettings:
    return RunSettings(
        load_rig(SIM_RIG), load_scenario(SCENARIO), SCENARIO, duration_s, seed, True, (), None,
        tuple(faults),
    )  # fmt: skip


def assert_same_run(direct: RunResult, shelled: RunResult) -> None:
    assert direct.loop.digest == shelled.loop.digest
    a, b = summarize(direct), summarize(shelled)
    for key in SAME_KEYS:
        assert a.get(key) == b.get(key), key


@pytest.mark.parametrize(
    "faults",
    [
        (),
        (FaultEvent(3.0, "radar_stall", 1.5), FaultEvent(5.0, "plc_drop", value=3)),
        (FaultEvent(2.0, "plc_delay", 2.0, 300), FaultEvent(4.0, "radar_corrupt", 2.0, 1e-3)),
    ],
    ids=["clean", "stall-and-drop", "delay-and-corrupt"],
)
def test_a_sim_run_with_no_event_loop_is_the_async_runs_bit_for_bit(
    faults: tuple[FaultEvent, ...],
) -> None:
    settings = sim_settings(10.0, *faults)
    direct = perform_run_now(settings)
    assert_same_run(direct, asyncio.run(perform_run(settings)))
    assert direct.loop.rig_safe_confirmed and direct.loop.counters.frames > 800
    if faults:
        assert any(note.startswith("fault ") for note in direct.notes)


@pytest.mark.parametrize("launcher", ["recorded", "model"])
def test_a_replay_as_fast_as_possible_is_the_async_replays_bit_for_bit(
    launcher: str, tmp_path: Path
) -> None:
    """A sim run recorded with no event loop, replayed both ways: the same results, and open
    loop (the recorded launcher) the recorded run's tracks and commands again."""
    run = sim_settings(6.0)
    path = tmp_path / "run.mcap"
    recorded, _ = run_recorded(run, open_run_recording(path, run))
    with Recording(path) as recording:
        result = recorded_result(recording)
    assert result is not None and result["digest"] == recorded.loop.digest
    rig = run.rig.model_copy(update={"rig": run.rig.rig.model_copy(update={"mode": "replay"})})
    options = ReplayOptions(path, launcher="model" if launcher == "model" else "recorded")
    settings = RunSettings(rig, run.scenario, path, float("inf"), run.seed, run.armed, (), options)
    direct = perform_run_now(settings)
    assert_same_run(direct, asyncio.run(perform_run(settings)))
    assert direct.loop.counters.cycles == recorded.loop.counters.cycles
    if launcher == "recorded":
        assert direct.loop.digest == recorded.loop.digest


def test_only_runs_that_need_no_io_run_with_no_event_loop() -> None:
    sim = sim_settings(1.0)
    assert runs_direct(sim)
    telemetry = sim.rig.model_copy(update={"telemetry": {"broker": "mqtt://127.0.0.1:1"}})
    with_telemetry = dataclasses.replace(sim, rig=telemetry)
    assert not runs_direct(with_telemetry)
    with pytest.raises(HilError, match="needs the event loop"):
        perform_run_now(with_telemetry)
    emulate = dataclasses.replace(sim, rig=load_rig(CONFIGS / "rigs" / "emulate.toml"))
    assert not runs_direct(emulate)
    replay_rig = sim.rig.model_copy(
        update={"rig": sim.rig.rig.model_copy(update={"mode": "replay"})}
    )
    fast = dataclasses.replace(sim, rig=replay_rig, replay=ReplayOptions(GOLDEN))
    assert runs_direct(fast)
    assert not runs_direct(dataclasses.replace(fast, replay=ReplayOptions(GOLDEN, rate=10.0)))


def test_a_coroutine_that_waits_cannot_be_run_now() -> None:
    """``run_now`` runs the in-process launcher's writes without an event loop; one that would
    wait for I/O is refused, not half run."""

    async def returns() -> int:
        return 7

    assert run_now(returns()) == 7
    with pytest.raises(RuntimeError, match="needs an event loop"):
        run_now(asyncio.sleep(0))


class SignalAfter:
    """Sends this process ``signum`` at the ``cycles``-th cycle (as an operator's Ctrl-C)."""

    def __init__(self, signum: int, cycles: int) -> None:
        self.signum, self.cycles, self.seen = signum, cycles, 0

    def observe(self, cycle_input: CycleInput, cycle_output: CycleOutput) -> None:
        self.seen += 1
        if self.seen == self.cycles:
            os.kill(os.getpid(), self.signum)


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM])
def test_a_signal_ends_a_run_with_no_event_loop_cleanly(signum: int, tmp_path: Path) -> None:
    """The run ends after the cycle the signal came in, the in-process launcher made SAFE first,
    the recording finished with the run's result; the signal handlers are given back."""
    settings = sim_settings(1e5)
    before = signal.getsignal(signum)
    path = tmp_path / "stopped.mcap"
    stopper = SignalAfter(signum, 300)
    result, stats = run_recorded(settings, open_run_recording(path, settings), [stopper])
    assert signal.getsignal(signum) == before
    loop = result.loop
    assert loop.stopped_early and loop.counters.cycles == 300 == stopper.seen
    assert loop.rig_safe_confirmed
    assert stats is not None and stats.error is None
    with Recording(path) as recording:
        recorded = recorded_result(recording)
    assert recorded is not None and recorded["stopped_early"] is True
    assert recorded["digest"] == loop.digest


def test_a_campaign_run_with_no_event_loop_is_the_async_ones(tmp_path: Path) -> None:
    """What a pool or Dask worker runs (``execute_now``: no event loop) records, measures and
    judges the run as ``execute`` in an event loop does."""
    job = RunJob("case", 3, sim_settings(4.0), tmp_path / "direct.mcap", ())
    direct = execute_now(job, StopSwitch())
    shelled = asyncio.run(
        execute(dataclasses.replace(job, recording=tmp_path / "async.mcap"), StopSwitch())
    )
    assert direct["verdict"] == shelled["verdict"] == "pass"
    assert direct["summary"]["digest"] == shelled["summary"]["digest"]
    assert direct["recording"] == str(tmp_path / "direct.mcap")
    for key in ("gospa_mean_m", "tracks_confirmed", "launches"):
        assert direct["measurements"][key] == shelled["measurements"][key], key
    with Recording(tmp_path / "direct.mcap") as recording:
        assert recorded_result(recording) is not None
