"""A no-fire sector as a config file writes it, shared by the rig's
``[[fire_control.inhibit_sectors]]`` and the emulated PLC's ``[[inhibit_sectors]]``.

Degrees in the file: ``az_deg`` = [from, to] clockwise from north (wraps through north when
from > to; [0, 0] = every azimuth), ``el_deg`` = [low, high] above the horizon; bounds included
(ICD rule 6). ``to_sector`` gives the radian form whose geometry lives in ``sim.sectors``. This
module imports nothing from ``firmware_stubs``, so the fire-control config can use it without
depending on the emulator.
"""

from __future__ import annotations

import math

from hil.config.fields import ConfigModel, Interval, ordered
from sim.sectors import InhibitSector


class InhibitSectorConfig(ConfigModel):
    az_deg: Interval
    """[from, to], clockwise; [0, 0] means every azimuth."""
    el_deg: Interval = (-90.0, 90.0)

    def to_sector(self) -> InhibitSector:
        """The sector in radians, azimuths wrapped to [0, 2π)."""
        low, high = ordered(self.el_deg, "el_deg")
        return InhibitSector(
            math.radians(self.az_deg[0]) % (2 * math.pi),
            math.radians(self.az_deg[1]) % (2 * math.pi),
            math.radians(low),
            math.radians(high),
        )
