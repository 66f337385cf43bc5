"""One preflight of a rig: open its devices, check both side by side, leave them as found.

``emulate``: the emulators are started exactly as a run starts them (the radar on a pty over
the scenario's real targets at the rig's antenna site, the PLC on loopback Modbus TCP) and
stopped after. ``bench``: the devices at the rig file's ports; one that does not come up within
``preflight.connect_timeout_s`` is a red ``reachable`` row naming its URL (its other rows red,
not checked) — unless the rig allows the emulation fallback, where its emulator is checked in
its place, as a run would use it, and the ``reachable`` row is amber and says so.

The drivers are opened for the check only: the radar with no clock-sync task (the check PINGs
itself), the PLC without a heartbeat (``hil.preflight.plc_checks``).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from contextlib import AsyncExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Generic, Protocol, TypeVar

from drivers.errors import DriverError
from drivers.plc.driver import PlcDriver, PlcEndpoint
from drivers.radar.driver import RadarDriver
from hil.config.bundled import bundled_file
from hil.config.rig import RigConfig
from hil.errors import HilError
from hil.preflight import plc_checks, radar_checks
from hil.preflight.report import PreflightReport, Row, Verdict, not_checked
from hil.run import site_overrides
from hil.stub_process import PlcStubProcess, RadarStubProcess

DEFAULT_SCENARIO = bundled_file("scenarios/defended-site.toml")
"""What the emulated radar sees during a check (``hil run``'s default scenario)."""
EMULATOR_UP_S = 5.0
"""How long a started emulator may take to accept its driver (as ``hil run`` waits)."""
ROWS = ("radar.reachable", *radar_checks.ROWS, "plc.reachable", *plc_checks.ROWS)
"""Every row of a preflight, in the order shown (``--ignore-preflight`` takes these names)."""


class NoDevicesError(HilError):
    """The rig's mode has no devices to check (``sim``, ``replay``)."""


def plc_url(rig: RigConfig) -> str:
    """The PLC's URL as the rig file gives it (``tcp://host:port`` or ``rtu://device``)."""
    link = rig.plc
    return f"tcp://{link.host}:{link.port}" if link.transport == "tcp" else f"rtu://{link.url}"


async def run_preflight(
    rig: RigConfig, seconds: float, scenario_file: Path = DEFAULT_SCENARIO, seed: int = 0
) -> PreflightReport:
    """Every row of ``rig``'s preflight over ``seconds`` of measurement (see the module doc).
    Raises ``NoDevicesError`` for a ``sim`` or ``replay`` rig, ``HilError`` when an emulator
    cannot start."""
    mode = rig.rig.mode
    if mode not in ("emulate", "bench"):
        raise NoDevicesError(
            f"rig {rig.rig.name!r} is a {mode} rig: it has no devices to check; give an "
            "emulate or bench rig (--rig configs/rigs/emulate.toml)"
        )
    report = PreflightReport(rig.rig.name, mode, seconds)
    emulated: list[str] = []
    async with AsyncExitStack() as stack:
        try:
            async with asyncio.TaskGroup() as group:  # a missing device's timeout, once
                radar_open = group.create_task(
                    _open_radar(stack, rig, scenario_file, seed, emulated)
                )
                plc_open = group.create_task(_open_plc(stack, rig, emulated))
            (radar, radar_row), (plc, plc_row) = radar_open.result(), plc_open.result()
            async with asyncio.TaskGroup() as group:
                radar_rows = group.create_task(_radar_rows(radar, radar_row, rig, seconds))
                plc_rows = group.create_task(_plc_rows(plc, plc_row, rig, seconds))
        except ExceptionGroup as group:
            raise _one_error(group) from group
        report.rows = [*radar_rows.result(), *plc_rows.result()]
    report.emulated = tuple(device for device in ("radar", "plc") if device in emulated)
    if emulated and mode == "bench":
        report.notes.append(
            f"checked the EMULATED {' and '.join(report.emulated)} in place of the missing bench "
            "device(s) (rig.allow_emulation_fallback = true): the rows of those devices "
            "describe the emulator, not the bench hardware"
        )
    return report


async def _radar_rows(
    radar: RadarDriver | None, reachable: Row, rig: RigConfig, seconds: float
) -> list[Row]:
    if radar is None:
        return [reachable, *not_checked(radar_checks.ROWS, "radar unreachable")]
    return [reachable, *await radar_checks.check_radar(radar, rig.preflight, seconds)]


async def _plc_rows(
    plc: PlcDriver | None, reachable: Row, rig: RigConfig, seconds: float
) -> list[Row]:
    if plc is None:
        return [reachable, *not_checked(plc_checks.ROWS, "PLC unreachable")]
    return [reachable, *await plc_checks.check_plc(plc, rig.preflight, seconds)]


class _Driver(Protocol):
    """What opening a device needs of its driver (``RadarDriver`` and ``PlcDriver`` alike)."""

    async def __aenter__(self) -> Any: ...

    async def __aexit__(self, *exc: object) -> None: ...

    async def wait_up(self, timeout_s: float) -> None: ...

    async def close(self) -> None: ...

    def health(self) -> Any: ...


DriverT = TypeVar("DriverT", bound=_Driver)


@dataclass(frozen=True)
class _Device(Generic[DriverT]):
    """How to open one device of a rig for its preflight."""

    key: str
    """Its rows' prefix and its name in ``emulated``: radar, plc."""
    name: str
    """As the rows say it: radar, PLC."""
    bench_url: str
    driver_for: Callable[[str], DriverT]
    start_emulator: Callable[[], Awaitable[RadarStubProcess | PlcStubProcess]]
    no_link: str
    """What the driver's health says when it never got a link."""
    unreachable_action: str
    """What to do when the bench device is not up."""


async def _open(
    stack: AsyncExitStack, rig: RigConfig, device: _Device[DriverT], emulated: list[str]
) -> tuple[DriverT | None, Row]:
    """The device's driver, up (None: unreachable), and its ``<device>.reachable`` row."""
    row = f"{device.key}.reachable"
    timeout_s = rig.preflight.connect_timeout_s
    limit = f"up within {timeout_s:g} s (preflight.connect_timeout_s)"
    url = device.bench_url
    missing = ""
    if rig.rig.mode == "bench":
        driver = device.driver_for(url)
        await stack.enter_async_context(driver)
        started = time.monotonic()
        try:
            await driver.wait_up(timeout_s)
            took = time.monotonic() - started
            return driver, Row(row, Verdict.GREEN, f"{url} up in {took:.2f} s", limit, "", url)
        except DriverError:
            problem = driver.health().last_error or device.no_link
            await driver.close()
            missing = f"{url} not up within {timeout_s:g} s ({problem})"
            if not rig.rig.allow_emulation_fallback:
                return None, Row(row, Verdict.RED, missing, limit, device.unreachable_action, url)
    stub = await device.start_emulator()
    stack.push_async_callback(_stop, stub)
    emulated.append(device.key)
    driver = device.driver_for(stub.url)
    await stack.enter_async_context(driver)
    await driver.wait_up(EMULATOR_UP_S)
    if missing:
        return driver, Row(
            row,
            Verdict.AMBER,
            f"{missing}; checked the EMULATED {device.name} at {stub.url} instead",
            limit,
            f"runs of this rig use the emulated {device.name} (allow_emulation_fallback): "
            f"connect the {device.name} at {url} to test the hardware",
            url,
        )
    return driver, Row(
        row, Verdict.GREEN, f"emulated {device.name} at {stub.url}", limit, "", stub.url
    )


async def _open_radar(
    stack: AsyncExitStack, rig: RigConfig, scenario_file: Path, seed: int, emulated: list[str]
) -> tuple[RadarDriver | None, Row]:
    """The radar's driver, up (None: unreachable), and its ``radar.reachable`` row."""
    url = rig.radar.url

    def start_emulator() -> Awaitable[RadarStubProcess]:
        return RadarStubProcess.start(
            "--scenario", str(scenario_file), "--seed", str(seed), "--pty", *site_overrides(rig)
        )

    radar = _Device(
        "radar",
        "radar",
        url,
        lambda port: RadarDriver(port, rig.radar.baud),
        start_emulator,
        "no link",
        f"check the cable, the adapter and the port: [radar] url = {url!r} in the rig file "
        "(or --set radar.url=...)",
    )
    return await _open(stack, rig, radar, emulated)


async def _open_plc(
    stack: AsyncExitStack, rig: RigConfig, emulated: list[str]
) -> tuple[PlcDriver | None, Row]:
    """The PLC's driver, up (None: unreachable), and its ``plc.reachable`` row."""
    link = rig.plc

    def driver_for(url: str) -> PlcDriver:
        endpoint = PlcEndpoint.parse(url)
        return PlcDriver(
            endpoint,
            unit_id=link.unit_id,
            timeout_s=link.timeout_s,
            retries=link.retries,
            heartbeat_hz=None,
        )

    where = "[plc] host and port" if link.transport == "tcp" else "[plc] url"
    plc = _Device(
        "plc",
        "PLC",
        plc_url(rig),
        driver_for,
        lambda: PlcStubProcess.start("--tcp", "127.0.0.1:0"),
        "no connection",
        f"check the network (or the RTU cable) and the PLC's power: {where} in the rig file",
    )
    return await _open(stack, rig, plc, emulated)


def _one_error(group: ExceptionGroup[Exception]) -> Exception:
    """The first error of a task group, as a ``HilError`` when it is a device's (an emulator
    that did not start or come up), else as itself (a bug)."""
    first = group.exceptions[0]
    while isinstance(first, ExceptionGroup):
        first = first.exceptions[0]
    if isinstance(first, HilError):
        return first
    if isinstance(first, DriverError):
        return HilError(f"preflight: {first}")
    return first


async def _stop(stub: RadarStubProcess | PlcStubProcess) -> None:
    await stub.stop()
