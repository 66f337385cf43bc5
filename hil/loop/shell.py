"""The fire-control loop's shells: frames in, the pure core stepped, commands out.

Two shells run the same cycle (``LoopShell``: everything but handing the demand over):

- :class:`FireControlLoop`, the async shell, for wall-clock rigs (emulate, bench, a replay at a
  finite rate or stepped): frames from an async ``FrameSource``, demands awaited by a
  ``Launcher``;
- :class:`DirectLoop`, a plain loop with no event loop, for the rigs that need no I/O (sim,
  a replay as fast as possible): frames from a ``DirectFrameSource``'s iterator, demands
  applied in process by a ``DirectLauncher``. A signal handler ends it after the current
  cycle (``stop_requested``) exactly as it ends the async one.

One cycle per radar frame (or per idle timeout when the radar is silent):

1. **decode** — the frame reaches the loop (for the driver: queue wait and conversion);
2. **inject** — the scenario's injected targets are added to the frame's dwell;
3. **gather** — the cycle's input (``hil.loop.cycle.CycleInput``): loop time, the merged
   frame, the radar's frame age, the launcher's status, the links' problems, operator state;
4. **track**, **fire control** — ``LoopCore.step`` (``hil.loop.core``): pure, deterministic;
5. **command** — the demand is handed to the launcher;

then every observer (``hil.loop.observers``) watches the (input, output) pair: counters, link
watch (one log line per change of a link's state), determinism digest, scoring against ground
truth once per ``score_interval_s`` of loop time, stage timing and frame→command latency (from
the frame's arrival to its command having been sent), then the caller's own observers. Time
comes only from the frame source's clock (simulated in ``sim`` mode, so the whole loop is
deterministic by seed).
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Sequence
from dataclasses import dataclass

from drivers.plc.types import ArmState
from hil.fire_control.engagement import Engagement
from hil.fire_control.interlocks import LauncherStatus
from hil.loop.core import LoopCore
from hil.loop.cycle import CycleInput, CycleOutput
from hil.loop.injection import Injector, TaggedFrame
from hil.loop.launchers import DirectLauncher, Launcher, LauncherView
from hil.loop.links import LinkWatches
from hil.loop.observers import (
    CycleObserver,
    DigestObserver,
    LinkWatchObserver,
    LoopCounters,
    RunEndObserver,
    ScoringObserver,
    StageTimer,
    TimingObserver,
)
from hil.loop.sources import DirectFrameSource, FrameClock, FrameSource
from hil.loop.timing import LoopTiming
from hil.tracking.scoring import TrackScorer
from sim.targets import TargetSet

log = logging.getLogger(__name__)


@dataclass
class LoopResult:
    stopped_early: bool
    """The run was stopped (SIGINT/SIGTERM) before its duration."""
    start_s: float
    """Loop-clock time the run started (engagement log times are on the loop clock)."""
    duration_s: float
    counters: LoopCounters
    timing: LoopTiming
    engagement: Engagement
    scorer: TrackScorer
    final_status: LauncherStatus | None
    """The launcher read back after ``make_safe``: SAFE, or what it still showed when the
    read-backs ran out; None when its state could not be read (unknown)."""
    digest: str
    """SHA-256 over every cycle's time, demand and track picture: equal digests mean identical
    tracks and commands."""
    links: LinkWatches
    """Both links' outages over the run and which were lost at its end."""
    initial_status: LauncherStatus | None = None
    """The launcher at the first cycle that read it with its link up (None: never): its
    launch count is where the run's launches count from."""

    @property
    def rig_safe_confirmed(self) -> bool:
        """The launcher was read back SAFE after ``make_safe``: anything else — not read, or
        still ARMING, ARMED or FIRING — is not a safe end (``hil run`` exits 3)."""
        final = self.final_status
        return final is not None and final.link_up and final.arm_state == ArmState.SAFE


class _Run:
    """One run's own observers and bookkeeping (from ``LoopShell.begin`` to its result)."""

    __slots__ = (
        "counters",
        "digest",
        "end_s",
        "links",
        "observers",
        "scoring",
        "start_s",
        "t_last",
        "timing",
    )

    def __init__(self, shell: LoopShell, duration_s: float) -> None:
        self.start_s = shell.clock.now_s()
        self.end_s = self.start_s + duration_s
        self.t_last = self.start_s
        self.links = LinkWatches.start(
            self.start_s, shell.max_radar_silence_s, shell.max_plc_status_age_s
        )
        self.counters = LoopCounters()
        self.digest = DigestObserver(self.start_s)
        self.scoring = ScoringObserver(shell.truth, shell.score_interval_s)
        self.timing = TimingObserver(shell.timer, shell.clock.real_time)
        self.observers: tuple[CycleObserver, ...] = (
            self.counters,
            LinkWatchObserver(self.links),
            self.digest,
            self.scoring,
            self.timing,
            *shell.observers,
        )


