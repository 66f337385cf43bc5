"""No-fire sectors (ICD rule 6, revision 1.1): the geometry both sides of the link test.

A sector is a closed azimuth interval × a closed elevation interval, bounds included. Azimuth in
radians clockwise from north, in [0, 2π); elevation in radians above the horizon.

Why here: the emulated PLC (``firmware_stubs.plc``) and the software interlocks
(``hil.fire_control``) must both apply exactly this rule, and neither may own it — the
interlocks must not change when someone edits the emulator, and ``firmware_stubs`` may not
import ``hil``. ``sim`` is the shared, I/O-free geometry both may use. This module holds only
the rule, never a set of sectors: the PLC's sectors come from its own configuration
(``configs/plc/emulator*.toml``, or ``firmware_stubs.plc.model.PlcSettings`` for the emulator's
power-on default), the software's copy from the rig's ``[[fire_control.inhibit_sectors]]``
(default ``hil.config.fire_control.DEFAULT_SECTORS``), so each side keeps its own copy, as a
real PLC and its host do.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

TWO_PI = 2.0 * math.pi


def wrap(angle_rad: float) -> float:
    """``angle_rad`` in [0, 2π): unchanged if already there; a tiny negative angle, which ``%``
    rounds up to 2π itself, becomes 0."""
    wrapped = angle_rad % TWO_PI
    return 0.0 if wrapped >= TWO_PI else wrapped


@dataclass(frozen=True, slots=True)
class InhibitSector:
    """A no-fire box, ICD rule 6: the closed azimuth interval clockwise from ``az_from_rad`` to
    ``az_to_rad`` (both in [0, 2π); it wraps through north when from > to; from == to is every
    azimuth) × the closed elevation interval, radians. Bounds are included."""

    az_from_rad: float
    az_to_rad: float
    el_min_rad: float = -math.pi / 2
    el_max_rad: float = math.pi / 2

    def contains(self, az_rad: float, el_rad: float) -> bool:
        """Whether a pointing (azimuth in [0, 2π), elevation, rad) lies in the sector, bounds
        included. Plain comparisons (``wrap`` leaves an angle in [0, 2π) as it is): a bound is
        exactly inside, the next float beyond it exactly outside."""
        az_rad, low, high = wrap(az_rad), wrap(self.az_from_rad), wrap(self.az_to_rad)
        if low == high:
            inside_az = True
        elif low < high:
            inside_az = low <= az_rad <= high
        else:  # through north
            inside_az = az_rad >= low or az_rad <= high
        return inside_az and self.el_min_rad <= el_rad <= self.el_max_rad
