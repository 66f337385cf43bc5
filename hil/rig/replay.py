"""Replaying a run's recording: the ``replay`` rig mode, and bit-exact verification.

**Replay** (``build``, the ``replay`` row of ``hil.rig.RIG_BUILDERS``): the recorded cycle
inputs drive the loop again, paced by ``hil.recording.player.Player`` (recorded speed × rate, or
as fast as possible; as fast as possible and not stepped, with no event loop at all:
``build_now``, ``RecordedRadar.frames_now``, ``hil.loop.shell.DirectLoop``). ``RecordedRadar``
yields each recorded frame without its injected detections — the loop injects them again from
the scenario and seed, so injection changes are exercised too — and an idle cycle where the run
had one. Its frames (``ReplayOptions.frames``):

- ``raw`` (the default when the recording has raw radar bytes: emulate, bench): the recorded
  ``/radar/raw`` chunks re-decoded through today's radar codec (``hil.rig.raw_frames``),
  matched to the recorded frames in order, with the recorded timing — codec changes are exercised;
- ``recorded`` (the only choice for a sim recording): the frames as they were decoded then.

The launcher (``ReplayOptions.launcher``): ``recorded`` — ``RecordedLauncher`` answers each cycle
with the status the run saw then (open loop: the demand goes nowhere); ``model`` —
``ModelLauncher``, the in-process PLC model with the emulator defaults (as a sim run has it)
answers the replayed demands (closed loop), its scans starting at the replay's start. The radar's
frame age and link problem always come from the recording. The tracker, fire control and scoring
are today's code with the recording's effective rig config and any ``--set`` overrides, so a
replay regression-tests a change against last month's runs.

**Verification** (``verify_recording``): the recorded cycle inputs fed to a fresh core must
give outputs bit-identical to the recorded ones (``hil.loop.verify.verify_cycles``) — for any
recording, sim, emulate or bench, since every input of every cycle is in it.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import AsyncGenerator, Awaitable, Callable, Generator, Iterator
from contextlib import AsyncExitStack, ExitStack, closing

from firmware_stubs.plc.model import PlcModel
from hil.config.rig import RigConfig
from hil.config.scenario import ScenarioConfig
from hil.errors import HilError, RecordingError
from hil.fire_control.engagement import Demand
from hil.fire_control.interlocks import LauncherStatus
from hil.loop.cycle import CycleInput
from hil.loop.cycle_codec import decode_input
from hil.loop.injection import TaggedFrame
from hil.loop.launchers import CommandCounts, DirectLauncher, InProcessLauncher
from hil.loop.sim_scenario import build_targets
from hil.loop.verify import Mismatch, verify_cycles
from hil.recording.player import NS_PER_S, MonotonicClock, Player, window_ns
from hil.recording.reader import RecordedMessage, Recording
from hil.recording.run_layout import (
    TOPIC_CYCLE_INPUT,
    TOPIC_CYCLE_OUTPUT,
    TOPIC_RADAR_BYTES,
    recorded_result,
)
from hil.rig.base import (
    DeviceTaps,
    DirectRig,
    ReplayOptions,
    Rig,
    RunSettings,
    build_core,
    resite,
)
from hil.rig.emulators import load_plc_settings
from hil.rig.raw_frames import RawRadarDecoder

RAW_LEAD_NS = NS_PER_S
"""How far beyond a ``--from``/``--to`` window the raw radar bytes are read: a frame's bytes
arrive after its dwell centre (the cycle's time), a resynchronising decoder needs a run-in."""


def cycle_inputs(
    recording: Recording, start_ns: int | None = None, end_ns: int | None = None
) -> Generator[RecordedMessage, None, None]:
    yield from recording.messages({TOPIC_CYCLE_INPUT}, start_ns, end_ns, file_order=True)


def has_raw_radar_bytes(recording: Recording) -> bool:
    """The recording holds the radar driver's raw bytes (an emulate or bench run)."""
    topic = recording.info(verify=False).topics.get(TOPIC_RADAR_BYTES)
    return topic is not None and topic.messages > 0


class RecordedCursor:
    """The recorded cycle the replay is at, shared by the frame source and the launcher;
    ``started`` is False until the first cycle is played (the loop reads its start time
    then: the recorded run's, so replayed times and the digest match the run's)."""

    def __init__(self, first: CycleInput, start_s: float) -> None:
        self.current = first
        self.start_s = start_s
        self.started = False


class RecordedRadar:
    """The recorded frames as a frame source (see the module doc). ``messages`` opens the
    stream to play: the cycle inputs, and with ``redecoder`` the raw radar chunks too, in
    recorded order; only cycles with ``start_ns ≤ log time < end_ns`` are played (None: no
    bound). When the frames end, ``notes`` gets the re-decoding's counts."""

    name = "recording"
    real_time = False

    def __init__(
        self,
        messages: Callable[[], Iterator[RecordedMessage]],
        cursor: RecordedCursor,
        rate: float | None,
        window_ns: tuple[int | None, int | None] = (None, None),
        redecoder: RawRadarDecoder | None = None,
        notes: list[str] | None = None,
        step: Callable[[], Awaitable[None]] | None = None,
    ) -> None:
        self._step = step
        self._messages = messages
        self._cursor = cursor
        self._rate = rate
        self._window_ns = window_ns
        self._redecoder = redecoder
        self._notes = notes if notes is not None else []

    async def frames(self) -> AsyncGenerator[TaggedFrame | None, None]:
        try:
            async for message in Player(self._messages(), MonotonicClock(), rate=self._rate):
                cycle = self._cycle(message)
                if cycle is None:
                    continue
                if self._step is not None:
                    await self._step()
                yield self._play(cycle)
        finally:
            self._finish()

    def frames_now(self) -> Generator[TaggedFrame | None, None, None]:
        """The frames with no event loop: only as fast as possible and not single-stepped
        (``HilError`` otherwise: pacing needs the async shell)."""
        if self._rate is not None or self._step is not None:
            raise HilError("a paced or stepped replay needs the async loop (FireControlLoop)")
        try:
            for message in self._messages():
                cycle = self._cycle(message)
                if cycle is not None:
                    yield self._play(cycle)
        finally:
            self._finish()

    def _cycle(self, message: RecordedMessage) -> CycleInput | None:
        """The recorded cycle ``message`` holds, None when it is not one to play (raw bytes,
        fed to the re-decoder; a cycle of their lead-in or lead-out)."""
        if message.topic == TOPIC_RADAR_BYTES:
            if self._redecoder is not None:
                self._redecoder.feed(message.payload)
            return None
        t_ns = message.log_time_ns
        start_ns, end_ns = self._window_ns
        if (start_ns is not None and t_ns < start_ns) or (end_ns is not None and t_ns >= end_ns):
            return None
        return decode_input(message.payload)

    def _play(self, cycle: CycleInput) -> TaggedFrame | None:
        """The replay now at ``cycle``: its frame as the radar sent it (re-decoded from the raw
        bytes with a re-decoder), None for an idle cycle."""
        self._cursor.current = cycle
        self._cursor.started = True
        frame = cycle.frame
        if frame is None:
            return None
        if self._redecoder is None:
            return _radar_part(frame)
        return self._redecoder.redecode(_radar_part(frame))

    def _finish(self) -> None:
        if self._redecoder is not None:
            self._notes.append(self._redecoder.finish().note())

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
        return self.make_safe_now()

    def apply_now(self, demand: Demand) -> None:
        return None

    def make_safe_now(self) -> LauncherStatus | None:
        """The last status the run recorded (a replay commands nothing)."""
        return self._cursor.current.launcher

    def link_problem(self) -> str:
        return self._cursor.current.launcher_problem


class ModelLauncher:
    """The in-process PLC model (emulator defaults, as a sim run has it) answering the replayed
    loop: closed loop. Its own clock starts at 0 at loop time ``origin_s`` (s; the replay's
    start), so a recording on the host monotonic clock (~1e5 s) does not make it scan from 0;
    the statuses it gives carry loop-clock times."""

    name = "in-process PLC model"

    def __init__(self, origin_s: float) -> None:
        model = PlcModel(load_plc_settings())
        self.plc = InProcessLauncher(model)
        """The model as the sim rig has it, on its own clock (s from 0)."""
        self.counts = self.plc.counts
        self.origin_s = origin_s
        self._t_s = origin_s

    def status(self) -> LauncherStatus:
        return dataclasses.replace(self.plc.status(), t_s=self._t_s)

    def status_at(self, t_s: float) -> LauncherStatus:
        status = self.plc.status_at(t_s - self.origin_s)
        self._t_s = t_s
        return dataclasses.replace(status, t_s=t_s)

    async def apply(self, demand: Demand) -> None:
        self.apply_now(demand)

    async def make_safe(self) -> LauncherStatus | None:
        return self.make_safe_now()

    def apply_now(self, demand: Demand) -> None:
        self.plc.apply_now(demand)

    def make_safe_now(self) -> LauncherStatus | None:
        status = self.plc.make_safe_now()
        assert status is not None  # the in-process model's state is always known
        self._t_s = self.origin_s + status.t_s
        return dataclasses.replace(status, t_s=self._t_s)

    def link_problem(self) -> str:
        return self.plc.link_problem()


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


async def build(
    settings: RunSettings, scenario: ScenarioConfig, stack: AsyncExitStack, taps: DeviceTaps
) -> Rig:
    """``replay`` for the async shell (a paced or stepped replay needs it): ``build_now``."""
    return build_now(settings, scenario, stack.enter_context(ExitStack()))


def build_now(settings: RunSettings, scenario: ScenarioConfig, stack: ExitStack) -> DirectRig:
    """``replay``: the recording's cycles drive the loop (see the module doc); the recording
    is left open on ``stack``. Its source runs with no event loop when the replay is as fast
    as possible and not stepped (``RecordedRadar.frames_now``)."""
    options = settings.replay
    if options is None:
        raise HilError("rig mode 'replay' needs a recording: use hil replay FILE")
    recording = stack.enter_context(Recording(options.path))
    start_ns, end_ns = _window(first_cycle_ns(recording), options)
    with closing(cycle_inputs(recording, start_ns, end_ns)) as messages:  # one file position
        first = next(messages, None)
    if first is None:
        raise HilError(f"{options.path}: no recorded cycles in the chosen window")
    first_input = decode_input(first.payload)
    start_s = first_input.t_s
    if options.from_s is None:  # the whole run: from where it started
        result = recorded_result(recording)
        if result is not None:
            start_s = float(result["start_s"])
    cursor = RecordedCursor(first_input, start_s)
    raw = _use_raw_bytes(recording, options)
    notes: list[str] = []
    if raw:
        lead_start = None if start_ns is None else start_ns - RAW_LEAD_NS
        lead_end = None if end_ns is None else end_ns + RAW_LEAD_NS

        def messages_to_play() -> Iterator[RecordedMessage]:
            return recording.messages(
                {TOPIC_CYCLE_INPUT, TOPIC_RADAR_BYTES}, lead_start, lead_end, file_order=True
            )

        source = RecordedRadar(
            messages_to_play,
            cursor,
            options.rate,
            (start_ns, end_ns),
            RawRadarDecoder(),
            notes,
            options.step,
        )
    else:
        if has_raw_radar_bytes(recording):
            notes.append("frames as recorded (--frames recorded): the raw radar bytes unused")
        else:
            notes.append("frames as recorded: the recording has no raw radar bytes (a sim run)")
        source = RecordedRadar(
            lambda: cycle_inputs(recording, start_ns, end_ns),
            cursor,
            options.rate,
            step=options.step,
        )
    launcher: DirectLauncher
    if options.launcher == "model":
        launcher = ModelLauncher(start_s)
        notes.append("closed loop: the in-process PLC model answered the replayed commands")
    else:
        launcher = RecordedLauncher(cursor)
    rate = "as fast as possible" if options.rate is None else f"×{options.rate:g}"
    frames = "re-decoded raw radar bytes" if raw else "recorded frames"
    return DirectRig(
        source,
        launcher,
        build_targets(scenario),
        f"replay of {options.path} ({frames}, {launcher.name}), {rate}",
        notes=notes,
    )


def _use_raw_bytes(recording: Recording, options: ReplayOptions) -> bool:
    """Whether the frames are re-decoded from the raw bytes (``RecordingError`` if asked for
    and the recording has none)."""
    if options.frames == "recorded":
        return False
    present = has_raw_radar_bytes(recording)
    if options.frames == "raw" and not present:
        raise RecordingError(
            f"{options.path}: --frames raw, but the recording has no raw radar bytes "
            "(a sim run): use --frames recorded"
        )
    return present


def first_cycle_ns(recording: Recording) -> int | None:
    """Log time (ns) of the recording's first cycle: where its run's loop started, the zero of
    ``--from``/``--to`` (a driver run records the radar's bytes for seconds before that, while
    the emulators start and the launcher answers its first status). None: no cycles."""
    with closing(cycle_inputs(recording)) as messages:
        first = next(messages, None)
    return None if first is None else first.log_time_ns


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
        """Each cycle's recorded (input, output), paired in order. The outputs are a bulk
        topic, in chunks of their own, so they are read as a second stream (a second handle on
        the file); a killed run's last inputs may have lost their outputs: those are not
        checked."""
        nonlocal checked
        with Recording(recording.path) as second:
            inputs = recording.messages({TOPIC_CYCLE_INPUT}, file_order=True, allow_truncated=True)
            outputs = second.messages({TOPIC_CYCLE_OUTPUT}, file_order=True, allow_truncated=True)
            for recorded_input, recorded_output in zip(inputs, outputs, strict=False):
                if recorded_input.log_time_ns != recorded_output.log_time_ns:
                    raise RecordingError(
                        f"{recording.path}: cycle {checked}: its input and output were recorded "
                        "at different times (a message was dropped while recording): the "
                        "cycles cannot be verified from here on"
                    )
                checked += 1
                yield recorded_input.payload, recorded_output.payload

    mismatch = verify_cycles(pairs(), lambda: build_core(rig, sited))
    return checked, mismatch
