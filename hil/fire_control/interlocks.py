"""The software interlocks: one pure function of the loop state.

A launch request may be sent only when every interlock holds. Each one is a plain comparison of
the inputs, a NaN anywhere fails it, and the result names what failed so every refusal can be
logged. The PLC checks its own interlocks (e-stop, chain, arm state, inhibit sectors) again and
decides last.
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass, fields

from firmware_stubs.plc.model import InhibitSector
from hil.config.fire_control import FireControlConfig

TWO_PI = 2.0 * math.pi


@dataclass(frozen=True, slots=True)
class LauncherStatus:
    """What the loop knows about the launcher: ``t_s`` is the loop-clock time of the read;
    angles in rad (azimuth clockwise from north), counts as the PLC reports them."""

    t_s: float
    link_up: bool
    az_rad: float = math.nan
    el_rad: float = math.nan
    arm_state: int = 0
    """``drivers.plc.types.ArmState`` value (0 SAFE, 1 ARMING, 2 ARMED, 3 FIRING)."""
    ready_to_fire: bool = False
    in_position: bool = False
    estop_ok: bool = False
    interlock_chain_ok: bool = False
    fault_code: int = 0
    launch_count: int = 0
    fire_reject_count: int = 0
    rounds_ready: int = 0


@dataclass(frozen=True, slots=True)
class InterlockInputs:
    """The loop state the interlocks look at (SI units, angles in rad, times in s)."""

    operator_armed: bool
    track_confirmed: bool
    track_age_s: float
    track_velocity_sigma_mps: float
    solution_valid: bool
    solution_az_rad: float
    solution_el_rad: float
    intercept_range_m: float
    time_of_flight_s: float
    pointing_error_rad: float
    radar_frame_age_s: float
    plc_link_up: bool
    plc_status_age_s: float
    plc_ready_to_fire: bool
    plc_estop_ok: bool
    plc_chain_ok: bool


@dataclass(frozen=True, slots=True)
class Interlocks:
    """Each interlock: True when it holds."""

    operator_armed: bool
    track_confirmed: bool
    track_fresh: bool
    track_settled: bool
    """Velocity known well enough for a lead solution."""
    solution_valid: bool
    pointing_within_tolerance: bool
    outside_inhibit_sectors: bool
    within_range_limits: bool
    within_elevation_limits: bool
    within_time_of_flight: bool
    radar_link_fresh: bool
    plc_link_healthy: bool
    plc_estop_ok: bool
    plc_chain_ok: bool
    plc_ready_to_fire: bool

    @property
    def all_hold(self) -> bool:
        return all(getattr(self, name) for name in _INTERLOCK_NAMES)

    @property
    def failing(self) -> tuple[str, ...]:
        return tuple(name for name in _INTERLOCK_NAMES if not getattr(self, name))


_INTERLOCK_NAMES = tuple(f.name for f in fields(Interlocks))


@functools.lru_cache(maxsize=8)
def _sectors(config: FireControlConfig) -> tuple[InhibitSector, ...]:
    return tuple(s.to_sector() for s in config.inhibit_sectors)


def in_inhibit_sector(config: FireControlConfig, az_rad: float, el_rad: float) -> bool:
    """Whether a bearing (rad, clockwise from north) and elevation (rad) lie in any of the
    configured no-fire sectors — the PLC program's own sector test, on the software's copy."""
    return any(s.contains(az_rad % TWO_PI, el_rad) for s in _sectors(config))


def evaluate(state: InterlockInputs, config: FireControlConfig) -> Interlocks:
    """Every software interlock for one launch request."""
    az, el = state.solution_az_rad, state.solution_el_rad
    angles_known = math.isfinite(az) and math.isfinite(el)
    lo_range, hi_range = config.intercept_range_m
    lo_el, hi_el = (math.radians(v) for v in config.elevation_limits_deg)
    return Interlocks(
        operator_armed=state.operator_armed,
        track_confirmed=state.track_confirmed,
        track_fresh=0.0 <= state.track_age_s <= config.max_track_age_s,
        track_settled=0.0 <= state.track_velocity_sigma_mps <= config.max_velocity_sigma_mps,
        solution_valid=state.solution_valid,
        pointing_within_tolerance=0.0
        <= state.pointing_error_rad
        <= math.radians(config.pointing_tolerance_deg),
        outside_inhibit_sectors=angles_known and not in_inhibit_sector(config, az, el),
        within_range_limits=lo_range <= state.intercept_range_m <= hi_range,
        within_elevation_limits=lo_el <= el <= hi_el,
        within_time_of_flight=0.0 < state.time_of_flight_s <= config.max_time_of_flight_s,
        radar_link_fresh=0.0 <= state.radar_frame_age_s <= config.max_radar_silence_s,
        plc_link_healthy=state.plc_link_up
        and 0.0 <= state.plc_status_age_s <= config.max_plc_status_age_s,
        plc_estop_ok=state.plc_estop_ok,
        plc_chain_ok=state.plc_chain_ok,
        plc_ready_to_fire=state.plc_ready_to_fire,
    )


def pointing_error_rad(az1: float, el1: float, az2: float, el2: float) -> float:
    """Angle between two pointing directions (rad); NaN if either is unknown."""
    c = math.sin(el1) * math.sin(el2) + math.cos(el1) * math.cos(el2) * math.cos(az1 - az2)
    return math.acos(max(-1.0, min(1.0, c))) if math.isfinite(c) else math.nan
