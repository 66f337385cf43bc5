"""The ``emulate`` and ``bench`` rigs: the radar and PLC drivers on the emulators or the
bench's devices — and the one place a device is opened with its emulator fallback
(``open_device``), for runs, ``hil_rig`` (``open_rig_devices``) and the preflight alike.

- ``emulate``: the emulated radar (``hil stub radar`` on a pty) and the emulated PLC (``hil
  stub plc`` on loopback Modbus TCP) as child processes (``hil.rig.emulators``), driven
  through the real drivers, stopped on exit.
- ``bench``: the real devices at the rig file's ports. A device that does not come up within
  the connect timeout is replaced by its emulator only when ``allow_emulation_fallback`` is
  set — and then every result says so (``emulated``, a WARNING note and log line).

The emulated radar sees the scenario's ``real`` targets at the rig's antenna site. A run's
faults act on the emulators through a schedule beside the loop (``hil.rig.fault_schedule``).
"""

from __future__ import annotations

import contextlib
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AsyncExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Generic, Protocol, TypeVar

from drivers.errors import DriverError
from drivers.plc.driver import PlcDriver, PlcEndpoint
from drivers.plc.transaction import TransactionTap
from drivers.plc.types import Mode
from drivers.radar.driver import BytesTap, RadarDriver
from drivers.radar.messages import RadarMode
from hil.config.loader import load_scenario
from hil.config.rig import RigConfig
from hil.config.scenario import ScenarioConfig
from hil.errors import HilError
from hil.loop.plc_launcher import PlcLauncher
from hil.loop.sim_scenario import build_targets, scan_pattern
from hil.loop.sources import DriverRadar
from hil.rig.base import DeviceTaps, LinkDetails, Rig, RunSettings, site_overrides
from hil.rig.emulators import PlcStubProcess, RadarStubProcess, StubProcess
from hil.rig.fault_schedule import EmulatorActuators, FaultSchedule, plc_faults, radar_faults
from hil.rig.faults import check_faults

log = logging.getLogger(__name__)
BENCH_CONNECT_S = 3.0
"""How long a run waits for a bench device before it is missing (s)."""
STATUS_WAIT_S = 2.0
"""How long a run waits for the PLC's first status (s)."""
EMULATOR_UP_S = 5.0
"""How long a started emulator may take to accept its driver (s)."""
RADAR_CLOCK_SYNC_S = 1.0
"""A run's radar clock-sync interval (s): the frame ages the loop sees rest on it."""


class _Driver(Protocol):
    """What opening a device needs of its driver (``RadarDriver`` and ``PlcDriver`` alike)."""

    async def __aenter__(self) -> Any: ...

    async def __aexit__(self, *exc: object) -> None: ...

    async def wait_up(self, timeout_s: float) -> None: ...

    async def close(self) -> None: ...

    def health(self) -> Any: ...


DriverT = TypeVar("DriverT", bound=_Driver)


@dataclass(frozen=True)
class DeviceLink(Generic[DriverT]):
    """How to open one device of a rig: its driver for a URL, and its emulator."""

    key: str
    """Its name in ``emulated`` and its preflight rows' prefix: ``radar``, ``plc``."""
    name: str
    """As messages say it: radar, PLC."""
    bench_url: str
    """Where the rig file says the bench device is."""
    driver_for: Callable[[str], DriverT]
    start_emulator: Callable[[], Awaitable[StubProcess]]
    no_link: str
    """What the driver's health says when it never got a link."""
    check: str
    """What to check when the bench device is not up (the cable and port, the network)."""


@dataclass(frozen=True)
class OpenedDevice(Generic[DriverT]):
    """A device as ``open_device`` left it: its driver up, or None when the bench device is
    missing and the rig does not allow the fallback."""

    driver: DriverT | None
    url: str
    """Where the driver is connected (the emulator's URL when it was started)."""
    emulator: StubProcess | None = None
    """The emulator started in the device's place (None: the bench device is used)."""
    missing: str = ""
    """Why the bench device is not used (``<url> not up within 3 s (<reason>)``); empty when
    it came up, and on an ``emulate`` rig."""
    error: DriverError | None = None
    """The bench driver's error when it did not come up."""
    up_s: float | None = None
    """How long the bench device took to come up (s); None when it was not used."""


