"""The engagement state machine for the single launcher.

Phases: IDLE → DESIGNATED → SLEWING → READY → FIRE_REQUESTED → FIRED → ASSESS → IDLE.

- IDLE: designate the most urgent threat (``screen.screen``) that has a valid solution
  and is neither already engaged nor on hold after a refusal; threats are evaluated every
  ``threat_evaluation_interval_s`` (tracks change once per antenna revolution at most).
- DESIGNATED: ask for POINTING with the axes enabled.
- SLEWING: point at the solution every cycle until the launcher is within tolerance of it.
- READY: hold a fixed aim ``hold_lead_s`` ahead of the moving solution (re-aimed every
  2 × ``hold_lead_s``), so the launcher comes to rest — the PLC's IN_POSITION needs it still —
  while the solution sweeps through the aim; ask the PLC to arm — only if the operator armed
  the session — and request a launch in the first cycle where every software interlock holds
  (``interlocks.evaluate``: among others, the solution within tolerance of where the launcher
  actually points).
- FIRE_REQUESTED: wait for the PLC's launch count to rise (FIRED) or its reject count to rise /
  ``fire_confirm_timeout_s`` to pass (refused: logged, the track held for ``refused_hold_s``,
  never retried blindly).
- FIRED → ASSESS for the time of flight plus ``assess_margin_s``, then IDLE.

Losing the track (or its updates), the solution, the radar or the PLC link before the launch
request aborts to IDLE. Outside
READY..FIRED the arm request is off: the rig is armed only for an engagement that is ready.
Times are loop-clock seconds; angles rad (azimuth clockwise from north).
"""

from __future__ import annotations

import enum
import math
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

from hil.config.fire_control import FireControlConfig
from hil.fire_control.interlocks import (
    InterlockInputs,
    InterlockLimits,
    Interlocks,
    LauncherStatus,
    evaluate_within,
    limits_of,
    pointing_error_rad,
)
from hil.fire_control.screen import ScreenLimits, screen, warm_up
from hil.fire_control.solution import Solution, solve

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]


class Phase(enum.Enum):
    IDLE = "idle"
    DESIGNATED = "designated"
    SLEWING = "slewing"
    READY = "ready"
    FIRE_REQUESTED = "fire_requested"
    FIRED = "fired"
    ASSESS = "assess"


@dataclass(frozen=True, slots=True)
class TrackPicture:
    """Confirmed tracks at ``t_s``: ids (K,), ENU positions (K, 3) m, velocities (K, 3) m/s,
    age since their last update (K,) s, velocity uncertainty (K,) m/s, and each track's source
    tag and truth id (−1 if none) from its latest detection."""

    t_s: float
    ids: IntArray
    position_enu_m: FloatArray
    velocity_enu_mps: FloatArray
    age_s: FloatArray
    velocity_sigma_mps: FloatArray
    injected: npt.NDArray[np.bool_]
    truth_id: IntArray

    @classmethod
    def empty(cls, t_s: float) -> TrackPicture:
        return cls(
            t_s,
            np.empty(0, np.int64),
            np.empty((0, 3)),
            np.empty((0, 3)),
            np.empty(0),
            np.empty(0),
            np.empty(0, bool),
            np.empty(0, np.int64),
        )


@dataclass(frozen=True, slots=True)
class Demand:
    """What the launcher should be doing after this cycle. ``fire`` is a one-cycle request."""

    axes_enabled: bool = False
    pointing: bool = False
    az_rad: float = math.nan
    el_rad: float = math.nan
    arm: bool = False
    fire: bool = False
    interlocks: Interlocks | None = None


@dataclass(slots=True)
class EngagementRecord:
    """One engagement, for the engagement log."""

    track_id: int
    source: str
    """``real`` or ``injected``: the source of the track's latest detection at designation."""
    truth_id: int
    designated_s: float
    outcome: str = "open"
    """open, launched, refused, aborted."""
    reason: str = ""
    fire_requested_s: float | None = None
    launched_s: float | None = None
    time_of_flight_s: float | None = None
    interlocks_failing_at_end: tuple[str, ...] = ()


