"""Turn a validated scenario config into ``sim`` objects (degrees → radians, raids → targets)."""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from hil.config.scenario import (
    BallisticTarget,
    ConstantAccelerationTarget,
    ConstantVelocityTarget,
    CoordinatedTurnTarget,
    RadarModelConfig,
    Raid,
    ScenarioConfig,
    TargetSource,
    WaypointTarget,
)
from sim.motion import (
    Ballistic,
    ConstantAcceleration,
    ConstantVelocity,
    CoordinatedTurn,
    MotionGroup,
    Waypoints,
)
from sim.scan import ScanMode, ScanPattern
from sim.sensor import RadarParameters, RadarSensor
from sim.targets import TargetGroup, TargetSet

AnyTarget = (
    ConstantVelocityTarget
    | ConstantAccelerationTarget
    | CoordinatedTurnTarget
    | BallisticTarget
    | WaypointTarget
)


@dataclass(frozen=True, slots=True)
class SimulatedScenario:
    """Everything the sensor model needs to play a scenario."""

    name: str
    duration_s: float
    targets: TargetSet
    sensor: RadarSensor
    scan: ScanPattern


def radar_parameters(radar: RadarModelConfig) -> RadarParameters:
    """The sensor model's SI parameters from the scenario's ``[radar]`` table."""
    return RadarParameters(
        position_enu_m=radar.position_enu_m,
        north_alignment_rad=math.radians(radar.north_alignment_deg),
        beamwidth_az_rad=math.radians(radar.beamwidth_deg),
        elevation_min_rad=math.radians(radar.elevation_coverage_deg[0]),
        elevation_max_rad=math.radians(radar.elevation_coverage_deg[1]),
        range_min_m=radar.range_coverage_m[0],
        range_max_m=radar.range_coverage_m[1],
        snr_ref_db=radar.snr_ref_db,
        snr_ref_range_m=radar.snr_ref_range_m,
        snr_ref_rcs_m2=radar.snr_ref_rcs_m2,
        pfa=radar.pfa,
        sigma_range_m=radar.sigma_range_m,
        sigma_az_rad=radar.sigma_az_mrad * 1e-3,
        sigma_el_rad=radar.sigma_el_mrad * 1e-3,
        sigma_vr_mps=radar.sigma_vr_mps,
        clutter_per_dwell=radar.clutter_per_dwell,
        clutter_vr_max_mps=radar.clutter_vr_max_mps,
    )


def scan_pattern(radar: RadarModelConfig) -> ScanPattern:
    """The antenna scan from the scenario's ``[radar]`` table."""
    return ScanPattern.from_rpm(
        ScanMode[radar.scan.upper()],
        radar.rpm,
        dwell_s=radar.dwell_s,
        start_az_rad=math.radians(radar.start_az_deg),
        sector_centre_rad=math.radians(radar.sector_centre_deg),
        sector_width_rad=math.radians(radar.sector_width_deg),
        boresight_el_rad=math.radians(radar.boresight_el_deg),
    )


def expand_raid(raid: Raid) -> list[ConstantVelocityTarget]:
    """Draw a raid's targets from its own seed (identical for every run of the scenario)."""
    rng = np.random.default_rng(raid.seed)
    n = raid.count
    centre = np.asarray(raid.centre_enu_m)
    position = centre + np.asarray(raid.half_extent_m) * rng.uniform(-1.0, 1.0, (n, 3))
    heading = np.radians(raid.heading_deg + raid.heading_spread_deg * rng.uniform(-1.0, 1.0, n))
    speed = rng.uniform(*raid.speed_mps, n)
    climb = rng.uniform(*raid.climb_mps, n)
    log_rcs = rng.uniform(math.log(raid.rcs_m2[0]), math.log(raid.rcs_m2[1]), n)
    birth = rng.uniform(*raid.birth_s, n)
    width = len(str(n - 1))
    return [
        ConstantVelocityTarget(
            motion="constant_velocity",
            name=f"{raid.name}-{i:0{width}d}",
            source=raid.source,
            rcs_m2=math.exp(log_rcs[i]),  # the C library's, not numpy's SIMD: same on every CPU
            birth_s=float(birth[i]),
            position_enu_m=(float(position[i, 0]), float(position[i, 1]), float(position[i, 2])),
            velocity_enu_mps=(
                float(speed[i]) * math.sin(heading[i]),
                float(speed[i]) * math.cos(heading[i]),
                float(climb[i]),
            ),
        )
        for i in range(n)
    ]


def _initial(targets: Sequence[Any]) -> dict[str, Any]:
    return {
        "t0_s": [t.birth_s for t in targets],
        "position_enu_m": [t.position_enu_m for t in targets],
        "velocity_enu_mps": [t.velocity_enu_mps for t in targets],
    }


_BUILDERS: dict[type, Callable[[Sequence[Any]], MotionGroup]] = {
    ConstantVelocityTarget: lambda ts: ConstantVelocity(**_initial(ts)),
    ConstantAccelerationTarget: lambda ts: ConstantAcceleration(
        **_initial(ts), acceleration_enu_mps2=[t.acceleration_enu_mps2 for t in ts]
    ),
    CoordinatedTurnTarget: lambda ts: CoordinatedTurn(
        **_initial(ts), turn_rate_rad_s=[math.radians(t.turn_rate_deg_s) for t in ts]
    ),
    BallisticTarget: lambda ts: Ballistic(
        **_initial(ts),
        ballistic_coefficient_kg_m2=[
            math.inf if t.ballistic_coefficient_kg_m2 is None else t.ballistic_coefficient_kg_m2
            for t in ts
        ],
    ),
    WaypointTarget: lambda ts: Waypoints(
        [t.times_s() for t in ts], [t.waypoints_enu_m for t in ts]
    ),
}


def _lifetime(target: AnyTarget) -> tuple[float, float]:
    if isinstance(target, WaypointTarget):
        times = target.times_s()
        return times[0], min(times[-1], target.death_s)
    return target.birth_s, target.death_s


def build_targets(config: ScenarioConfig, source: TargetSource | None = None) -> TargetSet:
    """The targets of a scenario (explicit targets first, then raids), ids 0..N−1 in that order
    over the whole scenario; with ``source``, only the ``real`` or the ``injected`` ones (keeping
    their scenario-wide ids)."""
    targets: list[AnyTarget] = list(config.targets)
    for raid in config.raids:
        targets.extend(expand_raid(raid))
    by_model: dict[type, list[int]] = defaultdict(list)
    for target_id, target in enumerate(targets):
        if source is None or target.source == source:
            by_model[type(target)].append(target_id)
    groups = []
    for model, ids in by_model.items():
        members = [targets[i] for i in ids]
        motion = _BUILDERS[model](members)
        lifetimes = [_lifetime(t) for t in members]
        death = [end for _, end in lifetimes]
        if isinstance(motion, Ballistic):
            death = [min(end, float(hit)) for end, hit in zip(death, motion.impact_s, strict=True)]
        groups.append(
            TargetGroup(
                motion, ids, [start for start, _ in lifetimes], death, [t.rcs_m2 for t in members]
            )
        )
    names = [t.name or f"target-{i}" for i, t in enumerate(targets)]
    return TargetSet(groups, names)


def build_scenario(config: ScenarioConfig) -> SimulatedScenario:
    """The sim objects for a whole scenario."""
    return SimulatedScenario(
        config.scenario.name,
        config.scenario.duration_s,
        build_targets(config),
        RadarSensor(radar_parameters(config.radar)),
        scan_pattern(config.radar),
    )
