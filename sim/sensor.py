"""Turntable radar sensor model: what a dwell illuminates, what it detects, what it measures.

Geometry: the antenna phase centre sits at ``position_enu_m`` in the rig's ENU frame; measured
azimuths are in the turntable frame (``sim.coordinates``), elevations above the horizontal,
ranges are slant ranges from the phase centre, radial velocity is positive when receding.

Illumination: a live target is illuminated in a dwell when its azimuth lies within the beam as it
sweeps during the dwell (|Δaz| ≤ beamwidth/2 + sweep/2), its elevation within the elevation
coverage and its range within the instrumented range.

Detection: mean SNR follows the radar equation, SNR_dB = snr_ref_db + 10·log10(σ/σ_ref)
− 40·log10(R/R_ref). A Swerling-I (slowly fluctuating) target is detected by a square-law detector
with false-alarm probability P_fa with P_d = P_fa^(1/(1+SNR)). The reported SNR is drawn from the
same model: the detected power exceeds the threshold T = −ln P_fa by an exponential excess, so the
reported SNR of a detection is T + (1+SNR)·E − 1 with E ~ Exp(1); clutter reports T + E − 1.

Measurement noise: independent Gaussian errors on range, azimuth, elevation and radial velocity.

The arithmetic of a dwell runs in two compiled kernels (``sim._compiled``: why, and how they
keep the numpy model's bits); the random draws are numpy's, taken between them.

Clutter: a Poisson number of false alarms per dwell, uniform in range over the instrumented range,
in azimuth over the swept beam and in elevation over the coverage, with radial velocity uniform in
±clutter_vr_max_mps.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from sim import portable
from sim.coordinates import FloatArray
from sim.scan import AntennaPose
from sim.targets import IntArray, TruthState

UInt16Array = np.ndarray[tuple[int], np.dtype[np.uint16]]

FLAG_SATURATED = 1 << 0
FLAG_MULTIPATH = 1 << 1
CLUTTER_ID = -1
ICD_MAX_DETECTIONS = 203


@dataclass(frozen=True, slots=True)
class RadarParameters:
    """The radar's site and performance, all in SI units (metres, radians, seconds, m/s, dB)."""

    position_enu_m: tuple[float, float, float] = (0.0, 0.0, 0.0)
    north_alignment_rad: float = 0.0
    beamwidth_az_rad: float = np.deg2rad(2.0)
    elevation_min_rad: float = np.deg2rad(-5.0)
    elevation_max_rad: float = np.deg2rad(85.0)
    range_min_m: float = 100.0
    range_max_m: float = 20_000.0
    snr_ref_db: float = 20.0
    snr_ref_range_m: float = 10_000.0
    snr_ref_rcs_m2: float = 1.0
    pfa: float = 1e-6
    sigma_range_m: float = 5.0
    sigma_az_rad: float = 1e-3
    sigma_el_rad: float = 1e-3
    sigma_vr_mps: float = 0.5
    clutter_per_dwell: float = 0.0
    clutter_vr_max_mps: float = 30.0
    saturation_snr_db: float = 60.0
    multipath_el_rad: float = np.deg2rad(1.0)
    max_detections_per_dwell: int = ICD_MAX_DETECTIONS

    def __post_init__(self) -> None:
        checks = {
            "beamwidth_az_rad must be in (0, π]": 0 < self.beamwidth_az_rad <= np.pi,
            "elevation_min_rad must be < elevation_max_rad": self.elevation_min_rad
            < self.elevation_max_rad,
            "range_min_m must be ≥ 0 and < range_max_m": 0 <= self.range_min_m < self.range_max_m,
            "pfa must be in (0, 1)": 0 < self.pfa < 1,
            "noise sigmas must be ≥ 0": min(
                self.sigma_range_m, self.sigma_az_rad, self.sigma_el_rad, self.sigma_vr_mps
            )
            >= 0,
            "clutter_per_dwell must be ≥ 0": self.clutter_per_dwell >= 0,
            "snr_ref_range_m and snr_ref_rcs_m2 must be > 0": self.snr_ref_range_m > 0
            and self.snr_ref_rcs_m2 > 0,
            "max_detections_per_dwell must be ≥ 0": self.max_detections_per_dwell >= 0,
        }
        failed = [message for message, ok in checks.items() if not ok]
        if failed:
            raise ValueError("; ".join(failed))

    @property
    def threshold(self) -> float:
        """Detection threshold of the square-law detector, in units of the noise power."""
        return -math.log(self.pfa)

    def snr_db(self, range_m: FloatArray, rcs_m2: FloatArray) -> FloatArray:
        """Mean SNR (dB) of targets of RCS ``rcs_m2`` (m²) at slant range ``range_m`` (m)."""
        return (
            self.snr_ref_db
            + 10.0 * portable.log10(rcs_m2 / self.snr_ref_rcs_m2)
            - 40.0 * portable.log10(np.maximum(range_m, 1e-3) / self.snr_ref_range_m)
        )

    def detection_probability(self, snr_db: FloatArray) -> FloatArray:
        """Swerling-I P_d for mean SNR ``snr_db`` (dB) at this radar's P_fa."""
        return portable.power(self.pfa, 1.0 / (1.0 + portable.power(10.0, snr_db / 10.0)))


