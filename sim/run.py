"""Run the sensor model over a scenario, dwell by dwell, on a simulated clock."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass

import numpy as np

from sim.clock import SimClock
from sim.coordinates import FloatArray
from sim.scan import ScanPattern
from sim.sensor import Dwell, RadarSensor
from sim.targets import IntArray, TargetSet


@dataclass(frozen=True, slots=True)
class SimulationLog:
    """Every dwell of a run, flattened into one array per quantity.

    Dwell arrays have one row per dwell; detection arrays one row per detection, with
    ``detection_dwell`` the index of the dwell it belongs to. ``illuminated_*`` likewise list
    (dwell, target id, model P_d) for every target the beam covered.
    """

    dwell_t_s: FloatArray
    dwell_scan_id: IntArray
    dwell_antenna_az_rad: FloatArray
    dwell_antenna_el_rad: FloatArray
    detection_dwell: IntArray
    range_m: FloatArray
    az_rad: FloatArray
    el_rad: FloatArray
    vr_mps: FloatArray
    snr_db: FloatArray
    flags: np.ndarray[tuple[int], np.dtype[np.uint16]]
    truth_id: IntArray
    illuminated_dwell: IntArray
    illuminated_id: IntArray
    illuminated_pd: FloatArray

    @classmethod
    def from_dwells(cls, dwells: Sequence[Dwell], first_dwell: int = 0) -> SimulationLog:
        """The log of ``dwells``, numbered from ``first_dwell``."""

        def cat(name: str, dtype: type) -> np.ndarray:
            parts = [getattr(d, name) for d in dwells]
            return np.concatenate(parts).astype(dtype) if parts else np.empty(0, dtype)

        detections = np.array([len(d) for d in dwells], dtype=np.int64)
        illuminated = np.array([len(d.illuminated_id) for d in dwells], dtype=np.int64)
        index = np.arange(first_dwell, first_dwell + len(dwells), dtype=np.int64)
        return cls(
            dwell_t_s=np.array([d.pose.t_s for d in dwells], dtype=np.float64),
            dwell_scan_id=np.array([d.pose.scan_id for d in dwells], dtype=np.int64),
            dwell_antenna_az_rad=np.array([d.pose.az_rad for d in dwells], dtype=np.float64),
            dwell_antenna_el_rad=np.array([d.pose.el_rad for d in dwells], dtype=np.float64),
            detection_dwell=np.repeat(index, detections),
            range_m=cat("range_m", np.float64),
            az_rad=cat("az_rad", np.float64),
            el_rad=cat("el_rad", np.float64),
            vr_mps=cat("vr_mps", np.float64),
            snr_db=cat("snr_db", np.float64),
            flags=cat("flags", np.uint16),
            truth_id=cat("truth_id", np.int64),
            illuminated_dwell=np.repeat(index, illuminated),
            illuminated_id=cat("illuminated_id", np.int64),
            illuminated_pd=cat("illuminated_pd", np.float64),
        )

    @classmethod
    def concatenate(cls, logs: Sequence[SimulationLog]) -> SimulationLog:
        """One log from consecutive chunks (as ``simulate_chunks`` yields them)."""
        if not logs:
            return cls.from_dwells([])
        return cls(
            **{
                name: np.concatenate([getattr(log, name) for log in logs])
                for name in cls.__dataclass_fields__
            }
        )

    def as_arrays(self) -> dict[str, np.ndarray]:
        """The log as a name → array mapping (for ``numpy.savez``)."""
        return {name: getattr(self, name) for name in self.__dataclass_fields__}


CHUNK_DWELLS = 4096
"""Dwells per chunk of ``simulate_chunks``: big enough for numpy to pay, small enough that a
chunk of the per-dwell Python objects stays a few megabytes."""


def simulate_chunks(
    targets: TargetSet,
    sensor: RadarSensor,
    scan: ScanPattern,
    duration_s: float,
    rng: np.random.Generator,
    clock: SimClock | None = None,
    chunk_dwells: int = CHUNK_DWELLS,
) -> Iterator[SimulationLog]:
    """The dwells of ``simulate``, as logs of at most ``chunk_dwells`` consecutive dwells each
    (dwell indices count from the run's first dwell), computed only as they are consumed: a run
    of any length streams in constant memory."""
    clock = clock or SimClock()
    start = clock.now()
    dwells: list[Dwell] = []
    first_dwell = 0
    for t_s in scan.iter_dwell_centres(start, start + duration_s):
        clock.advance_to(t_s)
        dwells.append(sensor.observe(scan.pose_at(t_s), targets.state_at(t_s), rng))
        if len(dwells) == chunk_dwells:
            yield SimulationLog.from_dwells(dwells, first_dwell)
            first_dwell += len(dwells)
            dwells = []
    if dwells:
        yield SimulationLog.from_dwells(dwells, first_dwell)
    clock.advance_to(start + duration_s)


def simulate(
    targets: TargetSet,
    sensor: RadarSensor,
    scan: ScanPattern,
    duration_s: float,
    rng: np.random.Generator,
    clock: SimClock | None = None,
) -> SimulationLog:
    """Run every dwell that fits in [clock.now(), clock.now() + duration_s) as fast as possible.

    The clock (a fresh ``SimClock`` at 0 s by default) is advanced to each dwell centre and left
    at the end of the run. The log is held in compact arrays (tens of bytes per dwell); a run
    too long to hold whole streams through ``simulate_chunks``.
    """
    chunks = list(simulate_chunks(targets, sensor, scan, duration_s, rng, clock))
    return SimulationLog.concatenate(chunks)
