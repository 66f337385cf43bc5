"""The loop's side of telemetry: a ``CycleObserver`` that builds small snapshots and offers
them to the publisher's bounded hand-off.

Per cycle it compares a few values with the last cycle's (phase, links, launcher arm state and
fault, interlocks) and, at the configured rates of loop time, copies the track picture (tracks
Hz) and the loop counters (health Hz). Engagement events, link losses and launcher faults are
offered as they happen. It never waits and never raises into the loop: a full hand-off drops
the snapshot, counts it and logs one warning per run. Its own time per cycle is measured
(``observe_time``, perf_counter seconds) to show it costs the loop nothing that matters.
"""

from __future__ import annotations

import dataclasses
import logging
import math
import time
from dataclasses import dataclass
from typing import Any

from drivers.plc.types import ArmState, FaultCode
from hil.fire_control.interlocks import Interlocks, LauncherStatus
from hil.loop.cycle import CycleInput, CycleOutput, EngagementEvent
from hil.loop.timing import Histogram
from hil.telemetry.handoff import HandOff
from hil.telemetry.snapshots import (
    EventSnapshot,
    HealthSnapshot,
    InterlocksSnapshot,
    Snapshot,
    StatusSnapshot,
    TracksSnapshot,
)

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ObserverSettings:
    """Rates (per second of loop time), the radar antenna's ENU position (m) ranges are
    measured from, and the interlocks' link limits (s) the links are judged by
    (``hil.loop.links``)."""

    tracks_hz: float
    health_hz: float
    radar_enu_m: tuple[float, float, float]
    max_radar_silence_s: float
    max_plc_status_age_s: float


def _name(enum_type: type[ArmState] | type[FaultCode], value: int) -> str:
    try:
        return enum_type(value).name
    except ValueError:
        return str(value)


def _launcher_state(status: LauncherStatus) -> dict[str, Any]:
    return {
        "arm_state": _name(ArmState, status.arm_state),
        "fault": _name(FaultCode, status.fault_code),
        "launch_count": status.launch_count,
        "rounds_ready": status.rounds_ready,
    }


