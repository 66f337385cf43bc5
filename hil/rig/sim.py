"""The ``sim`` rig: the in-process sensor model and PLC model on one simulated clock, as fast
as the CPU allows and deterministic by seed. Faults are applied in process on the simulated
clock (``hil.rig.sim_faults``)."""

from __future__ import annotations

from contextlib import AsyncExitStack

from firmware_stubs.plc.model import PlcModel
from hil.config.scenario import ScenarioConfig
from hil.loop.launchers import InProcessLauncher
from hil.loop.sim_scenario import SimulatedScenario, build_targets, radar_parameters, scan_pattern
from hil.loop.sources import FrameSource, SimulatedRadar
from hil.rig.base import DeviceTaps, Rig, RunSettings
from hil.rig.emulators import load_plc_settings
from hil.rig.sim_faults import FaultedLauncher, FaultedSimRadar
from sim.clock import SimClock
from sim.sensor import RadarSensor


async def build(
    settings: RunSettings, scenario: ScenarioConfig, stack: AsyncExitStack, taps: DeviceTaps
) -> Rig:
    """``sim``: the in-process sensor model and PLC model on one simulated clock (the run's
    ``scenario`` already at the rig's site; nothing to tap, nothing left on ``stack``)."""
    real = SimulatedScenario(
        scenario.scenario.name,
        settings.duration_s,
        build_targets(scenario, "real"),
        RadarSensor(radar_parameters(scenario.radar)),
        scan_pattern(scenario.radar),
    )
    radar = SimulatedRadar(real, settings.seed, settings.duration_s, SimClock())
    source: FrameSource = radar
    model = PlcModel(load_plc_settings())
    launcher = InProcessLauncher(model)
    started = f"sim, {settings.duration_s} s of simulated time"
    notes: list[str] = []
    if settings.faults:  # applied in process, on the simulated clock (hil.rig.sim_faults)
        source = FaultedSimRadar(radar, settings.faults, settings.seed, notes)
        launcher = FaultedLauncher(model, settings.faults, notes)
    return Rig(source, launcher, build_targets(scenario), started, notes=notes)
