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
        return all(self._holds())

    @property
    def failing(self) -> tuple[str, ...]:
        return _failing(self._holds())

    def _holds(self) -> tuple[bool, ...]:
        """Every interlock in field order (the order of ``_INTERLOCK_NAMES``): read once per
        cycle by the loop, so plain attribute reads rather than ``getattr`` by name."""
        return (
            self.operator_armed,
            self.track_confirmed,
            self.track_fresh,
            self.track_settled,
            self.solution_valid,
            self.pointing_within_tolerance,
            self.outside_inhibit_sectors,
            self.within_range_limits,
            self.within_elevation_limits,
            self.within_time_of_flight,
            self.radar_link_fresh,
            self.plc_link_healthy,
            self.plc_estop_ok,
            self.plc_chain_ok,
            self.plc_ready_to_fire,
        )


_INTERLOCK_NAMES = tuple(f.name for f in fields(Interlocks))


@functools.lru_cache(maxsize=256)
def _failing(holds: tuple[bool, ...]) -> tuple[str, ...]:
    """The names of the interlocks that do not hold (memoised: the engagement asks every
    cycle, and a run sees a handful of distinct combinations)."""
    return tuple(name for name, ok in zip(_INTERLOCK_NAMES, holds, strict=True) if not ok)


FLOAT32_MARGIN_RAD = 1e-6
"""Angles cross the Modbus link as float32 (setpoints and actual pointing): one unit in the last
place is 4.8e-7 rad at 2π. The software's sector check widens its cone by this, so that rounding
can never put the PLC's view of the pointing inside a sector where the software saw it outside."""


@dataclass(frozen=True, slots=True)
class InterlockLimits:
    """A configuration's limits as the interlocks compare them (rad, m, s, m/s), worked out
    once per configuration (``limits_of``) instead of on every evaluation."""

    sectors: tuple[InhibitSector, ...]
    max_track_age_s: float
    max_velocity_sigma_mps: float
    pointing_tolerance_rad: float
    sector_radius_rad: float
    """The pointing tolerance widened by ``FLOAT32_MARGIN_RAD``: the cone tested for sectors."""
    range_min_m: float
    range_max_m: float
    el_min_rad: float
    el_max_rad: float
    max_time_of_flight_s: float
    max_radar_silence_s: float
    max_plc_status_age_s: float


@functools.lru_cache(maxsize=8)
def limits_of(config: FireControlConfig) -> InterlockLimits:
    """The interlock limits of ``config`` (cached: a configuration is immutable)."""
    lo_range, hi_range = config.intercept_range_m
    lo_el, hi_el = (math.radians(v) for v in config.elevation_limits_deg)
    tolerance = math.radians(config.pointing_tolerance_deg)
    return InterlockLimits(
        tuple(s.to_sector() for s in config.inhibit_sectors),
        config.max_track_age_s,
        config.max_velocity_sigma_mps,
        tolerance,
        tolerance + FLOAT32_MARGIN_RAD,
        lo_range,
        hi_range,
        lo_el,
        hi_el,
        config.max_time_of_flight_s,
        config.max_radar_silence_s,
        config.max_plc_status_age_s,
    )


def _sectors(config: FireControlConfig) -> tuple[InhibitSector, ...]:
    return limits_of(config).sectors


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
    return _near_sectors(_sectors(config), az_rad, el_rad, radius_rad)


def _near_sectors(
    sectors: tuple[InhibitSector, ...], az_rad: float, el_rad: float, radius_rad: float
) -> bool:
    """``near_inhibit_sector`` on the sectors themselves."""
    if not (math.isfinite(az_rad) and math.isfinite(el_rad) and radius_rad >= 0):
        return True
    half_az = _azimuth_half_width(el_rad, radius_rad)
    az_from = (az_rad - half_az) % TWO_PI
    for sector in sectors:
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
    return evaluate_within(state, limits_of(config))


def evaluate_within(state: InterlockInputs, limits: InterlockLimits) -> Interlocks:
    """``evaluate`` on limits already worked out (``limits_of``): what the loop calls."""
    az, el = state.solution_az_rad, state.solution_el_rad
    angles_known = math.isfinite(az) and math.isfinite(el)
    return Interlocks(
        operator_armed=state.operator_armed,
        track_confirmed=state.track_confirmed,
        track_fresh=0.0 <= state.track_age_s <= limits.max_track_age_s,
        track_settled=0.0 <= state.track_velocity_sigma_mps <= limits.max_velocity_sigma_mps,
        solution_valid=state.solution_valid,
        pointing_within_tolerance=0.0 <= state.pointing_error_rad <= limits.pointing_tolerance_rad,
        outside_inhibit_sectors=angles_known
        and not _near_sectors(limits.sectors, az, el, limits.sector_radius_rad),
        within_range_limits=limits.range_min_m <= state.intercept_range_m <= limits.range_max_m,
        within_elevation_limits=limits.el_min_rad <= el <= limits.el_max_rad,
        within_time_of_flight=0.0 < state.time_of_flight_s <= limits.max_time_of_flight_s,
        radar_link_fresh=0.0 <= state.radar_frame_age_s <= limits.max_radar_silence_s,
        plc_link_healthy=state.plc_link_up
        and 0.0 <= state.plc_status_age_s <= limits.max_plc_status_age_s,
        plc_estop_ok=state.plc_estop_ok,
        plc_chain_ok=state.plc_chain_ok,
        plc_ready_to_fire=state.plc_ready_to_fire,
    )


def pointing_error_rad(az1: float, el1: float, az2: float, el2: float) -> float:
    """Angle between two pointing directions (rad); NaN if either is unknown."""
    c = math.sin(el1) * math.sin(el2) + math.cos(el1) * math.cos(el2) * math.cos(az1 - az2)
    return math.acos(max(-1.0, min(1.0, c))) if math.isfinite(c) else math.nan