async def open_device(
    stack: AsyncExitStack,
    link: DeviceLink[DriverT],
    *,
    bench: bool,
    allow_fallback: bool,
    connect_timeout_s: float,
    notes: list[str],
) -> OpenedDevice[DriverT]:
    """The device's driver, up: on a bench rig the device at ``link.bench_url`` if it comes up
    within ``connect_timeout_s``, else (or on an emulate rig) its emulator — on a bench rig only
    when ``allow_fallback``; otherwise ``driver`` is None and ``missing`` says why. What it
    opens stays on ``stack`` (an emulator's non-zero exit is added to ``notes`` when stopped).
    Raises ``HilError`` when an emulator does not start, ``DriverError`` when it does not
    accept its driver within ``EMULATOR_UP_S``."""
    missing = ""
    failure: DriverError | None = None
    if bench:
        driver = link.driver_for(link.bench_url)
        await stack.enter_async_context(driver)
        started = time.monotonic()
        try:
            await driver.wait_up(connect_timeout_s)
            return OpenedDevice(driver, link.bench_url, up_s=time.monotonic() - started)
        except DriverError as error:
            problem = driver.health().last_error or link.no_link
            await driver.close()
            missing = f"{link.bench_url} not up within {connect_timeout_s:g} s ({problem})"
            failure = error
            if not allow_fallback:
                return OpenedDevice(None, link.bench_url, missing=missing, error=failure)
    stub = await link.start_emulator()
    stack.push_async_callback(stop_emulator, stub, link.name, notes)
    driver = link.driver_for(stub.url)
    await stack.enter_async_context(driver)
    await driver.wait_up(EMULATOR_UP_S)
    return OpenedDevice(driver, stub.url, stub, missing, failure)


def radar_link(
    rig: RigConfig,
    scenario_file: Path,
    seed: int,
    *,
    control: bool = False,
    tap: BytesTap | None = None,
    clock_sync_interval_s: float | None = RADAR_CLOCK_SYNC_S,
) -> DeviceLink[RadarDriver]:
    """The rig's radar: its driver (``clock_sync_interval_s`` None: no clock-sync task) and
    its emulator over ``scenario_file``'s real targets at the rig's site (``control``: with
    its control port, for radar faults)."""

    def driver_for(port: str) -> RadarDriver:
        return RadarDriver(
            port, rig.radar.baud, clock_sync_interval_s=clock_sync_interval_s, on_bytes=tap
        )

    def start_emulator() -> Awaitable[RadarStubProcess]:
        return RadarStubProcess.start(
            "--scenario",
            str(scenario_file),
            "--seed",
            str(seed),
            "--pty",
            *site_overrides(rig),
            *(("--control", "127.0.0.1:0") if control else ()),
        )

    return DeviceLink(
        "radar",
        "radar",
        rig.radar.url,
        driver_for,
        start_emulator,
        "no link",
        "check the cable and port",
    )


def plc_url(rig: RigConfig) -> str:
    """The PLC's URL as the rig file gives it: ``tcp://host:port``, or ``rtu://device?baud=B``
    with the file's ``[plc] baud`` (the URL alone would have opened the port at 115200)."""
    link = rig.plc
    if link.transport == "tcp":
        return f"tcp://{link.host}:{link.port}"
    return f"rtu://{link.url}?baud={link.baud}"


def plc_link(
    rig: RigConfig, *, tap: TransactionTap | None = None, heartbeat_hz: float | None = 10.0
) -> DeviceLink[PlcDriver]:
    """The rig's PLC: its driver (``heartbeat_hz`` None: no heartbeat) and its emulator on
    loopback Modbus TCP."""
    link = rig.plc

    def driver_for(url: str) -> PlcDriver:
        return PlcDriver(
            PlcEndpoint.parse(url),
            unit_id=link.unit_id,
            timeout_s=link.timeout_s,
            retries=link.retries,
            heartbeat_hz=heartbeat_hz,
            on_transaction=tap,
        )

    def start_emulator() -> Awaitable[PlcStubProcess]:
        return PlcStubProcess.start("--tcp", "127.0.0.1:0")

    return DeviceLink(
        "plc", "PLC", plc_url(rig), driver_for, start_emulator, "no connection", "check the network"
    )


