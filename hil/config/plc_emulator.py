"""Emulated-PLC files (``configs/plc/emulator*.toml``): the PLC program's own settings.

Layout::

    [plc_emulator]      rounds_at_power_on, default rate limits
    [[inhibit_sectors]] no-fire boxes: azimuth interval (degrees clockwise from north, may wrap
                        through north; [0, 0] = any azimuth) × elevation interval (degrees)
"""

from __future__ import annotations

import math
from typing import Annotated

from pydantic import Field

from firmware_stubs.plc.model import InhibitSector, PlcSettings
from hil.config.fields import ConfigModel, Interval, TableArray, ordered


class PlcEmulatorInfo(ConfigModel):
    rounds_at_power_on: Annotated[int, Field(ge=0, le=0xFFFF)] = 4
    az_rate_limit_mrad_s: Annotated[int, Field(ge=1, le=1000)] = 500
    el_rate_limit_mrad_s: Annotated[int, Field(ge=1, le=500)] = 250


class InhibitSectorConfig(ConfigModel):
    az_deg: Interval
    """[from, to], clockwise; [0, 0] means every azimuth."""
    el_deg: Interval = (-90.0, 90.0)

    def to_sector(self) -> InhibitSector:
        low, high = ordered(self.el_deg, "el_deg")
        return InhibitSector(
            math.radians(self.az_deg[0]) % (2 * math.pi),
            math.radians(self.az_deg[1]) % (2 * math.pi),
            math.radians(low),
            math.radians(high),
        )


class PlcEmulatorConfig(ConfigModel):
    plc_emulator: PlcEmulatorInfo
    inhibit_sectors: Annotated[tuple[InhibitSectorConfig, ...], TableArray] = ()

    def settings(self) -> PlcSettings:
        return PlcSettings(
            rounds_at_power_on=self.plc_emulator.rounds_at_power_on,
            inhibit_sectors=tuple(s.to_sector() for s in self.inhibit_sectors),
            az_rate_limit_mrad_s=self.plc_emulator.az_rate_limit_mrad_s,
            el_rate_limit_mrad_s=self.plc_emulator.el_rate_limit_mrad_s,
        )
