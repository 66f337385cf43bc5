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
from contextlib import AsyncExitStack
from pathlib import Path

from drivers.errors import DriverError
from drivers.plc.driver import PlcDriver
from drivers.radar.driver import RadarDriver
from hil.config.bundled import bundled_file
from hil.config.rig import RigConfig
from hil.errors import HilError
from hil.preflight import plc_checks, radar_checks
from hil.preflight.report import PreflightReport, Row, Verdict, not_checked
from hil.rig.devices import DeviceLink, DriverT, open_device, plc_link, radar_link

DEFAULT_SCENARIO = bundled_file("scenarios/defended-site.toml")
"""What the emulated radar sees during a check (``hil run``'s default scenario)."""
ROWS = ("radar.reachable", *radar_checks.ROWS, "plc.reachable", *plc_checks.ROWS)
"""Every row of a preflight, in the order shown (``--ignore-preflight`` takes these names)."""


class NoDevicesError(HilError):
    """The rig's mode has no devices to check (``sim``, ``replay``)."""


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
                    _open_radar(stack, rig, scenario_file, seed, emulated, report.notes)
                )
                plc_open = group.create_task(_open_plc(stack, rig, emulated, report.notes))
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


async def _open(
    stack: AsyncExitStack,
    rig: RigConfig,
    device: DeviceLink[DriverT],
    action: str,
    emulated: list[str],
    notes: list[str],
) -> tuple[DriverT | None, Row]:
    """The device's driver, up (None: unreachable), and its ``<device>.reachable`` row; opened
    as a run opens it (``hil.rig.devices.open_device``), with the preflight's connect timeout.
    ``action``: what to do when the bench device is not up; a device whose emulator was
    checked is added to ``emulated``."""
    row = f"{device.key}.reachable"
    timeout_s = rig.preflight.connect_timeout_s
    limit = f"up within {timeout_s:g} s (preflight.connect_timeout_s)"
    url = device.bench_url
    opened = await open_device(
        stack,
        device,
        bench=rig.rig.mode == "bench",
        allow_fallback=rig.rig.allow_emulation_fallback,
        connect_timeout_s=timeout_s,
        notes=notes,
    )
    if opened.driver is None:
        return None, Row(row, Verdict.RED, opened.missing, limit, action, url)
    if opened.emulator is None:
        took = f"{url} up in {opened.up_s or 0.0:.2f} s"
        return opened.driver, Row(row, Verdict.GREEN, took, limit, "", url)
    emulated.append(device.key)
    if opened.missing:
        return opened.driver, Row(
            row,
            Verdict.AMBER,
            f"{opened.missing}; checked the EMULATED {device.name} at {opened.url} instead",
            limit,
            f"runs of this rig use the emulated {device.name} (allow_emulation_fallback): "
            f"connect the {device.name} at {url} to test the hardware",
            url,
        )
    return opened.driver, Row(
        row, Verdict.GREEN, f"emulated {device.name} at {opened.url}", limit, "", opened.url
    )


async def _open_radar(
    stack: AsyncExitStack,
    rig: RigConfig,
    scenario_file: Path,
    seed: int,
    emulated: list[str],
    notes: list[str],
) -> tuple[RadarDriver | None, Row]:
    """The radar's driver, up (None: unreachable), and its ``radar.reachable`` row; no
    clock-sync task (the check PINGs itself)."""
    radar = radar_link(rig, scenario_file, seed, clock_sync_interval_s=None)
    action = (
        f"check the cable, the adapter and the port: [radar] url = {rig.radar.url!r} in the "
        "rig file (or --set radar.url=...)"
    )
    return await _open(stack, rig, radar, action, emulated, notes)


async def _open_plc(
    stack: AsyncExitStack, rig: RigConfig, emulated: list[str], notes: list[str]
) -> tuple[PlcDriver | None, Row]:
    """The PLC's driver, up (None: unreachable), and its ``plc.reachable`` row; no heartbeat."""
    where = "[plc] host and port" if rig.plc.transport == "tcp" else "[plc] url"
    action = f"check the network (or the RTU cable) and the PLC's power: {where} in the rig file"
    return await _open(stack, rig, plc_link(rig, heartbeat_hz=None), action, emulated, notes)


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
