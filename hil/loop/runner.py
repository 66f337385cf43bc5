"""The fire-control loop: frames in, tracks, engagement, launcher commands out.

One cycle per radar frame (or per idle timeout when the radar is silent):

1. **decode** — the frame reaches the loop (for the driver: queue wait and conversion);
2. **inject** — the scenario's injected targets are added to the frame's dwell;
3. **track** — the tracker steps on the merged frame; each track's source tag and truth id
   follow its latest detection;
4. **fire control** — threat evaluation, solution, engagement state machine, interlocks;
5. **command** — the demand is written to the launcher.

Each stage is timed into a histogram; latency is from the frame's arrival to its command having
been sent. Time comes only from the frame source's clock (simulated in ``sim`` mode, so the whole
loop is deterministic by seed). The track picture is scored against ground truth once per
``score_interval_s`` of loop time. Each cycle also feeds the link watch (``hil.loop.links``):
one log line per change of a link's state, and which links were lost at the end.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import math
import struct
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from hil.fire_control.engagement import Demand, Engagement, TrackPicture
from hil.fire_control.interlocks import LauncherStatus
from hil.loop.frames import Injector, TaggedFrame
from hil.loop.launchers import Launcher
from hil.loop.links import LinkWatches
from hil.loop.sources import FrameSource
from hil.loop.timing import LoopTiming
from hil.tracking.scoring import TrackScorer
from hil.tracking.tracker import CONFIRMED, RadarFrame, Tracker
from sim.targets import TargetSet

log = logging.getLogger(__name__)


SOURCE_RADAR, SOURCE_INJECTED = 0, 1
"""``RadarFrame.source`` of a detection: from the radar's frames, or injected by the loop."""


@dataclass
class LoopCounters:
    cycles: int = 0
    frames: int = 0
    idle_cycles: int = 0
    detections: int = 0
    injected_detections: int = 0
    confirmed_track_ids: set[int] = field(default_factory=set)
    fire_suppressed: int = 0
    """Demands carrying FIRE without every interlock holding — dropped by the loop's last
    check; the engagement never produces one, so anything but 0 is a bug."""


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
    """The launcher after ``make_safe``; None when its state could not be read (unknown)."""
    digest: str
    """SHA-256 over every cycle's time, demand and track picture: equal digests mean identical
    tracks and commands."""
    links: LinkWatches
    """Both links' outages over the run and which were lost at its end."""

    @property
    def rig_state_known(self) -> bool:
        return self.final_status is not None and self.final_status.link_up


