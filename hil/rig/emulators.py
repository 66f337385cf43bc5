"""The emulated devices: each in a child process (`hil stub radar|plc`), as an operator
starts one; what the emulated radar's firmware and the emulated PLC are built from.

The child never outlives this process: it gets ``--parent-pid`` (so it stops at end of file on
the stdin pipe held here, and on Linux at its parent-death signal) and it runs in its own
session, so a terminal's Ctrl-C (SIGINT to the whole foreground process group) reaches only the
parent, which can then make the rig safe before it stops the child. Start children from a
thread that lives as long as they should (Linux's parent-death signal follows the thread).

Its stderr is read all along (a full pipe would block the emulator), keeping the last lines.
Once it has exited, a pty link it left behind (it was SIGKILLed) is removed with its temporary
directory (``firmware_stubs.ptys.remove_dead_link``).

The emulated radar's firmware is built from a scenario (``build_radar_firmware``); the emulated
PLC (child process or in-process model) from an emulated-PLC file (``plc_settings``; default
``EMULATED_PLC_SETTINGS``).
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import math
import os
import sys
from pathlib import Path
from typing import ClassVar, Self
from urllib.parse import urlsplit

import numpy as np

from firmware_stubs.plc.model import PlcSettings
from firmware_stubs.ptys import remove_dead_link
from firmware_stubs.radar.firmware import RadarFirmware
from hil.config.bundled import bundled_file
from hil.config.loader import load_plc_emulator
from hil.config.plc_emulator import PlcEmulatorConfig
from hil.config.scenario import ScenarioConfig
from hil.errors import HilError
from hil.loop.sim_scenario import build_targets, radar_parameters
from sim.sensor import RadarSensor

READY_TIMEOUT_S = 20.0
STOP_TIMEOUT_S = 5.0
"""After SIGTERM, how long the child gets to stop before it is killed."""
STDERR_LINES = 200
EMULATED_PLC_SETTINGS = bundled_file("plc/emulator-default.toml")
"""The emulated PLC's program settings (rounds, rate limits, inhibit sectors) when none given."""


class StubProcess:
    """`hil stub <DEVICE>` in a child process; ``url`` comes from its READY line. ``start``
    raises ``HilError`` (with the stub's last stderr line) if it does not come up."""

    DEVICE: ClassVar[str]

    def __init__(
        self, process: asyncio.subprocess.Process, url: str, extras: dict[str, str] | None = None
    ) -> None:
        self.process = process
        self.url = url
        self.extras = extras or {}
        """The READY line's ``key=value`` words after the URL (the radar's ``control``)."""
        self._stderr: collections.deque[str] = collections.deque(maxlen=STDERR_LINES)
        self._stderr_reader = asyncio.create_task(
            self._read_stderr(), name=f"stderr of hil stub {self.DEVICE}"
        )

    @classmethod
    async def start(cls, *args: str) -> Self:
        process = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "hil",
            "stub",
            cls.DEVICE,
            *args,
            "--parent-pid",
            str(os.getpid()),
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
            start_new_session=True,
        )
        assert process.stdout is not None
        try:
            async with asyncio.timeout(READY_TIMEOUT_S):
                line = await process.stdout.readline()
        except BaseException as error:
            kill_if_running(process)
            _, err = await process.communicate()
            if isinstance(error, TimeoutError):
                raise HilError(
                    f"hil stub {cls.DEVICE} printed no READY line within {READY_TIMEOUT_S:g} s"
                    f"{_last_line(err)}"
                ) from error
            raise
        if not line.startswith(b"READY "):
            kill_if_running(process)  # most likely exited already (a busy port, a bad option)
            _, err = await process.communicate()
            raise HilError(f"hil stub {cls.DEVICE} did not start{_last_line(err)}")
        url, *words = line.decode().split()[1:]
        return cls(process, url, dict(word.partition("=")[::2] for word in words))

    @property
    def link(self) -> Path | None:
        """The pty link clients open, for a pty device (None for TCP)."""
        parts = urlsplit(self.url)
        if parts.scheme in ("", "rtu"):
            return Path(parts.netloc + parts.path)
        return None

    async def stop(self, kill: bool = False) -> tuple[int, str, str]:
        """SIGTERM (or SIGKILL) and wait: exit code, the rest of stdout, the last lines of
        stderr. A child that does not stop within ``STOP_TIMEOUT_S`` is killed."""
        process = self.process
        if process.returncode is None:
            (process.kill if kill else process.terminate)()
        try:
            async with asyncio.timeout(STOP_TIMEOUT_S):
                await process.wait()
        except TimeoutError:
            kill_if_running(process)
            await process.wait()
        assert process.stdin is not None and process.stdout is not None
        process.stdin.close()
        out = await process.stdout.read()
        await self._stderr_reader
        if self.link is not None:
            remove_dead_link(self.link)
        assert process.returncode is not None
        return process.returncode, out.decode(), "".join(self._stderr)

    async def _read_stderr(self) -> None:
        assert self.process.stderr is not None
        async for line in self.process.stderr:
            self._stderr.append(line.decode(errors="replace"))


def kill_if_running(process: asyncio.subprocess.Process) -> None:
    """SIGKILL, unless the process has ended already: asyncio raises ProcessLookupError for a
    child whose exit it has seen (a stub that failed to start often has, by the time its
    closed stdout is read)."""
    with contextlib.suppress(ProcessLookupError):
        process.kill()


def _last_line(stderr: bytes) -> str:
    lines = stderr.decode(errors="replace").strip().splitlines()
    return f": {lines[-1]}" if lines else ""


class RadarStubProcess(StubProcess):
    DEVICE = "radar"

    @property
    def control_url(self) -> str | None:
        """The emulator's control port (started with ``--control``), else None."""
        return self.extras.get("control")


class PlcStubProcess(StubProcess):
    DEVICE = "plc"


def build_radar_firmware(
    config: ScenarioConfig, seed: int, rotate_rpm: float | None = None
) -> RadarFirmware:
    """Firmware whose detections come from the scenario's ``real`` targets (``injected`` ones are
    the loop's to add); STANDBY at power-on unless ``rotate_rpm`` is given. ``seed`` drives the
    sensor noise, detections and clutter."""
    radar = config.radar
    firmware = RadarFirmware(
        RadarSensor(radar_parameters(radar)),
        build_targets(config, "real"),
        np.random.default_rng(seed),
        dwell_s=radar.dwell_s,
        sector_centre_rad=math.radians(radar.sector_centre_deg),
        sector_width_rad=math.radians(radar.sector_width_deg),
        boresight_el_rad=math.radians(radar.boresight_el_deg),
    )
    if rotate_rpm is not None:
        firmware.start_rotating(rotate_rpm)
    return firmware


def plc_settings(config: PlcEmulatorConfig) -> PlcSettings:
    """The emulated PLC program's settings from an emulated-PLC file (degrees → radians)."""
    return PlcSettings(
        rounds_at_power_on=config.plc_emulator.rounds_at_power_on,
        inhibit_sectors=tuple(s.to_sector() for s in config.inhibit_sectors),
        az_rate_limit_mrad_s=config.plc_emulator.az_rate_limit_mrad_s,
        el_rate_limit_mrad_s=config.plc_emulator.el_rate_limit_mrad_s,
    )


def load_plc_settings(path: Path = EMULATED_PLC_SETTINGS) -> PlcSettings:
    """``plc_settings`` of the emulated-PLC file at ``path`` (``ConfigError`` if invalid)."""
    return plc_settings(load_plc_emulator(path))
