"""The software interlocks: one pure function of the loop state.

A launch request may be sent only when every interlock holds. Each one is a plain comparison of
the inputs, a NaN anywhere fails it, and the result names what failed so every refusal can be
logged. The PLC checks its own interlocks (e-stop, chain, arm state, inhibit sectors) again and
decides last; the software is at least as conservative as the PLC, so the two never disagree in
the unsafe direction:

- Inhibit sectors (ICD rule 6, bounds included): the PLC tests its actual pointing; the launcher
  may be anywhere within the pointing tolerance of the solution when the request is sent, so the
  software refuses a solution if any pointing within ``pointing_tolerance_deg`` (plus
  ``FLOAT32_MARGIN_RAD`` for the float32 angles on the link) may lie in a sector. The sectors
  are the rig's ``[[fire_control.inhibit_sectors]]`` (fire control's own copy, never the
  emulator's), tested with the shared ICD geometry ``sim.sectors.InhibitSector``.
- Fire (ICD rule 5): the PLC honours a FIRE only if READY_TO_FIRE was published at the end of
  the scan before; the software requests one only on a status whose READY_TO_FIRE is set
  (``plc_ready_to_fire``), and never again until the PLC's launch or reject count answers.
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass, fields

from hil.config.fire_control import FireControlConfig
from sim.sectors import InhibitSector

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


FLOAT32_MARGIN_RAD = 1e-6
"""Angles cross the Modbus link as float32 (setpoints and actual pointing): one unit in the last
place is 4.8e-7 rad at 2π. The software's sector check widens its cone by this, so that rounding
can never put the PLC's view of the pointing inside a sector where the software saw it outside."""


@functools.lru_cache(maxsize=8)
def _sectors(config: FireControlConfig) -> tuple[InhibitSector, ...]:
    return tuple(s.to_sector() for s in config.inhibit_sectors)


def in_inhibit_sector(config: FireControlConfig, az_rad: float, el_rad: float) -> bool:
    """Whether a bearing (rad, clockwise from north) and elevation (rad) lie in any of the
    configured no-fire sectors, bounds included — the PLC program's own sector test (ICD rule 6)
    on the software's copy."""
    return any(s.contains(az_rad % TWO_PI, el_rad) for s in _sectors(config))


def near_inhibit_sector(
    config: FireControlConfig, az_rad: float, el_rad: float, radius_rad: float
) -> bool:
    """Whether any pointing within the angle ``radius_rad`` of (``az_rad``, ``el_rad``) may lie
    in a configured no-fire sector (bounds included); rad, azimuth clockwise from north.

    Conservative, never optimistic: the cone of pointings is replaced by the box that holds it —
    elevation ± radius, azimuth ± the widest azimuth offset any point of the cone can have,
    ``2·asin(√(hav r / (cos el · cos(|el| + r))))`` from the haversine formula (every azimuth
    when the cone reaches a pole) — and the box is tested against each sector's box. Unknown
    (NaN) angles count as near."""
    if not (math.isfinite(az_rad) and math.isfinite(el_rad) and radius_rad >= 0):
        return True
    half_az = _azimuth_half_width(el_rad, radius_rad)
    az_from = (az_rad - half_az) % TWO_PI
    for sector in _sectors(config):
        if el_rad - radius_rad > sector.el_max_rad or el_rad + radius_rad < sector.el_min_rad:
            continue
        span = (sector.az_to_rad - sector.az_from_rad) % TWO_PI
        if span == 0 or half_az >= math.pi:
            return True
        # two arcs on the circle meet iff either one's start lies on the other
        if (az_from - sector.az_from_rad) % TWO_PI <= span:
            return True
        if (sector.az_from_rad - az_from) % TWO_PI <= 2.0 * half_az:
            return True
    return False


def _azimuth_half_width(el_rad: float, radius_rad: float) -> float:
    """Largest azimuth difference (rad) between (az, ``el_rad``) and any direction within the
    angle ``radius_rad`` of it; π when the cone reaches a pole."""
    highest = abs(el_rad) + radius_rad
    if highest >= math.pi / 2:
        return math.pi
    haversine = math.sin(radius_rad / 2) ** 2 / (math.cos(el_rad) * math.cos(highest))
    return math.pi if haversine >= 1 else 2.0 * math.asin(math.sqrt(haversine))


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
        outside_inhibit_sectors=angles_known
        and not near_inhibit_sector(
            config, az, el, math.radians(config.pointing_tolerance_deg) + FLOAT32_MARGIN_RAD
        ),
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
