"""Emulated-PLC files (``configs/plc/emulator*.toml``): the PLC program's own settings.

Layout::

    [plc_emulator]      rounds_at_power_on, default rate limits
    [[inhibit_sectors]] no-fire boxes: azimuth interval (degrees clockwise from north, may wrap
                        through north; [0, 0] = any azimuth) × elevation interval (degrees)

The sector form is ``hil.config.sectors.InhibitSectorConfig`` (re-exported here), the same form
as the rig's ``[[fire_control.inhibit_sectors]]``; the emulated PLC reads only this file's
(``hil.rig.emulators.plc_settings`` makes the emulator's ``PlcSettings`` of it).
"""

from __future__ import annotations

from typing import Annotated

from pydantic import Field

from hil.config.fields import ConfigModel, TableArray
from hil.config.sectors import InhibitSectorConfig as InhibitSectorConfig


class PlcEmulatorInfo(ConfigModel):
    rounds_at_power_on: Annotated[int, Field(ge=0, le=0xFFFF)] = 4
    az_rate_limit_mrad_s: Annotated[int, Field(ge=1, le=1000)] = 500
    el_rate_limit_mrad_s: Annotated[int, Field(ge=1, le=500)] = 250


class PlcEmulatorConfig(ConfigModel):
    plc_emulator: PlcEmulatorInfo
    inhibit_sectors: Annotated[tuple[InhibitSectorConfig, ...], TableArray] = ()
