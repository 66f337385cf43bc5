"""One run of the fire-control loop on a rig: ``hil run`` without the command line.

The rig file's mode decides what the loop talks to, through one table of builders
(``RIG_BUILDERS``: mode → async builder of the frame source and launcher pair):

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

- ``replay``: a recording's cycles (``hil.recording.replay``; ``hil replay FILE``), with the
  recorded launcher or the in-process PLC model.

Faults at given times (``RunSettings.faults``, docs/faults.md) act on the emulators through a
schedule beside the loop, or in ``sim`` on the in-process models; they are checked
(``hil.faults.check_faults``) before anything starts.

A rig file with a ``[telemetry]`` table publishes the run live over MQTT (``hil.telemetry``,
docs/telemetry.md; not in ``replay``): started before the rig is built, stopped last.

The caller may add observers of every cycle (``perform_run(observers=...)``, made once the rig
is built) and tap the drivers' raw traffic (``DeviceTaps``): that is how a run is recorded.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Coroutine, Sequence
from contextlib import AsyncExitStack
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from drivers.errors import DriverError
from drivers.plc.driver import PlcDriver, PlcEndpoint
from drivers.plc.transaction import TransactionTap
from drivers.plc.types import Mode
from drivers.radar.driver import BytesTap, RadarDriver
from drivers.radar.messages import RadarMode
from firmware_stubs.plc.model import PlcModel
from hil.config.bundled import bundled_file
from hil.config.loader import load_plc_emulator, load_scenario
from hil.config.rig import RigConfig
from hil.config.scenario import ScenarioConfig
from hil.errors import HilError
from hil.fault_schedule import EmulatorActuators, FaultSchedule, plc_faults, radar_faults
from hil.faults import FaultEvent, check_faults, hardware_only
from hil.fire_control.engagement import Engagement
from hil.loop.core import LoopCore
from hil.loop.frames import Injector
from hil.loop.launchers import CommandCounts, InProcessLauncher, Launcher
from hil.loop.observers import CycleObserver
from hil.loop.plc_launcher import PlcLauncher
from hil.loop.runner import FireControlLoop, LoopResult
from hil.loop.sources import DriverRadar, FrameSource, SimulatedRadar
from hil.loop.timing import Histogram
from hil.scenario import SimulatedScenario, build_targets, radar_parameters, scan_pattern
from hil.sim_faults import FaultedLauncher, FaultedSimRadar
from hil.stub_process import PlcStubProcess, RadarStubProcess
from hil.telemetry.session import RunIdentity, TelemetrySession, TelemetryStats
from hil.tracking.measurement import PolarSensor
from hil.tracking.tracker import Tracker
from sim.clock import SimClock
from sim.sensor import RadarSensor
from sim.targets import TargetSet

log = logging.getLogger(__name__)
BENCH_CONNECT_S = 3.0
STATUS_WAIT_S = 2.0
EMULATED_PLC_SETTINGS = bundled_file("plc/emulator-default.toml")


@dataclass(frozen=True)
class ReplayOptions:
    """What a ``replay`` run plays: the recording, the pace (``rate`` × recorded speed; None:
    as fast as possible), the window (seconds after the recording's first message), the
    launcher (``recorded``: open loop; ``model``: the in-process PLC model, closed loop) and the
    frames (``raw``: re-decoded from the raw radar bytes; ``recorded``: as decoded then; None:
    raw when the recording has raw bytes)."""

    path: Path
    rate: float | None = None
    from_s: float | None = None
    to_s: float | None = None
    launcher: Literal["recorded", "model"] = "recorded"
    frames: Literal["raw", "recorded"] | None = None
    step: Callable[[], Awaitable[None]] | None = None
    """Single-stepping: awaited before each cycle is played (e.g. the operator's Enter)."""


@dataclass(frozen=True)
class RunSettings:
    rig: RigConfig
    scenario: ScenarioConfig
    scenario_file: Path
    duration_s: float
    seed: int = 0
    armed: bool = False
    """The operator armed the session (``--arm``). Nothing arms otherwise."""
    rig_overrides: tuple[str, ...] = ()
    replay: ReplayOptions | None = None
    """The recording a ``replay`` run plays (None for every other mode)."""
    faults: tuple[FaultEvent, ...] = ()
    """Faults injected at given times (``hil.faults``, docs/faults.md): on the emulators beside
    the loop (``hil.fault_schedule``), in ``sim`` on the in-process models (``hil.sim_faults``);
    refused on real bench devices and in ``replay``."""


@dataclass
class RunResult:
    mode: str
    settings: RunSettings
    loop: LoopResult
    emulated_devices: tuple[str, ...] = ()
    """Devices replaced by emulators on a bench rig (empty unless the fallback was used)."""
    notes: list[str] = field(default_factory=list)
    links: LinkDetails | None = None
    """The device links' counters at the end of the run (None in ``sim``: no links)."""
    telemetry: TelemetryStats | None = None
    """What the run's telemetry published and dropped (None: the rig has no telemetry)."""


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


@dataclass
class Rig:
    """What one run's loop talks to, built by its rig mode's builder (``RIG_BUILDERS``):
    the frame source and launcher, the ground truth to score against, the tasks that run
    beside the loop (name, coroutine function), and what to wait for before the first cycle."""

    source: FrameSource
    launcher: Launcher
    truth: TargetSet
    started: str
    """How the run's start is logged (``sim, 30 s of simulated time``)."""
    beside: tuple[tuple[str, Callable[[], Coroutine[Any, Any, None]]], ...] = ()
    ready: Callable[[], Awaitable[None]] | None = None
    emulated: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    links: Callable[[], LinkDetails] | None = None
    """The links' details once the loop has ended (None: the rig has no device links)."""
    faults: FaultSchedule | None = None
    """The run's faults taken beside the loop (None: none, or applied in process)."""


@dataclass(frozen=True)
class DeviceTaps:
    """What the drivers of a run hand to the recorder: every raw radar chunk as received
    (``drivers.radar.driver.BytesTap``) and every PLC request with its answer
    (``drivers.plc.driver.TransactionTap``). None: not tapped."""

    radar_bytes: BytesTap | None = None
    plc_transactions: TransactionTap | None = None


RigBuilder = Callable[["RunSettings", ScenarioConfig, AsyncExitStack, DeviceTaps], Awaitable[Rig]]
"""Builds a rig mode's ``Rig`` for a run over the resited scenario, its drivers tapped by the
``DeviceTaps``; what it opens (processes, drivers) it leaves on the exit stack, closed after
the launcher was made safe."""

ObserverFactory = Callable[[Rig], Sequence[CycleObserver]]
"""The caller's observers of a run, made once its rig is built (they may act on the rig)."""


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


def build_core(rig: RigConfig, scenario: ScenarioConfig) -> LoopCore:
    """A fresh loop core for ``rig`` over the (resited) ``scenario``."""
    beamwidth = math.radians(scenario.radar.beamwidth_deg)
    return LoopCore(build_tracker(rig), build_engagement(rig), beamwidth)


async def perform_run(
    settings: RunSettings,
    observers: ObserverFactory | None = None,
    stop: StopSwitch | None = None,
    taps: DeviceTaps | None = None,
) -> RunResult:
    """One run of the loop on the settings' rig (see the module doc). ``observers`` adds the
    caller's observers of every cycle; ``stop`` lets a signal handler end the run early;
    ``taps`` receive the drivers' raw traffic (a recording)."""
    mode = settings.rig.rig.mode
    builder = RIG_BUILDERS.get(mode)
    if builder is None:
        raise HilError(f"rig mode {mode!r} cannot run the loop")
    if settings.faults:
        real = hardware_only(mode, settings.rig.rig.allow_emulation_fallback)
        check_faults(settings.faults, mode, settings.duration_s, real_devices=real)
    try:
        return await _perform(settings, builder, observers, stop or StopSwitch(), taps)
    except DriverError as error:
        raise HilError(
            f"{error} (the run stopped; the launcher was made safe if reachable)"
        ) from error


async def _perform(
    settings: RunSettings,
    builder: RigBuilder,
    observers: ObserverFactory | None,
    stop: StopSwitch,
    taps: DeviceTaps | None,
) -> RunResult:
    scenario = resite(settings.scenario, settings.rig)
    identity = RunIdentity(
        settings.rig.rig.mode, scenario.scenario.name, settings.seed, settings.armed
    )
    telemetry = TelemetrySession.for_run(settings.rig, identity)
    async with AsyncExitStack() as stack:
        if telemetry is not None:  # first in, last out: its final status follows the shutdown
            await stack.enter_async_context(telemetry)
        rig = await builder(settings, scenario, stack, taps or DeviceTaps())
        watchers = list(observers(rig)) if observers is not None else []
        if telemetry is not None:
            watchers.append(telemetry.observer(rig.source.now_s()))
        injector = Injector(scenario, settings.seed)
        loop = FireControlLoop(
            rig.source,
            rig.launcher,
            build_core(settings.rig, scenario),
            injector=injector if len(injector) else None,
            truth=rig.truth,
            operator_armed=settings.armed,
            observers=watchers,
        )
        stop.attach(loop)
        # the tasks beside the loop run in a task group; the loop's own errors are kept out of
        # it so they reach the caller as themselves, not wrapped in an ExceptionGroup
        failure: Exception | None = None
        beside = list(rig.beside)
        if rig.faults is not None:
            rig.faults.on_failure = stop.stop
            beside.append(("fault schedule", rig.faults.run))
        async with asyncio.TaskGroup() as group:
            helpers = [group.create_task(run(), name=name) for name, run in beside]
            try:
                if rig.ready is not None:
                    await rig.ready()
                log.info("run started: %s", rig.started)
                if rig.faults is not None:
                    rig.faults.start(rig.source.now_s())
                result = await loop.run(settings.duration_s)
            except Exception as error:
                failure = error
            finally:
                for task in helpers:
                    task.cancel()
        if failure is not None:
            raise failure
        if rig.faults is not None and rig.faults.failure is not None:
            raise rig.faults.failure
        links = rig.links() if rig.links is not None else None
        rig.notes.extend(_command_notes(rig.launcher.counts))
        # the notes list is the rig's: stopping its emulators may still add to it
        return RunResult(
            settings.rig.rig.mode,
            settings,
            result,
            tuple(rig.emulated),
            rig.notes,
            links,
            telemetry.stats if telemetry is not None else None,
        )


async def build_sim_rig(
    settings: RunSettings, scenario: ScenarioConfig, stack: AsyncExitStack, taps: DeviceTaps
) -> Rig:
    """``sim``: the in-process sensor model and PLC model on one simulated clock."""
    real = SimulatedScenario(
        scenario.scenario.name,
        settings.duration_s,
        build_targets(scenario, "real"),
        RadarSensor(radar_parameters(scenario.radar)),
        scan_pattern(scenario.radar),
    )
    radar = SimulatedRadar(real, settings.seed, settings.duration_s, SimClock())
    source: FrameSource = radar
    model = PlcModel(load_plc_emulator(EMULATED_PLC_SETTINGS).settings())
    launcher = InProcessLauncher(model)
    started = f"sim, {settings.duration_s} s of simulated time"
    notes: list[str] = []
    if settings.faults:  # applied in process, on the simulated clock (hil.sim_faults)
        source = FaultedSimRadar(radar, settings.faults, settings.seed, notes)
        launcher = FaultedLauncher(model, settings.faults, notes)
    return Rig(source, launcher, build_targets(scenario), started, notes=notes)


async def build_driver_rig(
    settings: RunSettings, scenario: ScenarioConfig, stack: AsyncExitStack, taps: DeviceTaps
) -> Rig:
    """``emulate`` and ``bench``: the radar and PLC drivers, on the emulators (child
    processes) or the rig's devices; the PLC's status poll and command sender beside the loop."""
    rig = settings.rig
    bench = rig.rig.mode == "bench"
    emulated: list[str] = []
    notes: list[str] = []
    radar, control_url = await _radar(stack, settings, bench, emulated, notes, taps.radar_bytes)
    plc = await _plc(stack, settings, bench, emulated, notes, taps.plc_transactions)
    faults = _fault_schedule(settings, bench, emulated, control_url, plc, notes)
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

    def links() -> LinkDetails:
        return LinkDetails(
            radar.health(),
            plc.health(),
            source.longest_silence_s,
            launcher.counts,
            launcher.delivery,
        )

    async def ready() -> None:
        await _first_status(launcher, plc)

    return Rig(
        source,
        launcher,
        truth,
        f"{rig.rig.mode}, {settings.duration_s} s",
        (("PLC status poll", launcher.poll), ("PLC command sender", launcher.run_sender)),
        ready,
        emulated,
        notes,
        links,
        faults,
    )


def _fault_schedule(
    settings: RunSettings,
    bench: bool,
    emulated: list[str],
    radar_control_url: str | None,
    plc: PlcDriver,
    notes: list[str],
) -> FaultSchedule | None:
    """The run's faults on the emulators (None without faults). On a bench rig they are
    refused, before the devices are commanded, unless every device they act on fell back to
    its emulator."""
    faults = settings.faults
    if not faults:
        return None
    if bench:
        real = [device for device in ("radar", "plc") if device not in emulated]
        check_faults(faults, "bench", settings.duration_s, real_devices=real)
    panel_url = str(plc.endpoint) if plc_faults(faults) else None
    actuators = EmulatorActuators(panel_url, radar_control_url)
    return FaultSchedule(faults, actuators, time.monotonic, notes)


@dataclass(frozen=True)
class RigDevices:
    """A rig's radar and PLC drivers, connected and up: on an ``emulate`` rig the emulators
    (child processes: radar on a pty, PLC on loopback Modbus TCP), on a ``bench`` rig the
    devices named in its file, or their emulators where it allows the fallback (``emulated``
    names them; ``notes`` carries the EMULATED warning)."""

    config: RigConfig
    radar: RadarDriver
    plc: PlcDriver
    emulated: tuple[str, ...]
    """Devices replaced by emulators (always both on an ``emulate`` rig)."""
    panel_url: str | None
    """The emulated PLC's bench panel (unit 247; e-stop, interlock chain, response delay,
    dropped requests), None for a real PLC."""
    notes: tuple[str, ...] = ()


@contextlib.asynccontextmanager
async def open_rig_devices(
    rig: RigConfig, scenario_file: Path, seed: int = 0
) -> AsyncIterator[RigDevices]:
    """The drivers of ``rig`` (``emulate`` or ``bench``), up, as a run would open them; the
    emulated radar sees ``scenario_file``'s real targets. On exit the radar is put in STANDBY,
    the launcher disarmed, IDLE, axes off (as far as the devices answer), then everything is
    closed and the emulators stopped. Raises ``HilError`` (a missing device without the
    fallback, a rig mode without devices)."""
    mode = rig.rig.mode
    if mode not in ("emulate", "bench"):
        raise HilError(
            f"rig {rig.rig.name!r} is a {mode} rig, it has no devices; use an emulate or bench rig"
        )
    settings = RunSettings(rig, load_scenario(scenario_file), scenario_file, 0.0, seed)
    bench = mode == "bench"
    emulated: list[str] = []
    notes: list[str] = []
    async with AsyncExitStack() as stack:
        radar, _ = await _radar(stack, settings, bench, emulated, notes, None)
        stack.push_async_callback(_radar_standby, radar)
        plc = await _plc(stack, settings, bench, emulated, notes, None)
        stack.push_async_callback(_plc_safe, plc)
        plc_emulated = not bench or "plc" in emulated
        yield RigDevices(
            rig,
            radar,
            plc,
            ("radar", "plc") if not bench else tuple(emulated),
            str(plc.endpoint) if plc_emulated else None,
            tuple(notes),
        )


async def build_replay_rig(
    settings: RunSettings, scenario: ScenarioConfig, stack: AsyncExitStack, taps: DeviceTaps
) -> Rig:
    """``replay``: a recording's cycles drive the loop (``hil.recording.replay``)."""
    from hil.recording.replay import build_replay_rig as build  # the recording layer needs us

    return await build(settings, scenario, stack, taps)


RIG_BUILDERS: dict[str, RigBuilder] = {
    "sim": build_sim_rig,
    "emulate": build_driver_rig,
    "bench": build_driver_rig,
    "replay": build_replay_rig,
}
"""Each rig mode's builder of what the loop talks to; a mode not here cannot run the loop."""


async def _radar(
    stack: AsyncExitStack,
    settings: RunSettings,
    bench: bool,
    emulated: list[str],
    notes: list[str],
    tap: BytesTap | None,
) -> tuple[RadarDriver, str | None]:
    """The radar's driver, up, and the emulator's control port (None: a real radar, or no
    radar fault in the run)."""
    rig = settings.rig
    if bench:
        driver = RadarDriver(rig.radar.url, rig.radar.baud, clock_sync_interval_s=1.0, on_bytes=tap)
        await stack.enter_async_context(driver)
        try:
            await driver.wait_up(BENCH_CONNECT_S)
            return driver, None
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
        *(("--control", "127.0.0.1:0") if radar_faults(settings.faults) else ()),
    )
    stack.push_async_callback(_stop_stub, stub, "radar", notes)
    driver = RadarDriver(stub.url, rig.radar.baud, clock_sync_interval_s=1.0, on_bytes=tap)
    await stack.enter_async_context(driver)
    await driver.wait_up(5.0)
    return driver, stub.control_url


async def _plc(
    stack: AsyncExitStack,
    settings: RunSettings,
    bench: bool,
    emulated: list[str],
    notes: list[str],
    tap: TransactionTap | None,
) -> PlcDriver:
    link = settings.rig.plc

    def driver_for(url: str) -> PlcDriver:
        return PlcDriver(
            PlcEndpoint.parse(url),
            unit_id=link.unit_id,
            timeout_s=link.timeout_s,
            retries=link.retries,
            on_transaction=tap,
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


async def _plc_safe(plc: PlcDriver) -> None:
    """Disarm, IDLE, axes off: what a test left the launcher in does not outlive it."""
    with contextlib.suppress(DriverError):
        await plc.request_arm(False)
        await plc.set_mode(Mode.IDLE)
        await plc.enable_axes(False)


async def _radar_standby(radar: RadarDriver) -> None:
    with contextlib.suppress(DriverError):
        await radar.set_mode(RadarMode.STANDBY)