class FireControlLoop:
    links: LinkWatches
    """Both links' outages, from the start of :meth:`run` (made there: its start time)."""

    def __init__(
        self,
        source: FrameSource,
        launcher: Launcher,
        tracker: Tracker,
        engagement: Engagement,
        *,
        beamwidth_az_rad: float,
        injector: Injector | None = None,
        truth: TargetSet | None = None,
        operator_armed: bool = False,
        score_interval_s: float = 1.0,
        advance_launcher: Callable[[float], None] | None = None,
    ) -> None:
        self.source = source
        self.beamwidth_az_rad = beamwidth_az_rad
        self.launcher = launcher
        self.tracker = tracker
        self.engagement = engagement
        self.injector = injector
        self.truth = truth
        self.operator_armed = operator_armed
        self.score_interval_s = score_interval_s
        self.advance_launcher = advance_launcher
        self.stop_requested = False
        """Set (e.g. by a signal handler) to end the run after the current cycle."""
        self.on_cycle: Callable[[FireControlLoop], None] | None = None
        """Called after every cycle (tests use it to act on the rig mid-engagement)."""
        self.counters = LoopCounters()
        self.timing = LoopTiming()
        self.scorer = TrackScorer()
        self._next_score_s = -math.inf
        self._digest = hashlib.sha256()

    async def run(self, duration_s: float) -> LoopResult:
        """Run until the source ends or ``duration_s`` of loop time has passed, then make the
        launcher safe."""
        start_s = self.source.now_s()
        end_s = start_s + duration_s
        t_last = start_s
        config = self.engagement.config
        self.links = LinkWatches.start(
            start_s, config.max_radar_silence_s, config.max_plc_status_age_s
        )
        try:
            async with contextlib.aclosing(self.source.frames()) as frames:
                async for frame in frames:
                    t_last = await self._cycle(frame, start_s)
                    if self.on_cycle is not None:
                        self.on_cycle(self)
                    if t_last >= end_s or self.stop_requested:
                        break
        finally:
            self.engagement.finish(t_last)
            self.links.finish(t_last)
            final = await self.launcher.make_safe()
        return LoopResult(
            self.stop_requested,
            start_s,
            t_last - start_s,
            self.counters,
            self.timing,
            self.engagement,
            self.scorer,
            final,
            self._digest.hexdigest(),
            self.links,
        )

    async def _cycle(self, frame: TaggedFrame | None, start_s: float) -> float:
        stages = self.timing.stages
        c = self.counters
        c.cycles += 1
        if frame is None:
            c.idle_cycles += 1
            t = self.source.now_s()
            scenario_t = None
        else:
            mark = time.perf_counter()
            stages["decode"].add(mark - frame.t_arrival_s)
            if self.source.real_time:
                self.timing.arrival(frame.t_s, frame.t_arrival_s)
            c.frames += 1
            if self.injector is not None:
                frame = self.injector.inject(frame)
            now = time.perf_counter()
            stages["inject"].add(now - mark)
            mark = now
            self._track(frame)
            now = time.perf_counter()
            stages["track"].add(now - mark)
            t, scenario_t = frame.t_s, frame.scenario_t_s
        mark = time.perf_counter()
        if self.advance_launcher is not None:
            self.advance_launcher(t)
        picture = self._picture(t)
        status = self.launcher.status()
        frame_age = self.source.frame_age_s(t)
        self.links.observe(
            t,
            frame_age,
            status.link_up,
            status.t_s,
            self.source.link_problem,
            self.launcher.link_problem,
        )
        demand = self.engagement.step(picture, status, frame_age, self.operator_armed)
        if demand.fire and not (demand.interlocks is not None and demand.interlocks.all_hold):
            c.fire_suppressed += 1
            log.error("engagement asked to fire with interlocks not all holding; dropped")
            demand = Demand(demand.axes_enabled, demand.pointing, demand.az_rad, demand.el_rad)
        now = time.perf_counter()
        stages["fire_control"].add(now - mark)
        mark = now
        await self.launcher.apply(demand)
        now = time.perf_counter()
        stages["command"].add(now - mark)
        if frame is not None:
            self.timing.latency.add(now - frame.t_arrival_s)
        self._record(t - start_s, demand, picture)
        if scenario_t is not None and t >= self._next_score_s:
            self._score(t, scenario_t, picture)
            self._next_score_s = t + self.score_interval_s
        return t

    def _track(self, frame: TaggedFrame) -> None:
        c = self.counters
        c.detections += len(frame)
        c.injected_detections += frame.injected_count
        report = self.tracker.step(
            RadarFrame(
                frame.t_s,
                frame.range_m,
                frame.az_rad,
                frame.el_rad,
                frame.vr_mps,
                frame.beam_az_rad,
                0.5 * (self.beamwidth_az_rad + frame.sweep_rad),
                np.where(frame.injected, SOURCE_INJECTED, SOURCE_RADAR),
                frame.truth_id,
            )
        )
        if report.confirmed:
            confirmed = self.tracker.ids[self.tracker.status == CONFIRMED]
            self.counters.confirmed_track_ids.update(confirmed.tolist())

    def _picture(self, t_s: float) -> TrackPicture:
        ids, position, velocity, age, velocity_sigma, source, truth = self.tracker.picture(t_s)
        injected = source == SOURCE_INJECTED
        return TrackPicture(t_s, ids, position, velocity, age, velocity_sigma, injected, truth)

    def _score(self, t_s: float, scenario_t_s: float, picture: TrackPicture) -> None:
        if self.truth is None:
            return
        truth = self.truth.state_at(scenario_t_s)
        alive = np.flatnonzero(truth.alive)
        self.scorer.add(
            t_s,
            truth.target_id[alive],
            truth.position_enu_m[alive],
            picture.ids,
            picture.position_enu_m,
        )

    def _record(self, t_s: float, demand: Demand, picture: TrackPicture) -> None:
        d = self._digest
        d.update(
            struct.pack(
                "<d??dd??",
                round(t_s, 9),
                demand.axes_enabled,
                demand.pointing,
                demand.az_rad,
                demand.el_rad,
                demand.arm,
                demand.fire,
            )
        )
        d.update(picture.ids.tobytes())
        d.update(np.round(picture.position_enu_m, 6).tobytes())
