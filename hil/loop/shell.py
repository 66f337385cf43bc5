"""The fire-control loop's async shell: frames in, the pure core stepped, commands out.

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
from hil.loop.cycle import CycleInput
from hil.loop.injection import Injector, TaggedFrame
from hil.loop.launchers import Launcher
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
from hil.loop.sources import FrameSource
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


class FireControlLoop:
    """The async shell around ``core`` for one rig's frame source and launcher (see the
    module doc). ``observers`` watch every cycle after the loop's own ones."""

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
        self.source = source
        self.launcher = launcher
        self.core = core
        self.injector = injector
        self.truth = truth
        self.operator_armed = operator_armed
        self.score_interval_s = score_interval_s
        self.observers = tuple(observers)
        self.stop_requested = False
        """Set (e.g. by a signal handler) to end the run after the current cycle."""
        config = core.engagement.config
        self._max_radar_silence_s = config.max_radar_silence_s
        self._max_plc_status_age_s = config.max_plc_status_age_s
        self._timer = StageTimer()
        self._initial_status: LauncherStatus | None = None

    async def run(self, duration_s: float) -> LoopResult:
        """Run until the source ends or ``duration_s`` of loop time has passed, then make the
        launcher safe."""
        start_s = self.source.now_s()
        end_s = start_s + duration_s
        t_last = start_s
        links = LinkWatches.start(start_s, self._max_radar_silence_s, self._max_plc_status_age_s)
        counters = LoopCounters()
        digest = DigestObserver(start_s)
        scoring = ScoringObserver(self.truth, self.score_interval_s)
        timing = TimingObserver(self._timer, self.source.real_time)
        observers: tuple[CycleObserver, ...] = (
            counters,
            LinkWatchObserver(links),
            digest,
            scoring,
            timing,
            *self.observers,
        )
        try:
            async with contextlib.aclosing(self.source.frames()) as frames:
                async for frame in frames:
                    t_last = await self._cycle(frame, observers)
                    if t_last >= end_s or self.stop_requested:
                        break
        finally:
            # made safe first, then the engagement closed on the status read back: a FIRE on
            # the wire as the run ended is seen through to its launch or refusal
            final = await self.launcher.make_safe()
            closing = self.core.finish(t_last, final)
            links.finish(t_last)
            for observer in observers:
                if isinstance(observer, RunEndObserver):
                    observer.run_ended(closing, final)
        return LoopResult(
            self.stop_requested,
            start_s,
            t_last - start_s,
            counters,
            timing.timing,
            self.core.engagement,
            scoring.scorer,
            final,
            digest.hexdigest(),
            links,
            self._initial_status,
        )

    async def _cycle(self, frame: TaggedFrame | None, observers: Sequence[CycleObserver]) -> float:
        timer = self._timer
        timer.start()
        if frame is None:
            t = self.source.now_s()
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
        await self.launcher.apply(output.demand)
        timer.lap("command")
        for observer in observers:
            observer.observe(cycle_input, output)
        return t

    def _gather(self, t_s: float, frame: TaggedFrame | None) -> CycleInput:
        """The cycle's input at loop time ``t_s``. A link's problem is asked only when the link
        is not healthy by the interlocks' limits (``""`` otherwise: asking costs a health
        snapshot and a string)."""
        status = self.launcher.status_at(t_s)
        frame_age = self.source.frame_age_s(t_s)
        radar_ok = frame_age <= self._max_radar_silence_s
        plc_ok = status.link_up and t_s - status.t_s <= self._max_plc_status_age_s
        return CycleInput(
            t_s,
            frame,
            frame_age,
            "" if radar_ok else self.source.link_problem(),
            status,
            "" if plc_ok else self.launcher.link_problem(),
            self.operator_armed,
        )
