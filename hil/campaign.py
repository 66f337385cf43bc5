"""One run of the fire-control loop on a rig: ``hil run`` without the command line.

The rig file's mode decides what the loop talks to:

- ``sim``: the in-process sensor model and the in-process PLC model on a simulated clock, as
  fast as the CPU allows, deterministic by seed.
- ``emulate``: the emulated radar (``hil stub radar`` on a pty) and the emulated PLC (``hil stub
  plc`` on loopback Modbus TCP) as child processes, driven through the real drivers, stopped on
  exit.
- ``bench``: the real devices at the rig file's ports. A device that does not come up within
  ``BENCH_CONNECT_S`` is replaced by its emulator only when ``allow_emulation_fallback`` is set
  — and then every result says so (``emulated_devices``, a warning on stderr).

The scenario's ``real`` targets are what the emulated/in-process radar sees; its ``injected``
targets are added by the loop to every frame, on any rig. The antenna site is the rig's: the
scenario's ``[radar]`` site is replaced by the rig file's before anything is built.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
from collections.abc import Callable
from contextlib import AsyncExitStack
from dataclasses import dataclass, field
from pathlib import Path

from drivers.errors import DriverError
from drivers.plc.driver import PlcDriver, PlcEndpoint
from drivers.radar.driver import RadarDriver
from drivers.radar.messages import RadarMode
from firmware_stubs.plc.model import PlcModel
from hil.config.loader import load_plc_emulator
from hil.config.rig import RigConfig
from hil.config.scenario import ScenarioConfig
from hil.errors import HilError
from hil.fire_control.engagement import Engagement
from hil.loop.frames import Injector
from hil.loop.launchers import CommandCounts, InProcessLauncher
from hil.loop.plc_launcher import PlcLauncher
from hil.loop.runner import FireControlLoop, LoopResult
from hil.loop.sources import DriverRadar, SimulatedRadar
from hil.loop.timing import Histogram
from hil.scenario import SimulatedScenario, build_targets, radar_parameters, scan_pattern
from hil.stub_process import PlcStubProcess, RadarStubProcess
from hil.tracking.measurement import PolarSensor
from hil.tracking.tracker import Tracker
from sim.clock import SimClock
from sim.sensor import RadarSensor
from sim.targets import TargetSet

log = logging.getLogger(__name__)
BENCH_CONNECT_S = 3.0
STATUS_WAIT_S = 2.0
EMULATED_PLC_SETTINGS = (
    Path(__file__).resolve().parents[1] / "configs" / "plc" / "emulator-default.toml"
)


@dataclass(frozen=True)
class CampaignSettings:
    rig: RigConfig
    scenario: ScenarioConfig
    scenario_file: Path
    duration_s: float
    seed: int = 0
    armed: bool = False
    """The operator armed the session (``--arm``). Nothing arms otherwise."""
    rig_overrides: tuple[str, ...] = ()


@dataclass
class CampaignResult:
    mode: str
    settings: CampaignSettings
    loop: LoopResult
    emulated_devices: tuple[str, ...] = ()
    """Devices replaced by emulators on a bench rig (empty unless the fallback was used)."""
    notes: list[str] = field(default_factory=list)
    links: LinkDetails | None = None
    """The device links' counters at the end of the run (None in ``sim``: no links)."""


@dataclass
class LinkDetails:
    """The drivers' health snapshots at the end of the loop (dataclasses, serialised
    generically: fields the drivers add appear in the summary), the radar's longest silence
    as the loop saw it, and what became of the launcher commands."""

    radar_health: object
    plc_health: object
    radar_longest_silence_s: float
    commands: CommandCounts
    command_delivery: Histogram


OnCycle = Callable[[FireControlLoop], None]


class StopSwitch:
    """Lets a signal handler end a run cleanly: the loop finishes its cycle, the launcher is
    made safe, the emulators are stopped, and the summary is still printed."""

    def __init__(self) -> None:
        self.requested = False
        self._loop: FireControlLoop | None = None

    def attach(self, loop: FireControlLoop) -> None:
        self._loop = loop
        loop.stop_requested = self.requested

    def stop(self) -> None:
        self.requested = True
        if self._loop is not None:
            self._loop.stop_requested = True


def resite(scenario: ScenarioConfig, rig: RigConfig) -> ScenarioConfig:
    """The scenario with its radar at the rig's antenna site and north alignment."""
    radar = scenario.radar.model_copy(
        update={
            "position_enu_m": rig.radar.position_enu_m,
            "north_alignment_deg": rig.radar.north_alignment_deg,
        }
    )
    return scenario.model_copy(update={"radar": radar})


