"""Observers of the loop: each watches every cycle's (input, output) and never changes a
decision.

- :class:`LoopCounters`: cycles, frames, detections, confirmed tracks, suppressed FIREs;
- :class:`LinkWatchObserver`: feeds the link watch (``hil.loop.links``) from the input;
- :class:`DigestObserver`: the determinism digest (SHA-256 over time, demand and tracks);
- :class:`ScoringObserver`: the track picture scored against ground truth;
- :class:`TimingObserver`: stage times, frame→command latency and arrival jitter, from the
  marks the shell's :class:`StageTimer` took (perf_counter seconds).

An observer that is also a :class:`RunEndObserver` is told how the run ended: the events of
closing its open engagement on the launcher's final status (the recorder, telemetry and the
live status line count a launch seen only then).

The shell calls them in order after the demand has been applied, so none of them adds to the
frame→command latency. Times are loop-clock seconds unless said otherwise.
"""

from __future__ import annotations

import hashlib
import logging
import math
import struct
import time
from dataclasses import dataclass, field
from typing import Protocol, runtime_checkable

import numpy as np

from hil.fire_control.interlocks import LauncherStatus
from hil.loop.cycle import CycleInput, CycleOutput, EngagementEvent
from hil.loop.links import LinkWatches
from hil.loop.timing import LoopTiming
from hil.tracking.scoring import TrackScorer
from sim.targets import TargetSet

log = logging.getLogger(__name__)


class CycleObserver(Protocol):
    """Watches one cycle after its demand was applied."""

    def observe(self, cycle_input: CycleInput, cycle_output: CycleOutput) -> None: ...


@runtime_checkable
class RunEndObserver(Protocol):
    """An observer that also watches the run's end: after the launcher was made safe, what
    closing the open engagement did (``events``: a FIRE seen through to its launch or refusal,
    or the engagement aborted) and the launcher's status read back (``final``; None: not
    read)."""

    def run_ended(
        self, events: tuple[EngagementEvent, ...], final: LauncherStatus | None
    ) -> None: ...


@dataclass
class LoopCounters:
    """What went through the loop, counted per cycle."""

    cycles: int = 0
    frames: int = 0
    idle_cycles: int = 0
    detections: int = 0
    injected_detections: int = 0
    confirmed_track_ids: set[int] = field(default_factory=set)
    fire_suppressed: int = 0
    """Demands carrying FIRE without every interlock holding — dropped by the loop's last
    check; the engagement never produces one, so anything but 0 is a bug."""

    def observe(self, cycle_input: CycleInput, cycle_output: CycleOutput) -> None:
        self.cycles += 1
        frame = cycle_input.frame
        if frame is None:
            self.idle_cycles += 1
        else:
            self.frames += 1
            self.detections += len(frame)
            self.injected_detections += frame.injected_count
        confirmed = cycle_output.track_changes.confirmed_ids
        if len(confirmed):
            self.confirmed_track_ids.update(confirmed.tolist())
        if cycle_output.fire_suppressed:
            self.fire_suppressed += 1
            log.error("engagement asked to fire with interlocks not all holding; dropped")


class LinkWatchObserver:
    """Both links judged every cycle from the input's frame age and launcher status."""

    def __init__(self, links: LinkWatches) -> None:
        self.links = links

    def observe(self, cycle_input: CycleInput, cycle_output: CycleOutput) -> None:
        status = cycle_input.launcher
        self.links.observe(
            cycle_input.t_s,
            cycle_input.radar_frame_age_s,
            status.link_up,
            status.t_s,
            lambda: cycle_input.radar_problem,
            lambda: cycle_input.launcher_problem,
        )


_DIGEST_HEAD = struct.Struct("<d??dd??")
"""A cycle's time and demand in the digest (the format compiled once)."""


class DigestObserver:
    """SHA-256 over every cycle's time since ``start_s`` (rounded to 1 ns), demand and track
    picture (ids, ENU positions rounded to 1 µm): equal digests mean identical tracks and
    commands."""

    def __init__(self, start_s: float) -> None:
        self.start_s = start_s
        self._digest = hashlib.sha256()

    def observe(self, cycle_input: CycleInput, cycle_output: CycleOutput) -> None:
        demand, picture = cycle_output.demand, cycle_output.picture
        d = self._digest
        d.update(
            _DIGEST_HEAD.pack(
                round(cycle_input.t_s - self.start_s, 9),
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

    def hexdigest(self) -> str:
        return self._digest.hexdigest()


class ScoringObserver:
    """Scores the track picture against ``truth`` (None: nothing to score) on frame cycles,
    at most once per ``interval_s`` of loop time."""

    def __init__(self, truth: TargetSet | None, interval_s: float = 1.0) -> None:
        self.truth = truth
        self.interval_s = interval_s
        self.scorer = TrackScorer()
        self._next_s = -math.inf

    def observe(self, cycle_input: CycleInput, cycle_output: CycleOutput) -> None:
        frame, t = cycle_input.frame, cycle_input.t_s
        if frame is None or t < self._next_s:
            return
        self._next_s = t + self.interval_s
        if self.truth is None:
            return
        truth = self.truth.state_at(frame.scenario_t_s)
        alive = np.flatnonzero(truth.alive)
        picture = cycle_output.picture
        self.scorer.add(
            t,
            truth.target_id[alive],
            truth.position_enu_m[alive],
            picture.ids,
            picture.position_enu_m,
        )


class StageTimer:
    """The shell's perf_counter marks of one cycle: ``start`` when the cycle begins, ``lap``
    as each stage ends (the last one, ``command``, after the demand was applied)."""

    __slots__ = ("laps", "started_s")

    def __init__(self) -> None:
        self.started_s = 0.0
        self.laps: list[tuple[str, float]] = []

    def start(self) -> None:
        self.started_s = time.perf_counter()
        self.laps.clear()

    def lap(self, stage: str) -> None:
        self.laps.append((stage, time.perf_counter()))


class TimingObserver:
    """Stage histograms, frame→command latency (frame cycles: from the frame's arrival to the
    ``command`` lap) and, for a real-time source, arrival jitter; perf_counter seconds."""

    def __init__(self, timer: StageTimer, real_time: bool) -> None:
        self.timer = timer
        self.real_time = real_time
        self.timing = LoopTiming()

    def observe(self, cycle_input: CycleInput, cycle_output: CycleOutput) -> None:
        timing, timer, frame = self.timing, self.timer, cycle_input.frame
        stages = timing.stages
        mark = timer.started_s
        if frame is not None:
            stages["decode"].add(mark - frame.t_arrival_s)
            if self.real_time:
                timing.arrival(frame.t_s, frame.t_arrival_s)
        for stage, at in timer.laps:
            stages[stage].add(at - mark)
            mark = at
        if frame is not None:
            timing.latency.add(mark - frame.t_arrival_s)