async def open_for_run(
    stack: AsyncExitStack,
    link: DeviceLink[DriverT],
    rig: RigConfig,
    emulated: list[str],
    notes: list[str],
) -> tuple[DriverT, StubProcess | None]:
    """``open_device`` as a run opens a device (its driver, up, and the emulator started in its
    place, if one was): a missing bench device without the fallback is
    a ``HilError`` naming what to check; one replaced by its emulator is added to ``emulated``
    (the bench fallback only: on an emulate rig every device is an emulator by design) with a
    WARNING note (and log line) that results do not describe the bench hardware."""
    bench = rig.rig.mode == "bench"
    opened = await open_device(
        stack,
        link,
        bench=bench,
        allow_fallback=rig.rig.allow_emulation_fallback,
        connect_timeout_s=BENCH_CONNECT_S,
        notes=notes,
    )
    if opened.driver is None:
        raise HilError(
            f"{link.name} at {link.bench_url} did not come up within {BENCH_CONNECT_S} s "
            f"({opened.error}); {link.check}, or set rig.allow_emulation_fallback = true to run "
            "against the emulator"
        ) from opened.error
    if opened.emulator is not None and bench:
        emulated.append(link.key)
        message = (
            f"WARNING: the {link.key} at {link.bench_url} is missing; this run uses the "
            f"EMULATED {link.key} (rig.allow_emulation_fallback = true). Results do not "
            "describe the bench hardware."
        )
        notes.append(message)
        log.warning(message)
    return opened.driver, opened.emulator


async def build(
    settings: RunSettings, scenario: ScenarioConfig, stack: AsyncExitStack, taps: DeviceTaps
) -> Rig:
    """``emulate`` and ``bench``: the radar and PLC drivers, on the emulators (child
    processes) or the rig's devices; the PLC's status poll and command sender beside the loop."""
    rig = settings.rig
    bench = rig.rig.mode == "bench"
    emulated: list[str] = []
    notes: list[str] = []
    radar, radar_emulator = await open_for_run(
        stack,
        radar_link(
            rig,
            settings.scenario_file,
            settings.seed,
            control=radar_faults(settings.faults),
            tap=taps.radar_bytes,
        ),
        rig,
        emulated,
        notes,
    )
    plc, _ = await open_for_run(
        stack, plc_link(rig, tap=taps.plc_transactions), rig, emulated, notes
    )
    control_url = (
        radar_emulator.control_url if isinstance(radar_emulator, RadarStubProcess) else None
    )
    faults = _fault_schedule(settings, bench, emulated, control_url, plc, notes)
    radar_cfg = scenario.radar
    await radar.set_rpm(radar_cfg.rpm)
    await radar.set_mode(RadarMode.ROTATING)
    stack.push_async_callback(radar_standby, radar)
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
    load_scenario(scenario_file)  # a bad scenario is a ConfigError here, not an emulator's exit
    emulated: list[str] = []
    notes: list[str] = []
    async with AsyncExitStack() as stack:
        radar, _ = await open_for_run(
            stack, radar_link(rig, scenario_file, seed), rig, emulated, notes
        )
        stack.push_async_callback(radar_standby, radar)
        plc, plc_emulator = await open_for_run(stack, plc_link(rig), rig, emulated, notes)
        stack.push_async_callback(plc_safe, plc)
        yield RigDevices(
            rig,
            radar,
            plc,
            tuple(emulated) if rig.rig.mode == "bench" else ("radar", "plc"),
            str(plc.endpoint) if plc_emulator is not None else None,
            tuple(notes),
        )


async def _first_status(launcher: PlcLauncher, plc: PlcDriver) -> None:
    try:
        await launcher.first_status(STATUS_WAIT_S)
    except TimeoutError as error:
        raise HilError(
            f"{plc.name} is connected but gave no status within {STATUS_WAIT_S} s "
            f"({plc.health().last_error}); check the unit id and the register map"
        ) from error


async def stop_emulator(stub: StubProcess, what: str, notes: list[str]) -> None:
    """Stop an emulator; a non-zero exit is added to ``notes`` with its last stderr line."""
    code, _, err = await stub.stop()
    if code != 0:
        notes.append(f"emulated {what} exited with {code}: {err.strip().splitlines()[-1:]}")


async def plc_safe(plc: PlcDriver) -> None:
    """Disarm, IDLE, axes off: what a test left the launcher in does not outlive it."""
    with contextlib.suppress(DriverError):
        await plc.request_arm(False)
        await plc.set_mode(Mode.IDLE)
        await plc.enable_axes(False)


async def radar_standby(radar: RadarDriver) -> None:
    """The radar to STANDBY, as far as it answers."""
    with contextlib.suppress(DriverError):
        await radar.set_mode(RadarMode.STANDBY)