@dataclass
class Engagement:
    config: FireControlConfig
    launcher_enu_m: tuple[float, float, float]
    phase: Phase = Phase.IDLE
    records: list[EngagementRecord] = field(default_factory=list)
    launch_requests: int = 0
    launch_requests_refused: int = 0
    launches: int = 0
    _current: EngagementRecord | None = None
    _engaged: set[int] = field(default_factory=set)
    _held_until: dict[int, float] = field(default_factory=dict)
    _since_s: float = 0.0
    _launch_count_at_request: int = 0
    _reject_count_at_request: int = 0
    _assess_until_s: float = 0.0
    _solution: Solution | None = None
    _hold: Solution | None = None
    _next_evaluation_s: float = -math.inf
    _hold_until_s: float = 0.0
    _limits: ScreenLimits = field(init=False, repr=False)
    _launcher: FloatArray = field(init=False, repr=False)
    _interlock_limits: InterlockLimits = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self._limits = ScreenLimits.of(self.config, self.launcher_enu_m)
        warm_up(self._limits)  # the screen compiled before the loop runs, not in a cycle
        self._launcher = self._limits.launcher_enu_m
        self._interlock_limits = limits_of(self.config)

    @property
    def current(self) -> EngagementRecord | None:
        return self._current

    def step(
        self,
        picture: TrackPicture,
        launcher: LauncherStatus,
        radar_frame_age_s: float,
        operator_armed: bool,
    ) -> Demand:
        """One cycle at ``picture.t_s``: advance the phase and return the launcher demand."""
        t = picture.t_s
        record = self._current
        if self.phase is Phase.IDLE:
            return self._designate(picture, launcher)
        if self.phase is Phase.ASSESS:
            if t >= self._assess_until_s:
                self._to(Phase.IDLE, t)
                self._current = None
            return Demand(axes_enabled=True)
        if self.phase is Phase.FIRED:
            self._assess_until_s = t + (self._solution_tof() + self.config.assess_margin_s)
            self._to(Phase.ASSESS, t)
            return Demand(axes_enabled=True)
        assert record is not None
        # DESIGNATED .. FIRE_REQUESTED: need the track, a solution and the PLC
        if self.phase is Phase.FIRE_REQUESTED:
            if launcher.link_up and launcher.launch_count > self._launch_count_at_request:
                self.launches += 1
                record.outcome, record.launched_s = "launched", t
                record.time_of_flight_s = self._solution_tof()
                self._engaged.add(record.track_id)
                self._to(Phase.FIRED, t)
                return self._point(self._hold, arm=operator_armed)
            refused = launcher.link_up and launcher.fire_reject_count > (
                self._reject_count_at_request
            )
            if refused or t - self._since_s > self.config.fire_confirm_timeout_s:
                self.launch_requests_refused += 1
                why = "PLC refused the launch" if refused else "no launch confirmed in time"
                self._held_until[record.track_id] = t + self.config.refused_hold_s
                return self._end(t, "refused", why)
            # the request is out: hold the aim until the PLC answers or time runs out
            return self._point(self._hold, arm=operator_armed)
        found = np.flatnonzero(picture.ids == record.track_id)
        if not len(found):
            return self._end(t, "aborted", "track lost")
        row = int(found[0])
        age = float(picture.age_s[row])
        # not mere interlocks: with the radar silent or the track stale the engagement cannot
        # recover by itself, and the rig must not stay armed waiting for it
        if not radar_frame_age_s <= self.config.max_radar_silence_s:
            return self._end(t, "aborted", f"radar silent for {radar_frame_age_s:.2f} s")
        if not age <= self.config.max_track_age_s:
            return self._end(t, "aborted", f"track not updated for {age:.1f} s")
        # the row as Python floats (the same values): one conversion, not one per use
        position: list[float] = picture.position_enu_m[row].tolist()
        velocity: list[float] = picture.velocity_enu_mps[row].tolist()
        solution = solve(self._launcher, position, velocity, self.config)
        self._solution = solution
        if not solution.valid:
            return self._end(t, "aborted", f"no solution: {solution.reason}")
        if not launcher.link_up:
            return self._end(t, "aborted", "PLC link down")
        error = pointing_error_rad(
            launcher.az_rad, launcher.el_rad, solution.az_rad, solution.el_rad
        )
        tolerance = self._interlock_limits.pointing_tolerance_rad
        if self.phase is Phase.DESIGNATED:
            self._to(Phase.SLEWING, t)
            return self._point()
        if self.phase is Phase.SLEWING:
            if error <= tolerance:
                self._to(Phase.READY, t)
                self._hold = None
            else:
                return self._point()
        # READY: hold a fixed aim a little ahead of the moving solution, so the launcher can
        # come to rest (the PLC's IN_POSITION needs it still) while the solution sweeps through
        # the aim; re-aim when that window has passed.
        if self._hold is None or t >= self._hold_until_s:
            lead = self.config.hold_lead_s
            ahead = solve(
                self._launcher,
                [p + v * lead for p, v in zip(position, velocity, strict=True)],
                velocity,
                self.config,
            )
            self._hold = ahead if ahead.valid else solution
            self._hold_until_s = t + 2.0 * lead
        # a status read after the frame's dwell time is newer than the frame: age 0 (NaN stays)
        status_age = t - launcher.t_s
        status_age = 0.0 if status_age < 0 else status_age
        interlocks = evaluate_within(
            InterlockInputs(
                operator_armed=operator_armed,
                track_confirmed=True,
                track_age_s=age,
                track_velocity_sigma_mps=float(picture.velocity_sigma_mps[row]),
                solution_valid=solution.valid,
                solution_az_rad=solution.az_rad,
                solution_el_rad=solution.el_rad,
                intercept_range_m=solution.intercept_range_m,
                time_of_flight_s=solution.time_of_flight_s,
                pointing_error_rad=error,
                radar_frame_age_s=radar_frame_age_s,
                plc_link_up=launcher.link_up,
                plc_status_age_s=status_age,
                plc_ready_to_fire=launcher.ready_to_fire,
                plc_estop_ok=launcher.estop_ok,
                plc_chain_ok=launcher.interlock_chain_ok,
            ),
            self._interlock_limits,
        )
        record.interlocks_failing_at_end = interlocks.failing
        if not interlocks.all_hold:
            return self._point(self._hold, arm=operator_armed, interlocks=interlocks)
        self.launch_requests += 1
        record.fire_requested_s = t
        self._launch_count_at_request = launcher.launch_count
        self._reject_count_at_request = launcher.fire_reject_count
        self._to(Phase.FIRE_REQUESTED, t)
        return self._point(self._hold, arm=operator_armed, fire=True, interlocks=interlocks)

    def finish(self, t_s: float, final: LauncherStatus | None = None) -> None:
        """End of run at ``t_s``: close an open engagement. A FIRE already requested is seen
        through on ``final``, the launcher's status read back after it was made safe: its
        launch count risen since the request is a launch (counted, outcome ``launched``), its
        reject count risen a refusal; anything else is aborted, "run ended"."""
        record = self._current
        if record is None or record.outcome != "open":
            return
        if self.phase is Phase.FIRE_REQUESTED and final is not None and final.link_up:
            if final.launch_count > self._launch_count_at_request:
                self.launches += 1
                record.outcome, record.launched_s = "launched", t_s
                record.reason = "seen in the launcher's status read back as the run ended"
                record.time_of_flight_s = self._solution_tof()
                self._engaged.add(record.track_id)
                self._to(Phase.FIRED, t_s)
                return
            if final.fire_reject_count > self._reject_count_at_request:
                self.launch_requests_refused += 1
                self._end(t_s, "refused", "PLC refused the launch as the run ended")
                return
        self._end(t_s, "aborted", "run ended")

    # --- internals --------------------------------------------------------------------------

    def _designate(self, picture: TrackPicture, launcher: LauncherStatus) -> Demand:
        t = picture.t_s
        idle = Demand(axes_enabled=launcher.link_up)
        if not launcher.link_up or not len(picture.ids):
            return idle
        if t < self._next_evaluation_s:
            return idle
        self._next_evaluation_s = t + self.config.threat_evaluation_interval_s
        rows = screen(
            picture.ids,
            picture.position_enu_m,
            picture.velocity_enu_mps,
            picture.age_s,
            picture.velocity_sigma_mps,
            self._limits,
        ).rows
        for row in rows.tolist():
            track_id = int(picture.ids[row])
            if track_id in self._engaged or self._held_until.get(track_id, -math.inf) > t:
                continue
            solution = solve(
                self._launcher,
                picture.position_enu_m[row],
                picture.velocity_enu_mps[row],
                self.config,
            )
            if not solution.valid:
                continue
            self._solution = solution
            self._current = EngagementRecord(
                track_id,
                "injected" if picture.injected[row] else "real",
                int(picture.truth_id[row]),
                t,
            )
            self.records.append(self._current)
            self._to(Phase.DESIGNATED, t)
            return self._point()
        return idle

    def _point(
        self,
        aim: Solution | None = None,
        *,
        arm: bool = False,
        fire: bool = False,
        interlocks: Interlocks | None = None,
    ) -> Demand:
        """Point at ``aim``, else the current solution (the last valid one while waiting for
        the PLC)."""
        s = aim or self._solution
        az, el = (s.az_rad, s.el_rad) if s else (math.nan, math.nan)
        return Demand(True, True, az, el, arm, fire, interlocks)

    def _solution_tof(self) -> float:
        s = self._solution
        return s.time_of_flight_s if s and math.isfinite(s.time_of_flight_s) else 0.0

    def _end(self, t_s: float, outcome: str, reason: str) -> Demand:
        if self._current is not None:
            self._current.outcome, self._current.reason = outcome, reason
        self._current = None
        self._to(Phase.IDLE, t_s)
        return Demand(axes_enabled=True)

    def _to(self, phase: Phase, t_s: float) -> None:
        self.phase, self._since_s = phase, t_s
