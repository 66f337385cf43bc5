"""Antenna scan patterns of the turntable radar: where the beam points at any dwell.

Azimuths are in the turntable frame (radians clockwise from the turntable's zero mark, see
``sim.coordinates``); times are seconds of scenario time. Dwell k is centred at (k + ½)·dwell_s.
"""

from __future__ import annotations

import enum
import math
from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np

from sim.coordinates import TWO_PI, FloatArray


class ScanMode(enum.IntEnum):
    """Radar modes with the ICD's numeric values (FAULT is a device state, never simulated)."""

    STANDBY = 0
    ROTATING = 1
    SECTOR = 2


@dataclass(frozen=True, slots=True)
class AntennaPose:
    """Beam pointing at the centre of one dwell.

    ``az_rad`` in [0, 2π) in the turntable frame; ``el_rad`` the boresight elevation;
    ``sweep_rad`` the azimuth arc the beam centre travels during the dwell (≥ 0);
    ``scan_id`` +1 per revolution (ROTATING) or per one-way sweep (SECTOR).
    """

    t_s: float
    scan_id: int
    az_rad: float
    el_rad: float
    sweep_rad: float


@dataclass(frozen=True, slots=True)
class ScanPattern:
    """A scan schedule. ``rate_rad_s`` is signed for ROTATING (positive clockwise); SECTOR uses
    its magnitude to sweep back and forth across ``sector_width_rad`` centred on
    ``sector_centre_rad``."""

    mode: ScanMode
    rate_rad_s: float
    dwell_s: float = 0.01
    start_az_rad: float = 0.0
    sector_centre_rad: float = 0.0
    sector_width_rad: float = 0.0
    boresight_el_rad: float = 0.0

    def __post_init__(self) -> None:
        if not self.dwell_s > 0:
            raise ValueError("dwell_s must be > 0")
        if not 0 <= self.sector_width_rad <= TWO_PI:
            raise ValueError("sector_width_rad must lie in [0, 2π]")

    @classmethod
    def from_rpm(cls, mode: ScanMode, rpm: float, **kwargs: float) -> ScanPattern:
        """A pattern whose rate is given in revolutions per minute (positive clockwise)."""
        return cls(mode, rpm * TWO_PI / 60.0, **kwargs)

    @property
    def dwell_sweep_rad(self) -> float:
        """The azimuth arc (rad) the beam centre travels during one dwell while moving."""
        return abs(self.rate_rad_s) * self.dwell_s

    def pose_at(self, t_s: float) -> AntennaPose:
        """Beam pose at scenario time ``t_s`` (s)."""
        sweep = self.dwell_sweep_rad
        if self.mode is ScanMode.SECTOR and self.sector_width_rad > 0:
            width = self.sector_width_rad
            travelled = abs(self.rate_rad_s) * t_s
            phase = math.fmod(travelled, 2.0 * width)
            offset = phase if phase < width else 2.0 * width - phase
            az = self.sector_centre_rad - 0.5 * width + offset
            scan_id = int(travelled // width)
        elif self.mode is ScanMode.SECTOR:
            az, scan_id, sweep = self.sector_centre_rad, 0, 0.0
        elif self.mode is ScanMode.ROTATING:
            az = self.start_az_rad + self.rate_rad_s * t_s
            scan_id = int(abs(self.rate_rad_s) * t_s // TWO_PI)
        else:
            az, scan_id, sweep = self.start_az_rad, 0, 0.0
        az = az % TWO_PI
        return AntennaPose(t_s, scan_id, 0.0 if az >= TWO_PI else az, self.boresight_el_rad, sweep)

    def dwell_centres(self, start_s: float, stop_s: float) -> FloatArray:
        """Centres (s) of the dwells that start at or after ``start_s`` and end by ``stop_s``.

        A radar in STANDBY transmits nothing and has no dwells. The array holds every dwell of
        the interval; a long run iterates ``iter_dwell_centres`` instead.
        """
        first, last = self._dwell_indices(start_s, stop_s)
        return (np.arange(first, last, dtype=np.float64) + 0.5) * self.dwell_s

    def iter_dwell_centres(self, start_s: float, stop_s: float) -> Iterator[float]:
        """The centres of ``dwell_centres`` one at a time (s), in constant memory whatever the
        length of the interval."""
        first, last = self._dwell_indices(start_s, stop_s)
        for index in range(first, last):
            yield (index + 0.5) * self.dwell_s

    def _dwell_indices(self, start_s: float, stop_s: float) -> tuple[int, int]:
        """[first, last) indices of the dwells inside [start_s, stop_s]."""
        if self.mode is ScanMode.STANDBY or stop_s <= start_s:
            return 0, 0
        first = math.ceil(start_s / self.dwell_s - 1e-9)
        last = math.floor(stop_s / self.dwell_s + 1e-9)
        return first, max(first, last)
