"""Rig files (``configs/rigs/*.toml``): where a bench's devices are and how the rig may run.

Resources only: ports, addresses, site geometry. Drivers decide how to talk to them.

Layout::

    [rig]        name, mode (bench | emulate | sim | replay), allow_emulation_fallback
    [radar]      serial link (pyserial URL, baud) and antenna site (ENU m, north alignment)
    [plc]        Modbus link (tcp: host/port, rtu: pyserial URL/baud), unit id, timeouts
    [launcher]   launcher site (ENU m)
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, model_validator

from hil.config.fields import ConfigModel, Vec3

RigMode = Literal["bench", "emulate", "sim", "replay"]


class RigInfo(ConfigModel):
    name: str = Field(min_length=1)
    description: str = ""
    mode: RigMode = "sim"
    allow_emulation_fallback: bool = False
    """In ``bench`` mode, run against the emulators when a device is missing. Off by default;
    when used, every result says so."""


class RadarLink(ConfigModel):
    """The radar turntable's serial link and antenna site."""

    url: str = ""
    """Any pyserial URL: ``/dev/ttyUSB0``, ``socket://host:port``, ``rfc2217://host:port``."""
    baud: Literal[115200, 460800, 921600, 3000000] = 921600
    position_enu_m: Vec3 = (0.0, 0.0, 0.0)
    """Antenna phase centre in the rig's ENU frame (m)."""
    north_alignment_deg: Annotated[float, Field(ge=-360, le=360)] = 0.0
    """True bearing of the turntable's zero mark (degrees clockwise from north)."""


class PlcLink(ConfigModel):
    """The launcher PLC's Modbus link."""

    transport: Literal["tcp", "rtu"] = "tcp"
    host: str = "127.0.0.1"
    port: Annotated[int, Field(ge=0, le=65535)] = 502
    url: str = ""
    """RTU only: any pyserial URL."""
    baud: Literal[9600, 19200, 38400, 57600, 115200] = 115200
    unit_id: Annotated[int, Field(ge=1, le=247)] = 1
    timeout_s: Annotated[float, Field(gt=0, le=10)] = 0.2
    retries: Annotated[int, Field(ge=0, le=10)] = 2


class LauncherSite(ConfigModel):
    position_enu_m: Vec3 = (0.0, 0.0, 0.0)
    """Launcher pivot in the rig's ENU frame (m)."""


class RigConfig(ConfigModel):
    """A whole rig file."""

    rig: RigInfo
    radar: RadarLink = RadarLink()
    plc: PlcLink = PlcLink()
    launcher: LauncherSite = LauncherSite()

    @model_validator(mode="after")
    def _bench_needs_devices(self) -> RigConfig:
        if self.rig.mode != "bench":
            return self
        missing = []
        if not self.radar.url:
            missing.append("radar.url (the radar's serial port, e.g. /dev/ttyUSB0)")
        if self.plc.transport == "rtu" and not self.plc.url:
            missing.append("plc.url (the PLC's serial port for Modbus RTU)")
        if self.plc.transport == "tcp" and self.plc.port == 0:
            missing.append("plc.port (the PLC's Modbus TCP port, usually 502)")
        if missing:
            raise ValueError("mode 'bench' needs " + " and ".join(missing))
        return self
