"""The loop's pure core: one cycle is ``LoopCore.step(CycleInput) -> CycleOutput``.

Synchronous, no I/O, no wall clock, no randomness: the same sequence of inputs into a fresh
core gives the same outputs bit for bit (``hil.loop.verify`` checks a recording that way). One
step:

1. **track** — on a frame, the tracker steps on it (the frame already holds the injected
   detections); each track's source tag and truth id follow its latest detection;
2. **fire control** — the confirmed-track picture at the cycle's time, then threat evaluation,
   solution, engagement state machine and interlocks on the input's launcher status, radar
   frame age and operator state; a FIRE the evaluated interlocks do not all allow is removed
   from the demand (the engagement never asks for one: ``fire_suppressed`` flags a bug).

The core holds the tracker and the engagement (their state carries from cycle to cycle); the
shell applies the demand, observers watch (input, output). Loop-clock seconds throughout.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from hil.fire_control.engagement import Demand, Engagement, TrackPicture
from hil.fire_control.interlocks import LauncherStatus
from hil.loop.cycle import CycleInput, CycleOutput, EngagementEvent, TrackChanges
from hil.loop.injection import TaggedFrame
from hil.tracking.tracker import DetectionBatch, StepReport, Tracker

SOURCE_RADAR, SOURCE_INJECTED = 0, 1
"""``DetectionBatch.source`` of a detection: from the radar's frames, or injected by the loop."""

StageLap = Callable[[str], None]
"""Called with a stage's name as it ends (the shell's stage timer); never changes anything."""


class LoopCore:
    """The tracker and the engagement, stepped one cycle at a time (see the module doc).
    ``beamwidth_az_rad``: the radar's azimuth beamwidth (rad), for each dwell's visible arc."""

    def __init__(self, tracker: Tracker, engagement: Engagement, beamwidth_az_rad: float) -> None:
        self.tracker = tracker
        self.engagement = engagement
        self.beamwidth_az_rad = beamwidth_az_rad
        self._confirmed_ids = np.empty(0, np.int64)
        """The previous cycle's confirmed track ids."""

    def step(self, cycle: CycleInput, lap: StageLap | None = None) -> CycleOutput:
        """One cycle (see the module doc). ``lap("track")`` is called after the tracker's step
        on a frame cycle, so the shell can time the stages; it cannot affect the output."""
        report = None if cycle.frame is None else self._track(cycle.frame)
        if report is not None and lap is not None:
            lap("track")
        picture = self._picture(cycle.t_s)
        changes = TrackChanges.none() if report is None else self._changes(report, picture)
        self._confirmed_ids = picture.ids
        engagement = self.engagement
        before = _EngagementMark(engagement)
        demand = engagement.step(
            picture, cycle.launcher, cycle.radar_frame_age_s, cycle.operator_armed
        )
        interlocks = demand.interlocks
        suppressed = demand.fire and not (interlocks is not None and interlocks.all_hold)
        if suppressed:
            demand = Demand(demand.axes_enabled, demand.pointing, demand.az_rad, demand.el_rad)
        return CycleOutput(
            demand,
            picture,
            changes,
            before.events_since(engagement, cycle.t_s),
            engagement.phase,
            interlocks,
            suppressed,
        )

    def finish(
        self, t_s: float, final: LauncherStatus | None = None
    ) -> tuple[EngagementEvent, ...]:
        """End of run at ``t_s``: an open engagement is closed — a FIRE already requested seen
        through on ``final``, the launcher's status after it was made safe (``None``:
        unknown) — and what that did to it is returned as events."""
        before = _EngagementMark(self.engagement)
        self.engagement.finish(t_s, final)
        return before.events_since(self.engagement, t_s)

    def _track(self, frame: TaggedFrame) -> StepReport:
        return self.tracker.step(
            DetectionBatch(
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

    def _changes(self, report: StepReport, picture: TrackPicture) -> TrackChanges:
        """A track once confirmed stays confirmed until deleted: the newly confirmed ones are
        those not in the previous cycle's picture."""
        newly = (
            np.setdiff1d(picture.ids, self._confirmed_ids).astype(np.int64)
            if report.confirmed
            else np.empty(0, np.int64)
        )
        return TrackChanges(
            report.assigned, report.initiated, report.deleted, report.confirmed, newly
        )

    def _picture(self, t_s: float) -> TrackPicture:
        ids, position, velocity, age, velocity_sigma, source, truth = self.tracker.picture(t_s)
        injected = source == SOURCE_INJECTED
        return TrackPicture(t_s, ids, position, velocity, age, velocity_sigma, injected, truth)


class _EngagementMark:
    """The engagement's log before a step, to name what the step did to it."""

    __slots__ = ("current", "fire_requested_s", "outcome", "records")

    def __init__(self, engagement: Engagement) -> None:
        self.records = len(engagement.records)
        self.current = engagement.current
        self.outcome = self.current.outcome if self.current else ""
        self.fire_requested_s = self.current.fire_requested_s if self.current else None

    def events_since(self, engagement: Engagement, t_s: float) -> tuple[EngagementEvent, ...]:
        record = self.current
        if len(engagement.records) == self.records and (
            record is None
            or (
                record.outcome == self.outcome
                and (record.fire_requested_s is None) == (self.fire_requested_s is None)
            )
        ):
            return ()  # most cycles: nothing designated, the open engagement unchanged
        events: list[EngagementEvent] = []
        if record is not None:
            if record.fire_requested_s is not None and self.fire_requested_s is None:
                events.append(EngagementEvent(t_s, "fire_requested", record.track_id))
            if record.outcome != self.outcome:
                reason = "" if record.outcome == "launched" else record.reason
                events.append(EngagementEvent(t_s, record.outcome, record.track_id, reason))
        events.extend(
            EngagementEvent(t_s, "designated", r.track_id)
            for r in engagement.records[self.records :]
        )
        return tuple(events)