class LoopShell:
    """What both shells share: one cycle is ``decide`` (inject, gather, ``core.step``), the
    shell hands the demand to its launcher, then ``watched`` (the ``command`` lap, every
    observer); ``begin`` and ``end`` bracket a run (see the module doc). ``observers`` watch
    every cycle after the loop's own ones."""

    def __init__(
        self,
        clock: FrameClock,
        launcher: LauncherView,
        core: LoopCore,
        *,
        injector: Injector | None = None,
        truth: TargetSet | None = None,
        operator_armed: bool = False,
        score_interval_s: float = 1.0,
        observers: Sequence[CycleObserver] = (),
    ) -> None:
        self.clock = clock
        self.view = launcher
        self.core = core
        self.injector = injector
        self.truth = truth
        self.operator_armed = operator_armed
        self.score_interval_s = score_interval_s
        self.observers = tuple(observers)
        self.stop_requested = False
        """Set (e.g. by a signal handler) to end the run after the current cycle."""
        config = core.engagement.config
        self.max_radar_silence_s = config.max_radar_silence_s
        self.max_plc_status_age_s = config.max_plc_status_age_s
        self.timer = StageTimer()
        self._initial_status: LauncherStatus | None = None

    def begin(self, duration_s: float) -> _Run:
        return _Run(self, duration_s)

    def decide(self, frame: TaggedFrame | None) -> tuple[CycleInput, CycleOutput]:
        """The first half of a cycle: the frame injected, the input gathered, the core
        stepped; the shell then hands ``output.demand`` to its launcher."""
        timer = self.timer
        timer.start()
        if frame is None:
            t = self.clock.now_s()
        else:
            if self.injector is not None:
                frame = self.injector.inject(frame)
            timer.lap("inject")
            t = frame.t_s
        cycle_input = self._gather(t, frame)
        if self._initial_status is None and cycle_input.launcher.link_up:
            self._initial_status = cycle_input.launcher
        timer.lap("gather")
        output = self.core.step(cycle_input, timer.lap)
        timer.lap("fire_control")
        return cycle_input, output

    def watched(self, run: _Run, cycle_input: CycleInput, output: CycleOutput) -> bool:
        """The second half, once the demand was handed over: the ``command`` lap and every
        observer. True when the run is over (its duration reached, or a stop requested)."""
        self.timer.lap("command")
        for observer in run.observers:
            observer.observe(cycle_input, output)
        run.t_last = t = cycle_input.t_s
        return t >= run.end_s or self.stop_requested

    def end(self, run: _Run, final: LauncherStatus | None) -> None:
        """After the launcher was made safe (``final``: its status read back): the engagement
        closed on it — a FIRE on the wire as the run ended is seen through to its launch or
        refusal — the links' watch ended, and the observers told."""
        closing = self.core.finish(run.t_last, final)
        run.links.finish(run.t_last)
        for observer in run.observers:
            if isinstance(observer, RunEndObserver):
                observer.run_ended(closing, final)

    def result(self, run: _Run, final: LauncherStatus | None) -> LoopResult:
        return LoopResult(
            self.stop_requested,
            run.start_s,
            run.t_last - run.start_s,
            run.counters,
            run.timing.timing,
            self.core.engagement,
            run.scoring.scorer,
            final,
            run.digest.hexdigest(),
            run.links,
            self._initial_status,
        )

    def _gather(self, t_s: float, frame: TaggedFrame | None) -> CycleInput:
        """The cycle's input at loop time ``t_s``. A link's problem is asked only when the link
        is not healthy by the interlocks' limits (``""`` otherwise: asking costs a health
        snapshot and a string)."""
        status = self.view.status_at(t_s)
        frame_age = self.clock.frame_age_s(t_s)
        radar_ok = frame_age <= self.max_radar_silence_s
        plc_ok = status.link_up and t_s - status.t_s <= self.max_plc_status_age_s
        return CycleInput(
            t_s,
            frame,
            frame_age,
            "" if radar_ok else self.clock.link_problem(),
            status,
            "" if plc_ok else self.view.link_problem(),
            self.operator_armed,
        )


class FireControlLoop(LoopShell):
    """The async shell around ``core`` for one rig's frame source and launcher (see the
    module doc)."""

    def __init__(
        self,
        source: FrameSource,
        launcher: Launcher,
        core: LoopCore,
        *,
        injector: Injector | None = None,
        truth: TargetSet | None = None,
        operator_armed: bool = False,
        score_interval_s: float = 1.0,
        observers: Sequence[CycleObserver] = (),
    ) -> None:
        super().__init__(
            source,
            launcher,
            core,
            injector=injector,
            truth=truth,
            operator_armed=operator_armed,
            score_interval_s=score_interval_s,
            observers=observers,
        )
        self.source = source
        self.launcher = launcher

    async def run(self, duration_s: float) -> LoopResult:
        """Run until the source ends or ``duration_s`` of loop time has passed, then make the
        launcher safe."""
        run = self.begin(duration_s)
        try:
            async with contextlib.aclosing(self.source.frames()) as frames:
                async for frame in frames:
                    cycle_input, output = self.decide(frame)
                    await self.launcher.apply(output.demand)
                    if self.watched(run, cycle_input, output):
                        break
        finally:
            final = await self.launcher.make_safe()
            self.end(run, final)
        return self.result(run, final)


class DirectLoop(LoopShell):
    """The same loop with no event loop, for sources and launchers that need no I/O (see the
    module doc)."""

    def __init__(
        self,
        source: DirectFrameSource,
        launcher: DirectLauncher,
        core: LoopCore,
        *,
        injector: Injector | None = None,
        truth: TargetSet | None = None,
        operator_armed: bool = False,
        score_interval_s: float = 1.0,
        observers: Sequence[CycleObserver] = (),
    ) -> None:
        super().__init__(
            source,
            launcher,
            core,
            injector=injector,
            truth=truth,
            operator_armed=operator_armed,
            score_interval_s=score_interval_s,
            observers=observers,
        )
        self.source = source
        self.launcher = launcher

    def run(self, duration_s: float) -> LoopResult:
        """Run until the source ends, ``duration_s`` of loop time has passed or a stop is
        requested, then make the launcher safe."""
        run = self.begin(duration_s)
        apply = self.launcher.apply_now
        try:
            with contextlib.closing(self.source.frames_now()) as frames:
                for frame in frames:
                    cycle_input, output = self.decide(frame)
                    apply(output.demand)
                    if self.watched(run, cycle_input, output):
                        break
        finally:
            final = self.launcher.make_safe_now()
            self.end(run, final)
        return self.result(run, final)
