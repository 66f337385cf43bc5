"""Scenario files (``configs/scenarios/*.toml``): the emulated radar and the targets it sees.

Layout::

    [scenario]            name, description, duration_s
    [radar]               the simulated radar: site, scan and performance (ICD defaults)
    [[targets]]           one table per target; ``motion`` selects the model
    [[raids]]             a group of constant-velocity targets drawn from its own seed

Positions are ENU metres in the rig frame, velocities m/s, angles in degrees (bearings clockwise
from north), times in seconds of scenario time.
"""

from __future__ import annotations

import itertools
import math
from typing import Annotated, Literal

from pydantic import Field, field_validator, model_validator

from hil.config.fields import (
    MAX_RUN_S,
    MIN_DWELL_S,
    ConfigModel,
    Interval,
    SecondsOrNever,
    TableArray,
    Vec3,
    ordered,
)

PositiveFloat = Annotated[float, Field(gt=0, allow_inf_nan=False)]
FiniteFloat = Annotated[float, Field(allow_inf_nan=False)]


class ScenarioInfo(ConfigModel):
    name: str = Field(min_length=1)
    description: str = ""
    duration_s: PositiveFloat = 60.0
    """Default run length for ``hil sim`` and campaigns (s), at most ``MAX_RUN_S`` (30 days)."""

    @field_validator("duration_s")
    @classmethod
    def _not_forever(cls, value: float) -> float:
        if value > MAX_RUN_S:
            raise ValueError(
                f"at most {MAX_RUN_S:.0f} s (30 days): a soak run is hours to days, and a "
                "simulated run's dwells grow with its length"
            )
        return value


class RadarModelConfig(ConfigModel):
    """The simulated turntable radar. Defaults follow the radar ICD."""

    position_enu_m: Vec3 = (0.0, 0.0, 0.0)
    north_alignment_deg: Annotated[float, Field(ge=-360, le=360)] = 0.0
    scan: Literal["rotating", "sector", "standby"] = "rotating"
    rpm: Annotated[float, Field(ge=-60, le=60)] = 12.0
    """Turntable speed, rpm, positive clockwise (ICD: −6000..6000 centi-rpm)."""
    start_az_deg: Annotated[float, Field(ge=0, lt=360)] = 0.0
    sector_centre_deg: Annotated[float, Field(ge=-360, le=360)] = 0.0
    sector_width_deg: Annotated[float, Field(ge=0, le=360)] = 90.0
    boresight_el_deg: Annotated[float, Field(ge=-10, le=90)] = 0.0
    dwell_s: Annotated[float, Field(gt=0, le=1)] = 0.01
    """Time on target per DETECTIONS frame (s): ICD 10 ms; at least ``MIN_DWELL_S`` (1 ms)."""
    beamwidth_deg: Annotated[float, Field(gt=0, le=180)] = 2.0
    elevation_coverage_deg: Interval = (-5.0, 85.0)
    range_coverage_m: Interval = (100.0, 20_000.0)
    snr_ref_db: FiniteFloat = 20.0
    snr_ref_range_m: PositiveFloat = 10_000.0
    snr_ref_rcs_m2: PositiveFloat = 1.0
    pfa: Annotated[float, Field(gt=0, lt=1)] = 1e-6
    sigma_range_m: Annotated[float, Field(ge=0, allow_inf_nan=False)] = 5.0
    sigma_az_mrad: Annotated[float, Field(ge=0, allow_inf_nan=False)] = 1.0
    sigma_el_mrad: Annotated[float, Field(ge=0, allow_inf_nan=False)] = 1.0
    sigma_vr_mps: Annotated[float, Field(ge=0, allow_inf_nan=False)] = 0.5
    clutter_per_dwell: Annotated[float, Field(ge=0, le=1000, allow_inf_nan=False)] = 0.0
    """Mean number of false alarms per dwell (Poisson)."""
    clutter_vr_max_mps: Annotated[float, Field(ge=0, allow_inf_nan=False)] = 30.0

    @field_validator("dwell_s")
    @classmethod
    def _link_can_carry(cls, value: float) -> float:
        if value < MIN_DWELL_S:
            raise ValueError(
                f"at least {MIN_DWELL_S:g} s (1 ms): the ICD radar dwells 10 ms, and each dwell "
                "is one DETECTIONS frame; an empty frame alone takes 0.37 ms of the 921600 baud "
                "link"
            )
        return value

    @field_validator("elevation_coverage_deg")
    @classmethod
    def _elevation_in_range(cls, value: tuple[float, float]) -> tuple[float, float]:
        ordered(value, "elevation coverage")
        if value[0] < -90 or value[1] > 90:
            raise ValueError("elevation coverage must lie within [-90, 90] degrees")
        return value

    @field_validator("range_coverage_m")
    @classmethod
    def _range_positive(cls, value: tuple[float, float]) -> tuple[float, float]:
        ordered(value, "range coverage")
        if value[0] < 0 or value[0] == value[1]:
            raise ValueError("range coverage needs 0 ≤ low < high metres")
        return value


