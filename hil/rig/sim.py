"""The ``sim`` rig: the in-process sensor model and PLC model on one simulated clock, as fast
as the CPU allows and deterministic by seed. Faults are applied in process on the simulated
clock (``hil.rig.sim_faults``). Needs no I/O: ``build_now`` builds it for the loop with no
event loop (``hil.loop.shell.DirectLoop``), ``build`` for the async shell."""

from __future__ import annotations

from contextlib import AsyncExitStack, ExitStack

from firmware_stubs.plc.model import PlcModel
from hil.config.scenario import ScenarioConfig
from hil.loop.launchers import InProcessLauncher
from hil.loop.sim_scenario import SimulatedScenario, build_targets, radar_parameters, scan_pattern
from hil.loop.sources import DirectFrameSource, SimulatedRadar
from hil.rig.base import DeviceTaps, DirectRig, Rig, RunSettings
from hil.rig.emulators import load_plc_settings
from hil.rig.sim_faults import FaultedLauncher, FaultedSimRadar
from sim.clock import SimClock
from sim.sensor import RadarSensor


async def build(
    settings: RunSettings, scenario: ScenarioConfig, stack: AsyncExitStack, taps: DeviceTaps
) -> Rig:
    """``sim`` for the async shell: ``build_now`` (nothing to tap, nothing left on ``stack``)."""
    return build_now(settings, scenario, stack.enter_context(ExitStack()))


def build_now(settings: RunSettings, scenario: ScenarioConfig, stack: ExitStack) -> DirectRig:
    """``sim``: the in-process sensor model and PLC model on one simulated clock (the run's
    ``scenario`` already at the rig's site; nothing left on ``stack``), needing no event loop."""
    real = SimulatedScenario(
        scenario.scenario.name,
        settings.duration_s,
        build_targets(scenario, "real"),
        RadarSensor(radar_parameters(scenario.radar)),
        scan_pattern(scenario.radar),
    )
    radar = SimulatedRadar(real, settings.seed, settings.duration_s, SimClock())
    source: DirectFrameSource = radar
    model = PlcModel(load_plc_settings())
    launcher = InProcessLauncher(model)
    started = f"sim, {settings.duration_s} s of simulated time"
    notes: list[str] = []
    if settings.faults:  # applied in process, on the simulated clock (hil.rig.sim_faults)
        source = FaultedSimRadar(radar, settings.faults, settings.seed, notes)
        launcher = FaultedLauncher(model, settings.faults, notes)
    return DirectRig(source, launcher, build_targets(scenario), started, notes=notes)
