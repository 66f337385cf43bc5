"""Rig files (``configs/rigs/*.toml``): where a bench's devices are and how the rig may run.

Resources only: ports, addresses, site geometry. Drivers decide how to talk to them.

Layout::

    [rig]        name, mode (bench | emulate | sim | replay), allow_emulation_fallback
    [radar]      serial link (pyserial URL, baud) and antenna site (ENU m, north alignment)
    [plc]        Modbus link (tcp: host/port, rtu: pyserial URL/baud), unit id, timeouts
    [launcher]   launcher site (ENU m)
    [tracker]    tracker tuning (``hil.config.tracker``; defaults fit the ICD radar)
    [fire_control]  defended point, interceptor, engagement limits, interlock thresholds
    [preflight]  limits of ``hil rig check`` (``hil.config.preflight``, docs/preflight.md)
    [telemetry]  optional: live telemetry over MQTT (``hil.config.telemetry``)
    [results]    optional: the results store of its campaigns (``hil.config.results``)
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, ValidationInfo, field_validator

from hil.config.fields import ConfigModel, Vec3
from hil.config.fire_control import FireControlConfig
from hil.config.preflight import PreflightConfig
from hil.config.results import ResultsStoreConfig
from hil.config.telemetry import TelemetryConfig, topic_segment_problem
from hil.config.tracker import TrackerConfig

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
    radar: RadarLink = Field(default_factory=RadarLink, validate_default=True)
    plc: PlcLink = Field(default_factory=PlcLink, validate_default=True)
    launcher: LauncherSite = LauncherSite()
    tracker: TrackerConfig = TrackerConfig()
    fire_control: FireControlConfig = FireControlConfig()
    preflight: PreflightConfig = PreflightConfig()
    telemetry: TelemetryConfig | None = None
    """Live telemetry (docs/telemetry.md); None: none is started."""
    results: ResultsStoreConfig | None = None
    """The results store of campaigns on this rig (docs/results-store.md); None: the default."""

    @field_validator("telemetry")
    @classmethod
    def _telemetry_topic(
        cls, telemetry: TelemetryConfig | None, info: ValidationInfo
    ) -> TelemetryConfig | None:
        rig = info.data.get("rig")
        if telemetry is not None and not telemetry.rig_name and isinstance(rig, RigInfo):
            problem = topic_segment_problem(rig.name)
            if problem:
                raise ValueError(
                    f"rig.name {rig.name!r} cannot be the topic level hil/<rig>/ ({problem}); "
                    "set telemetry.rig_name"
                )
        return telemetry

    @property
    def telemetry_rig_name(self) -> str:
        """The ``<rig>`` of the telemetry topics ``hil/<rig>/...``."""
        named = self.telemetry.rig_name if self.telemetry is not None else ""
        return named or self.rig.name

    @field_validator("radar")
    @classmethod
    def _bench_radar(cls, radar: RadarLink, info: ValidationInfo) -> RadarLink:
        if _is_bench(info) and not radar.url:
            raise ValueError(
                "url is required in mode 'bench': the radar's serial port, "
                'e.g. url = "/dev/ttyUSB0"'
            )
        return radar

    @field_validator("plc")
    @classmethod
    def _bench_plc(cls, plc: PlcLink, info: ValidationInfo) -> PlcLink:
        if _is_bench(info) and plc.transport == "rtu" and not plc.url:
            raise ValueError(
                "url is required for Modbus RTU in mode 'bench': the PLC's serial "
                'port, e.g. url = "/dev/ttyUSB1"'
            )
        if _is_bench(info) and plc.transport == "tcp" and plc.port == 0:
            raise ValueError(
                "port 0 means 'any free port', which only an emulator can use; "
                "the bench PLC listens on port 502"
            )
        return plc


def _is_bench(info: ValidationInfo) -> bool:
    rig = info.data.get("rig")
    return isinstance(rig, RigInfo) and rig.mode == "bench"