def site_overrides(rig: RigConfig) -> list[str]:
    """``hil stub radar --set`` arguments that put the emulated antenna at the rig's site."""
    e, n, u = rig.radar.position_enu_m
    return [
        "--set",
        f"radar.position_enu_m=[{e!r}, {n!r}, {u!r}]",
        "--set",
        f"radar.north_alignment_deg={rig.radar.north_alignment_deg!r}",
    ]


def build_tracker(rig: RigConfig) -> Tracker:
    sensor = PolarSensor(rig.radar.position_enu_m, math.radians(rig.radar.north_alignment_deg))
    return Tracker(rig.tracker, sensor)


def build_engagement(rig: RigConfig) -> Engagement:
    return Engagement(rig.fire_control, rig.launcher.position_enu_m)


async def run_campaign(
    settings: CampaignSettings,
    on_cycle: OnCycle | None = None,
    stop: StopSwitch | None = None,
) -> CampaignResult:
    mode = settings.rig.rig.mode
    stop = stop or StopSwitch()
    if mode == "sim":
        return await _run_sim(settings, on_cycle, stop)
    if mode in ("emulate", "bench"):
        try:
            return await _run_with_drivers(settings, on_cycle, stop)
        except DriverError as error:
            raise HilError(
                f"{error} (the run stopped; the launcher was made safe if reachable)"
            ) from error
    raise HilError(f"rig mode {mode!r} cannot run the loop (replay is not implemented yet)")


async def _run_sim(
    settings: CampaignSettings, on_cycle: OnCycle | None, stop: StopSwitch
) -> CampaignResult:
    scenario = resite(settings.scenario, settings.rig)
    real = SimulatedScenario(
        scenario.scenario.name,
        settings.duration_s,
        build_targets(scenario, "real"),
        RadarSensor(radar_parameters(scenario.radar)),
        scan_pattern(scenario.radar),
    )
    clock = SimClock()
    source = SimulatedRadar(real, settings.seed, settings.duration_s, clock)
    launcher = InProcessLauncher(PlcModel(load_plc_emulator(EMULATED_PLC_SETTINGS).settings()))
    loop = _loop(settings, scenario, source, launcher, build_targets(scenario), on_cycle)
    loop.advance_launcher = launcher.advance_to
    stop.attach(loop)
    log.info("run started: sim, %s s of simulated time", settings.duration_s)
    return CampaignResult("sim", settings, await loop.run(settings.duration_s))


async def _run_with_drivers(
    settings: CampaignSettings, on_cycle: OnCycle | None, stop: StopSwitch
) -> CampaignResult:
    rig = settings.rig
    scenario = resite(settings.scenario, rig)
    bench = rig.rig.mode == "bench"
    emulated: list[str] = []
    notes: list[str] = []
    async with AsyncExitStack() as stack:
        radar = await _radar(stack, settings, bench, emulated, notes)
        plc = await _plc(stack, settings, bench, emulated, notes)
        radar_cfg = scenario.radar
        await radar.set_rpm(radar_cfg.rpm)
        await radar.set_mode(RadarMode.ROTATING)
        stack.push_async_callback(_radar_standby, radar)
        radar_emulated = not bench or "radar" in emulated
        sweep = scan_pattern(radar_cfg).dwell_sweep_rad
        source = DriverRadar(radar, sweep, "device" if radar_emulated else "run")
        launcher = PlcLauncher(plc)
        try:
            await launcher.prepare()
        except DriverError as error:
            raise HilError(
                f"{plc.name} is connected but did not answer ({plc.health().last_error}); "
                "check the unit id and the register map"
            ) from error
        # truth for scoring: injected targets always; real ones only where we emulate them
        truth = build_targets(scenario) if radar_emulated else build_targets(scenario, "injected")
        loop = _loop(settings, scenario, source, launcher, truth, on_cycle)
        stop.attach(loop)
        # the status poll runs beside the loop; the loop's own errors are kept out of the task
        # group so they reach the caller as themselves, not wrapped in an ExceptionGroup
        failure: Exception | None = None
        async with asyncio.TaskGroup() as group:
            helpers = [
                group.create_task(launcher.poll(), name="PLC status poll"),
                group.create_task(launcher.run_sender(), name="PLC command sender"),
            ]
            try:
                await _first_status(launcher, plc)
                log.info("run started: %s, %s s", rig.rig.mode, settings.duration_s)
                result = await loop.run(settings.duration_s)
            except Exception as error:
                failure = error
            finally:
                for task in helpers:
                    task.cancel()
        if failure is not None:
            raise failure
        links = LinkDetails(
            radar.health(),
            plc.health(),
            source.longest_silence_s,
            launcher.counts,
            launcher.delivery,
        )
        notes.extend(_command_notes(launcher.counts))
        return CampaignResult(rig.rig.mode, settings, result, tuple(emulated), notes, links)