class TelemetryObserver:
    """Snapshots of one run for the publisher (see the module doc). ``base_status`` names the
    run; ``start_s`` is the loop-clock time the run started (published ``t_s`` count from it);
    ``where`` names the broker in the one warning on drops."""

    def __init__(
        self,
        handoff: HandOff[Snapshot],
        base_status: StatusSnapshot,
        settings: ObserverSettings,
        start_s: float,
        where: str,
    ) -> None:
        self.handoff = handoff
        self.settings = settings
        self.start_s = start_s
        self.where = where
        self.observe_time = Histogram()
        """perf_counter seconds spent in ``observe`` per cycle."""
        self._rig = base_status.rig
        self._status = base_status
        self._tracks_period_s = 1.0 / settings.tracks_hz
        self._health_period_s = 1.0 / settings.health_hz
        self._next_tracks_s = -math.inf
        self._next_health_s = -math.inf
        self._cycles = 0
        self._frames = 0
        self._last_health: tuple[float, int, int] | None = None
        self._seq = 0
        self._warned = False
        self._drop_warned = False
        self._running = False
        self._radar_up = True
        self._plc_up = True
        self._fault = FaultCode.NONE.value
        self._arm_state = -1
        self._phase = ""
        self._interlocks: Interlocks | None = None

    @property
    def status(self) -> StatusSnapshot:
        """The rig's state as last offered (``running`` once the first cycle was seen)."""
        return self._status

    def observe(self, cycle_input: CycleInput, cycle_output: CycleOutput) -> None:
        started = time.perf_counter()
        try:
            self._observe(cycle_input, cycle_output)
        except Exception:  # telemetry must never stop the loop; say it once
            if not self._warned:
                self._warned = True
                log.exception("telemetry: building a snapshot failed; telemetry may be incomplete")
        self.observe_time.add(time.perf_counter() - started)

    def run_ended(self, events: tuple[EngagementEvent, ...], final: LauncherStatus | None) -> None:
        """The end of the run: closing the open engagement's events (a launch seen only on the
        launcher's status read back after it was made safe) as any cycle's."""
        for event in events:
            self._event(
                event.t_s - self.start_s, event.kind, track_id=event.track_id, reason=event.reason
            )

    def _observe(self, cycle_input: CycleInput, cycle_output: CycleOutput) -> None:
        t = cycle_input.t_s
        rel = t - self.start_s
        self._cycles += 1
        if cycle_input.frame is not None:
            self._frames += 1
        for event in cycle_output.events:
            self._event(
                event.t_s - self.start_s, event.kind, track_id=event.track_id, reason=event.reason
            )
        changed = self._links(cycle_input, rel) | self._launcher(cycle_input.launcher, rel)
        phase = cycle_output.phase.value
        if phase != self._phase:
            self._phase = phase
            changed = True
        interlocks = cycle_output.interlocks
        if interlocks is not None and interlocks != self._interlocks:
            self._interlocks = interlocks
            self._offer(InterlocksSnapshot(self._rig, rel, dataclasses.asdict(interlocks)))
        if changed or not self._running:
            self._running = True
            self.offer_status(self.current_status("running", rel, cycle_input.launcher))
        if t >= self._next_tracks_s:
            self._next_tracks_s = _next(self._next_tracks_s, t, self._tracks_period_s)
            picture = cycle_output.picture
            self._offer(
                TracksSnapshot(
                    self._rig,
                    rel,
                    picture.ids.copy(),
                    picture.position_enu_m.copy(),
                    picture.velocity_enu_mps.copy(),
                    picture.injected.copy(),
                    self.settings.radar_enu_m,
                )
            )
        if t >= self._next_health_s:
            self._next_health_s = _next(self._next_health_s, t, self._health_period_s)
            self._offer(self._health(cycle_input, cycle_output, t, rel))

    def current_status(
        self, state: str, rel_s: float | None, launcher: LauncherStatus | None = None
    ) -> StatusSnapshot:
        """The rig's status now, in ``state``, at ``rel_s`` (s since the start)."""
        interlocks = None if self._interlocks is None else dataclasses.asdict(self._interlocks)
        status = self._status
        return dataclasses.replace(
            status,
            state=state,
            t_s=rel_s if rel_s is not None else status.t_s,
            phase=self._phase or None,
            radar_link_up=self._radar_up if self._running else None,
            plc_link_up=self._plc_up if self._running else None,
            launcher=_launcher_state(launcher) if launcher is not None else status.launcher,
            interlocks=interlocks,
        )

    def offer_status(self, status: StatusSnapshot) -> None:
        """Hand ``status`` over even when the queue is full: it is rare and it is retained."""
        self._status = status
        self.handoff.offer(status, always=True)

    def _links(self, cycle_input: CycleInput, rel: float) -> bool:
        s = self.settings
        radar_up = min(cycle_input.radar_frame_age_s, rel) <= s.max_radar_silence_s
        launcher = cycle_input.launcher
        plc_up = launcher.link_up and cycle_input.t_s - launcher.t_s <= s.max_plc_status_age_s
        changed = False
        if radar_up != self._radar_up:
            self._radar_up, changed = radar_up, True
            why = "" if radar_up else cycle_input.radar_problem
            self._event(rel, "link_restored" if radar_up else "link_lost", link="radar", reason=why)
        if plc_up != self._plc_up:
            self._plc_up, changed = plc_up, True
            why = "" if plc_up else cycle_input.launcher_problem
            self._event(rel, "link_restored" if plc_up else "link_lost", link="plc", reason=why)
        return changed

    def _launcher(self, status: LauncherStatus, rel: float) -> bool:
        changed = status.arm_state != self._arm_state
        self._arm_state = status.arm_state
        if status.link_up and status.fault_code != self._fault:
            previous, self._fault = self._fault, status.fault_code
            if status.fault_code == FaultCode.NONE.value:
                self._event(rel, "fault_cleared", fault=_name(FaultCode, previous))
            else:
                self._event(rel, "fault", fault=_name(FaultCode, status.fault_code))
            changed = True
        return changed

    def _health(
        self, cycle_input: CycleInput, cycle_output: CycleOutput, t: float, rel: float
    ) -> HealthSnapshot:
        last = self._last_health
        self._last_health = (t, self._cycles, self._frames)
        span = t - last[0] if last is not None else 0.0
        cycle_rate = (self._cycles - last[1]) / span if last is not None and span > 0 else math.nan
        frame_rate = (self._frames - last[2]) / span if last is not None and span > 0 else math.nan
        launcher = cycle_input.launcher
        return HealthSnapshot(
            self._rig,
            rel,
            self._cycles,
            self._frames,
            cycle_rate,
            frame_rate,
            cycle_input.radar_frame_age_s,
            self._radar_up,
            self._plc_up,
            t - launcher.t_s if launcher.link_up else math.inf,
            len(cycle_output.picture.ids),
            self.handoff.dropped,
            len(self.handoff),
        )

    def _event(self, rel: float, kind: str, **details: Any) -> None:
        self._seq += 1
        self._offer(EventSnapshot(self._rig, self._seq, rel, kind, **details))

    def _offer(self, snapshot: Snapshot) -> None:
        if self.handoff.offer(snapshot) or self._drop_warned or self.handoff.closed:
            return
        self._drop_warned = True
        log.warning(
            "telemetry: the queue to the publisher is full (%d messages); dropping messages, "
            "counted in the run summary (the broker at %s is slow or absent)",
            self.handoff.capacity,
            self.where,
        )


def _next(scheduled_s: float, now_s: float, period_s: float) -> float:
    """The next due time after ``now_s``: on the period's grid while the loop keeps up, from
    ``now_s`` after a gap (no burst of catch-up snapshots)."""
    following = scheduled_s + period_s
    return following if following > now_s else now_s + period_s