TargetSource = Literal["real", "injected"]
"""``real``: the radar sees it — the in-process sensor model and the emulated radar generate its
detections (a bench radar sees whatever is really there: on the bench a ``real`` target is ground
truth only). ``injected``: the loop adds its detections to every radar frame whose beam covers
it, on any rig, tagged as injected."""


class _TargetBase(ConfigModel):
    name: str | None = None
    source: TargetSource = "real"
    rcs_m2: PositiveFloat = 1.0
    birth_s: Annotated[float, Field(ge=0, allow_inf_nan=False)] = 0.0
    death_s: SecondsOrNever = math.inf
    """Scenario time (s) the target disappears; ``inf`` (the default) for never."""

    @model_validator(mode="after")
    def _lives(self) -> _TargetBase:
        if self.death_s <= self.birth_s:
            raise ValueError(
                f"death_s ({self.death_s}) must be later than birth_s ({self.birth_s})"
            )
        return self


class _InitialState(_TargetBase):
    position_enu_m: Vec3
    """Position at ``birth_s``, ENU metres."""
    velocity_enu_mps: Vec3
    """Velocity at ``birth_s``, ENU m/s."""


class ConstantVelocityTarget(_InitialState):
    motion: Literal["constant_velocity"]


class ConstantAccelerationTarget(_InitialState):
    motion: Literal["constant_acceleration"]
    acceleration_enu_mps2: Vec3


class CoordinatedTurnTarget(_InitialState):
    motion: Literal["coordinated_turn"]
    turn_rate_deg_s: Annotated[float, Field(ge=-180, le=180)]
    """Positive turns right (clockwise seen from above)."""


MAX_BALLISTIC_SPEED_MPS = 100_000.0
"""Fastest initial velocity component of a ballistic target (m/s): 9× Earth's escape speed."""
MIN_BALLISTIC_COEFFICIENT_KG_M2 = 1.0
"""Lightest ballistic coefficient (kg/m²), about a table-tennis ball's."""


class BallisticTarget(_InitialState):
    motion: Literal["ballistic"]
    ballistic_coefficient_kg_m2: PositiveFloat | None = None
    """m/(C_d·A) in kg/m², at least 1; omit for flight without drag. The target dies at ground
    impact."""

    @field_validator("ballistic_coefficient_kg_m2")
    @classmethod
    def _not_a_feather(cls, value: float | None) -> float | None:
        if value is not None and value < MIN_BALLISTIC_COEFFICIENT_KG_M2:
            raise ValueError(
                f"at least {MIN_BALLISTIC_COEFFICIENT_KG_M2:g} kg/m² (a table-tennis ball is "
                "about 4): the flight is integrated at construction, and lighter drag makes "
                "the integrator's steps vanish (1e-3 takes 20 s per target); omit it for no drag"
            )
        return value

    @field_validator("velocity_enu_mps")
    @classmethod
    def _not_escaping(cls, value: tuple[float, float, float]) -> tuple[float, float, float]:
        if max(abs(v) for v in value) > MAX_BALLISTIC_SPEED_MPS:
            raise ValueError(
                f"each component at most {MAX_BALLISTIC_SPEED_MPS:g} m/s (Earth's escape speed "
                "is 11,200 m/s): the flight is integrated at construction, and the integrator "
                "stalls on faster ones"
            )
        return value

    @field_validator("position_enu_m")
    @classmethod
    def _above_ground(cls, value: tuple[float, float, float]) -> tuple[float, float, float]:
        if value[2] < 0:
            raise ValueError(
                f"a ballistic target must start at or above the ground (up = {value[2]})"
            )
        return value