def _loop(
    settings: CampaignSettings,
    scenario: ScenarioConfig,
    source: SimulatedRadar | DriverRadar,
    launcher: InProcessLauncher | PlcLauncher,
    truth: TargetSet,
    on_cycle: OnCycle | None,
) -> FireControlLoop:
    injector = Injector(scenario, settings.seed)
    loop = FireControlLoop(
        source,
        launcher,
        build_tracker(settings.rig),
        build_engagement(settings.rig),
        beamwidth_az_rad=math.radians(scenario.radar.beamwidth_deg),
        injector=injector if len(injector) else None,
        truth=truth,
        operator_armed=settings.armed,
    )
    loop.on_cycle = on_cycle
    return loop


async def _radar(
    stack: AsyncExitStack,
    settings: CampaignSettings,
    bench: bool,
    emulated: list[str],
    notes: list[str],
) -> RadarDriver:
    rig = settings.rig
    if bench:
        driver = RadarDriver(rig.radar.url, rig.radar.baud, clock_sync_interval_s=1.0)
        await stack.enter_async_context(driver)
        try:
            await driver.wait_up(BENCH_CONNECT_S)
            return driver
        except DriverError as error:
            if not rig.rig.allow_emulation_fallback:
                raise HilError(
                    f"radar at {rig.radar.url} did not come up within {BENCH_CONNECT_S} s "
                    f"({error}); check the cable and port, or set "
                    "rig.allow_emulation_fallback = true to run against the emulator"
                ) from error
            await driver.close()
            _fallback("radar", rig.radar.url, emulated, notes)
    stub = await RadarStubProcess.start(
        "--scenario",
        str(settings.scenario_file),
        "--seed",
        str(settings.seed),
        "--pty",
        *site_overrides(rig),
    )
    stack.push_async_callback(_stop_stub, stub, "radar", notes)
    driver = RadarDriver(stub.url, rig.radar.baud, clock_sync_interval_s=1.0)
    await stack.enter_async_context(driver)
    await driver.wait_up(5.0)
    return driver


async def _plc(
    stack: AsyncExitStack,
    settings: CampaignSettings,
    bench: bool,
    emulated: list[str],
    notes: list[str],
) -> PlcDriver:
    link = settings.rig.plc

    def driver_for(url: str) -> PlcDriver:
        return PlcDriver(
            PlcEndpoint.parse(url),
            unit_id=link.unit_id,
            timeout_s=link.timeout_s,
            retries=link.retries,
        )

    if bench:
        url = f"tcp://{link.host}:{link.port}" if link.transport == "tcp" else f"rtu://{link.url}"
        driver = driver_for(url)
        await stack.enter_async_context(driver)
        try:
            await driver.wait_up(BENCH_CONNECT_S)
            return driver
        except DriverError as error:
            if not settings.rig.rig.allow_emulation_fallback:
                raise HilError(
                    f"PLC at {url} did not come up within {BENCH_CONNECT_S} s ({error}); "
                    "check the network, or set rig.allow_emulation_fallback = true to run "
                    "against the emulator"
                ) from error
            await driver.close()
            _fallback("plc", url, emulated, notes)
    stub = await PlcStubProcess.start("--tcp", "127.0.0.1:0")
    stack.push_async_callback(_stop_stub, stub, "PLC", notes)
    driver = driver_for(stub.url)
    await stack.enter_async_context(driver)
    await driver.wait_up(5.0)
    return driver


async def _first_status(launcher: PlcLauncher, plc: PlcDriver) -> None:
    try:
        await launcher.first_status(STATUS_WAIT_S)
    except TimeoutError as error:
        raise HilError(
            f"{plc.name} is connected but gave no status within {STATUS_WAIT_S} s "
            f"({plc.health().last_error}); check the unit id and the register map"
        ) from error


def _command_notes(counts: CommandCounts) -> list[str]:
    """One note on failed launcher writes (the first message), none when all went out."""
    if not counts.failed:
        return []
    first = counts.errors[0] if counts.errors else "no message"
    return [f"{counts.failed} launcher writes failed (first: {first})"]


def _fallback(device: str, where: str, emulated: list[str], notes: list[str]) -> None:
    emulated.append(device)
    message = (
        f"WARNING: the {device} at {where} is missing; this run uses the EMULATED {device} "
        "(rig.allow_emulation_fallback = true). Results do not describe the bench hardware."
    )
    notes.append(message)
    log.warning(message)


async def _stop_stub(stub: RadarStubProcess | PlcStubProcess, what: str, notes: list[str]) -> None:
    code, _, err = await stub.stop()
    if code != 0:
        notes.append(f"emulated {what} exited with {code}: {err.strip().splitlines()[-1:]}")


async def _radar_standby(radar: RadarDriver) -> None:
    with contextlib.suppress(DriverError):
        await radar.set_mode(RadarMode.STANDBY)