@dataclass(frozen=True, slots=True)
class Dwell:
    """What one dwell produced, one array per quantity, detections sorted by range.

    Detections: ``range_m`` (m), ``az_rad`` (turntable frame, (−π, π]), ``el_rad`` (rad),
    ``vr_mps`` (m/s, + receding), ``snr_db`` (dB), ``flags`` (ICD bits), and the ground truth
    ``truth_id`` (target id, or −1 for clutter) kept for scoring. ``illuminated_id`` lists the
    targets the beam covered, with their model detection probability ``illuminated_pd``.
    """

    pose: AntennaPose
    range_m: FloatArray
    az_rad: FloatArray
    el_rad: FloatArray
    vr_mps: FloatArray
    snr_db: FloatArray
    flags: UInt16Array
    truth_id: IntArray
    illuminated_id: IntArray
    illuminated_pd: FloatArray

    def __len__(self) -> int:
        return len(self.range_m)


_NO_NOISE = np.empty((0, 4))
_NO_EXCESS = np.empty(0)
_NO_DRAWS = np.empty((0, 5))


class RadarSensor:
    """Turns ground truth and an antenna pose into the detections of one dwell."""

    def __init__(self, parameters: RadarParameters) -> None:
        self.parameters = parameters
        p = parameters
        self._site = np.asarray(p.position_enu_m, dtype=np.float64)
        self._sigmas = np.array([p.sigma_range_m, p.sigma_az_rad, p.sigma_el_rad, p.sigma_vr_mps])
        # clutter columns: range uniform over coverage; azimuth offset added per dwell;
        # elevation uniform over coverage; radial velocity uniform in ±clutter_vr_max_mps
        self._clutter_low = np.array(
            [p.range_min_m, 0.0, p.elevation_min_rad, -p.clutter_vr_max_mps]
        )
        self._clutter_span = np.array(
            [
                p.range_max_m - p.range_min_m,
                0.0,
                p.elevation_max_rad - p.elevation_min_rad,
                2.0 * p.clutter_vr_max_mps,
            ]
        )
        self._threshold = p.threshold
        # the compiled kernels (numba) load with the first sensor, not with the module: the
        # emulators and commands that only name sim's types start without the compiler; and
        # they are compiled (or loaded from numba's cache) here, on an empty dwell, not in the
        # first dwell, which an emulated radar must deliver on time
        from sim._compiled import warm_up

        self._illuminate, self._measure = warm_up()

    def observe(self, pose: AntennaPose, truth: TruthState, rng: np.random.Generator) -> Dwell:
        """Simulate the dwell centred at ``pose.t_s`` with every random draw taken from ``rng``.

        Draw order per dwell (fixed, for determinism): detection trials, target measurement noise,
        target SNR excess, clutter count, clutter values.
        """
        p = self.parameters
        half_beam = 0.5 * (p.beamwidth_az_rad + pose.sweep_rad)
        # one memory layout for the kernels, whoever built the truth (sim's targets hand over
        # component-major views, the emulated radar's a row-major copy; a one-row array is
        # typed row-major whatever it is): another layout would compile a second
        # specialisation in the first dwell — seconds on an empty cache, the link waiting
        position = np.ascontiguousarray(truth.position_enu_m)
        velocity = np.ascontiguousarray(truth.velocity_enu_mps)
        rows, offset, slant, elevation, mean_snr_db, pd = self._illuminate(
            position,
            truth.alive,
            truth.rcs_m2,
            self._site,
            p.north_alignment_rad + pose.az_rad,
            half_beam,
            p.elevation_min_rad,
            p.elevation_max_rad,
            p.range_min_m,
            p.range_max_m,
            p.snr_ref_db,
            p.snr_ref_rcs_m2,
            p.snr_ref_range_m,
            p.pfa,
        )
        detected = rng.random(len(rows)) < pd
        k = int(np.count_nonzero(detected))
        noise = rng.standard_normal((k, 4)) if k else _NO_NOISE
        excess = rng.standard_exponential(k) if k else _NO_EXCESS
        n_clutter = int(rng.poisson(p.clutter_per_dwell)) if p.clutter_per_dwell > 0 else 0
        draws = rng.random((n_clutter, 5)) if n_clutter else _NO_DRAWS
        measured, snr_db, flags, truth_id = self._measure(
            detected,
            slant,
            offset,
            elevation,
            mean_snr_db,
            velocity,
            rows,
            truth.target_id,
            noise,
            excess,
            draws,
            self._sigmas,
            self._clutter_low,
            self._clutter_span,
            p.north_alignment_rad,
            float(p.multipath_el_rad),
            pose.az_rad,
            half_beam,
            self._threshold,
            p.saturation_snr_db,
            p.max_detections_per_dwell,
        )
        return Dwell(
            pose,
            measured[:, 0],
            measured[:, 1],
            measured[:, 2],
            measured[:, 3],
            snr_db,
            flags,
            truth_id,
            truth.target_id[rows],
            pd,
        )