class WaypointTarget(_TargetBase):
    motion: Literal["waypoints"]
    waypoints_enu_m: Annotated[list[Vec3], Field(min_length=2)]
    speed_mps: PositiveFloat | None = None
    """Constant speed along the path, starting at ``birth_s``; or give ``waypoint_times_s``."""
    waypoint_times_s: list[FiniteFloat] | None = None
    """Absolute scenario time of each waypoint, strictly increasing."""

    @model_validator(mode="after")
    def _timing(self) -> WaypointTarget:
        if (self.speed_mps is None) == (self.waypoint_times_s is None):
            raise ValueError("give exactly one of speed_mps or waypoint_times_s")
        times = self.waypoint_times_s
        if times is not None:
            if len(times) != len(self.waypoints_enu_m):
                raise ValueError(
                    f"waypoint_times_s has {len(times)} entries for "
                    f"{len(self.waypoints_enu_m)} waypoints"
                )
            if any(b <= a for a, b in itertools.pairwise(times)):
                raise ValueError("waypoint_times_s must be strictly increasing")
            if {"birth_s", "death_s"} & self.model_fields_set:
                raise ValueError(
                    "with waypoint_times_s the first and last times are birth and "
                    "death: remove birth_s/death_s"
                )
        return self

    def times_s(self) -> list[float]:
        """Absolute time of each waypoint (s)."""
        if self.waypoint_times_s is not None:
            return list(self.waypoint_times_s)
        assert self.speed_mps is not None
        times = [self.birth_s]
        for a, b in zip(self.waypoints_enu_m, self.waypoints_enu_m[1:], strict=False):
            times.append(times[-1] + math.dist(a, b) / self.speed_mps)
        return times


Target = Annotated[
    ConstantVelocityTarget
    | ConstantAccelerationTarget
    | CoordinatedTurnTarget
    | BallisticTarget
    | WaypointTarget,
    Field(discriminator="motion"),
]


class Raid(ConfigModel):
    """``count`` constant-velocity targets drawn from the raid's own ``seed``: positions uniform
    in the box ``centre_enu_m ± half_extent_m``, heading uniform in ``heading_deg ±
    heading_spread_deg`` (bearing of travel, clockwise from north), speed and climb rate uniform,
    RCS log-uniform, birth uniform. The run seed never changes the raid, only the sensor noise."""

    name: str = Field(min_length=1)
    source: TargetSource = "real"
    count: Annotated[int, Field(ge=1, le=100_000)]
    seed: Annotated[int, Field(ge=0)] = 0
    centre_enu_m: Vec3
    half_extent_m: Vec3 = (0.0, 0.0, 0.0)
    heading_deg: Annotated[float, Field(ge=-360, le=360)]
    heading_spread_deg: Annotated[float, Field(ge=0, le=180)] = 0.0
    speed_mps: Interval
    climb_mps: Interval = (0.0, 0.0)
    rcs_m2: Interval = (1.0, 1.0)
    birth_s: Interval = (0.0, 0.0)

    @model_validator(mode="after")
    def _intervals(self) -> Raid:
        for name in ("speed_mps", "climb_mps", "rcs_m2", "birth_s"):
            ordered(getattr(self, name), name)
        if min(self.half_extent_m) < 0:
            raise ValueError("half_extent_m must be ≥ 0 in every axis")
        if self.speed_mps[0] < 0 or self.rcs_m2[0] <= 0 or self.birth_s[0] < 0:
            raise ValueError("speed_mps and birth_s must be ≥ 0 and rcs_m2 > 0")
        return self


class ScenarioConfig(ConfigModel):
    """A whole scenario file."""

    scenario: ScenarioInfo
    radar: RadarModelConfig = RadarModelConfig()
    targets: Annotated[tuple[Target, ...], TableArray] = ()
    raids: Annotated[tuple[Raid, ...], TableArray] = ()
