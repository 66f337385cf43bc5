"""Replaying a run's recording: the ``replay`` rig mode, and bit-exact verification.

**Replay** (``build_replay_rig``, the ``replay`` row of ``hil.run.RIG_BUILDERS``): the recorded
cycle inputs drive the loop again, paced by ``hil.recording.player.Player`` (recorded speed × rate,
or as fast as possible). ``RecordedRadar`` yields each recorded frame without its injected
detections — the loop injects them again from the scenario and seed, so injection changes are
exercised too — and an idle cycle where the run had one; ``RecordedLauncher`` answers each
cycle with the launcher status the run saw then (open loop: the demand goes nowhere). The
tracker, fire control and scoring are today's code with the recording's effective rig config
and any ``--set`` overrides, so a replay regression-tests a change against last month's runs.

**Verification** (``verify_recording``): the recorded cycle inputs fed to a fresh core must
give outputs bit-identical to the recorded ones (``hil.loop.verify.verify_cycles``) — for any
recording, sim, emulate or bench, since every input of every cycle is in it.
"""

from __future__ import annotations

import dataclasses
import json
import time
from collections.abc import AsyncGenerator, Iterator
from contextlib import AsyncExitStack

from hil.config.rig import RigConfig
from hil.config.scenario import ScenarioConfig
from hil.errors import HilError
from hil.fire_control.engagement import Demand
from hil.fire_control.interlocks import LauncherStatus
from hil.loop.cycle import CycleInput
from hil.loop.cycle_codec import decode_input
from hil.loop.frames import TaggedFrame
from hil.loop.launchers import CommandCounts
from hil.loop.verify import Mismatch, verify_cycles
from hil.recording.player import MonotonicClock, Player, window_ns
from hil.recording.reader import RecordedMessage, Recording
from hil.recording.run_recorder import TOPIC_CYCLE_INPUT, TOPIC_CYCLE_OUTPUT, TOPIC_RESULT
from hil.run import DeviceTaps, ReplayOptions, Rig, RunSettings, build_core, resite
from hil.scenario import build_targets


def cycle_inputs(
    recording: Recording, start_ns: int | None = None, end_ns: int | None = None
) -> Iterator[RecordedMessage]:
    return recording.messages({TOPIC_CYCLE_INPUT}, start_ns, end_ns, file_order=True)


class RecordedCursor:
    """The recorded cycle the replay is at, shared by the frame source and the launcher;
    ``started`` is False until the first cycle is played (the loop reads its start time
    then: the recorded run's, so replayed times and the digest match the run's)."""

    def __init__(self, first: CycleInput, start_s: float) -> None:
        self.current = first
        self.start_s = start_s
        self.started = False


class RecordedRadar:
    """The recorded frames as a frame source (see the module doc)."""

    name = "recording"
    real_time = False

    def __init__(
        self,
        messages: Iterator[RecordedMessage],
        cursor: RecordedCursor,
        rate: float | None,
    ) -> None:
        self._messages = messages
        self._cursor = cursor
        self._rate = rate

    async def frames(self) -> AsyncGenerator[TaggedFrame | None, None]:
        async for message in Player(self._messages, MonotonicClock(), rate=self._rate):
            cycle = decode_input(message.payload)
            self._cursor.current = cycle
            self._cursor.started = True
            frame = cycle.frame
            yield None if frame is None else _radar_part(frame)

    def frame_age_s(self, now_s: float) -> float:
        return self._cursor.current.radar_frame_age_s

    def now_s(self) -> float:
        cursor = self._cursor
        return cursor.current.t_s if cursor.started else cursor.start_s

    def link_problem(self) -> str:
        return self._cursor.current.radar_problem


class RecordedLauncher:
    """The launcher as the run saw it, cycle by cycle; commands go nowhere (open loop)."""

    name = "recorded launcher"

    def __init__(self, cursor: RecordedCursor) -> None:
        self._cursor = cursor
        self.counts = CommandCounts()

    def status(self) -> LauncherStatus:
        return self._cursor.current.launcher

    def status_at(self, t_s: float) -> LauncherStatus:
        return self._cursor.current.launcher

    async def apply(self, demand: Demand) -> None:
        return None

    async def make_safe(self) -> LauncherStatus | None:
        """The last status the run recorded (a replay commands nothing)."""
        return self._cursor.current.launcher

    def link_problem(self) -> str:
        return self._cursor.current.launcher_problem


def _radar_part(frame: TaggedFrame) -> TaggedFrame:
    """The frame as the radar sent it: the loop's injected detections removed (it injects them
    again), arrival now (replay latency is the loop's own processing time)."""
    real = ~frame.injected
    return dataclasses.replace(
        frame,
        range_m=frame.range_m[real],
        az_rad=frame.az_rad[real],
        el_rad=frame.el_rad[real],
        vr_mps=frame.vr_mps[real],
        injected=frame.injected[real],
        truth_id=frame.truth_id[real],
        t_arrival_s=time.perf_counter(),
    )


async def build_replay_rig(
    settings: RunSettings, scenario: ScenarioConfig, stack: AsyncExitStack, taps: DeviceTaps
) -> Rig:
    """``replay``: the recording's cycles drive the loop (see the module doc)."""
    options = settings.replay
    if options is None:
        raise HilError("rig mode 'replay' needs a recording: use hil replay FILE")
    recording = stack.enter_context(Recording(options.path))
    info = recording.info(verify=False)
    start_ns, end_ns = _window(info.start_ns, options)
    messages = cycle_inputs(recording, start_ns, end_ns)
    first = next(messages, None)
    if first is None:
        raise HilError(f"{options.path}: no recorded cycles in the chosen window")
    first_input = decode_input(first.payload)
    start_s = first_input.t_s
    if options.from_s is None:  # the whole run: from where it started
        start_s = _recorded_start_s(recording, start_s)
    cursor = RecordedCursor(first_input, start_s)
    source = RecordedRadar(_chain(first, messages), cursor, options.rate)
    rate = "as fast as possible" if options.rate is None else f"×{options.rate:g}"
    return Rig(
        source,
        RecordedLauncher(cursor),
        build_targets(scenario),
        f"replay of {options.path}, {rate}",
    )


def _recorded_start_s(recording: Recording, default_s: float) -> float:
    """The loop-clock start of the recorded run (its result message), else ``default_s``."""
    start_s = default_s
    for message in recording.messages({TOPIC_RESULT}, allow_truncated=True):
        start_s = float(json.loads(message.payload)["start_s"])
    return start_s


def _chain(first: RecordedMessage, rest: Iterator[RecordedMessage]) -> Iterator[RecordedMessage]:
    yield first
    yield from rest


def _window(first_ns: int | None, options: ReplayOptions) -> tuple[int | None, int | None]:
    if first_ns is None:
        return None, None
    return window_ns(first_ns, options.from_s, options.to_s)


def verify_recording(
    recording: Recording, rig: RigConfig, scenario: ScenarioConfig
) -> tuple[int, Mismatch | None]:
    """Feed the recorded inputs to a fresh core built from ``rig`` and ``scenario``: the number
    of cycles checked and the first mismatch (None: every output bit-identical)."""
    sited = resite(scenario, rig)
    checked = 0

    def pairs() -> Iterator[tuple[bytes, bytes]]:
        nonlocal checked
        pending: bytes | None = None
        for message in recording.messages(
            {TOPIC_CYCLE_INPUT, TOPIC_CYCLE_OUTPUT}, file_order=True, allow_truncated=True
        ):
            if message.topic == TOPIC_CYCLE_INPUT:
                pending = message.payload
            elif pending is not None:
                checked += 1
                yield pending, message.payload
                pending = None

    mismatch = verify_cycles(pairs(), lambda: build_core(rig, sited))
    return checked, mismatch
