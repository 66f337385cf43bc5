"""The sensor model's dwell as it was before its draws were taken up front (the oracle
``tests/test_sensor_stream.py`` compares ``RadarSensor.observe`` with, bit for bit): the same
seed must give the same detections, so the sim digests do not change with the rewrite."""

from __future__ import annotations

import math

import numpy as np

from sim.coordinates import FloatArray, wrap_pi
from sim.scan import AntennaPose
from sim.sensor import CLUTTER_ID, FLAG_MULTIPATH, FLAG_SATURATED, Dwell, RadarSensor
from sim.targets import IntArray, TruthState


def observe(
    self: RadarSensor, pose: AntennaPose, truth: TruthState, rng: np.random.Generator
) -> Dwell:
    """Simulate the dwell centred at ``pose.t_s`` with every random draw taken from ``rng``.

    Draw order per dwell (fixed, for determinism): detection trials, target measurement noise,
    target SNR excess, clutter count, clutter values.
    """
    p = self.parameters
    half_beam = 0.5 * (p.beamwidth_az_rad + pose.sweep_rad)
    rows, offset, slant, elevation = _illuminated(self, pose, truth, half_beam)
    mean_snr_db = p.snr_db(slant, truth.rcs_m2[rows])
    pd = p.detection_probability(mean_snr_db)
    detected = rng.random(len(rows)) < pd
    hits = rows[detected]
    k = len(hits)
    measured = np.empty((k, 4))  # columns: range m, turntable az rad, elevation rad, vr m/s
    power = np.empty(k)
    if k:
        noise = rng.standard_normal((k, 4))
        excess = rng.standard_exponential(k)
        d_hit = offset[detected]
        measured[:, 0] = slant[detected]
        measured[:, 1] = np.arctan2(d_hit[:, 0], d_hit[:, 1]) - p.north_alignment_rad
        measured[:, 2] = elevation[detected]
        measured[:, 3] = np.einsum("ij,ij->i", d_hit, truth.velocity_enu_mps[hits]) / measured[:, 0]
        multipath = measured[:, 2] < p.multipath_el_rad
        measured += noise * self._sigmas
        power = (1.0 + np.power(10.0, mean_snr_db[detected] / 10.0)) * excess
    n_clutter = int(rng.poisson(p.clutter_per_dwell)) if p.clutter_per_dwell > 0 else 0
    truth_id = truth.target_id[hits]
    if n_clutter:
        draws = rng.random((n_clutter, 5))
        clutter = self._clutter_low + self._clutter_span * draws[:, :4]
        clutter[:, 1] = pose.az_rad + half_beam * (2.0 * draws[:, 1] - 1.0)
        measured = np.concatenate((measured, clutter))
        power = np.concatenate((power, -np.log1p(-draws[:, 4])))  # Exp(1) by inversion
        truth_id = np.concatenate((truth_id, np.full(n_clutter, CLUTTER_ID, dtype=np.int64)))
    snr_db = 10.0 * np.log10(power + (self._threshold - 1.0))
    flags = np.zeros(len(power), dtype=np.uint16)
    if len(power):
        np.maximum(measured[:, 0], 0.0, out=measured[:, 0])
        measured[:, 1] = wrap_pi(measured[:, 1])
        flags[snr_db >= p.saturation_snr_db] |= FLAG_SATURATED
        if k:
            flags[:k][multipath] |= FLAG_MULTIPATH
        order = np.argsort(measured[:, 0], kind="stable")
        if len(order) > p.max_detections_per_dwell:
            strongest = np.argsort(-snr_db, kind="stable")[: p.max_detections_per_dwell]
            order = strongest[np.argsort(measured[strongest, 0], kind="stable")]
        measured, snr_db, flags, truth_id = (
            measured[order],
            snr_db[order],
            flags[order],
            truth_id[order],
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


def _illuminated(
    self: RadarSensor, pose: AntennaPose, truth: TruthState, half_beam: float
) -> tuple[IntArray, FloatArray, FloatArray, FloatArray]:
    """Rows of the targets the swept beam covers, their ENU offsets from the antenna (k, 3),
    slant ranges (m) and elevations (rad)."""
    p = self.parameters
    beam_bearing = p.north_alignment_rad + pose.az_rad
    position = truth.position_enu_m
    east = position[:, 0] - self._site[0]
    north = position[:, 1] - self._site[1]
    if half_beam < 0.5 * math.pi:
        # beam test without trigonometry: the horizontal offset along and across the beam
        sin_b, cos_b = math.sin(beam_bearing), math.cos(beam_bearing)
        along = east * sin_b + north * cos_b
        across = east * cos_b - north * sin_b
        in_beam = np.abs(across) <= math.tan(half_beam) * along
    else:
        in_beam = np.abs(wrap_pi(np.arctan2(east, north) - beam_bearing)) <= half_beam
    rows = np.flatnonzero(in_beam & truth.alive)
    offset = position[rows] - self._site
    horizontal = np.hypot(offset[:, 0], offset[:, 1])
    slant = np.hypot(horizontal, offset[:, 2])
    elevation = np.arctan2(offset[:, 2], horizontal)
    covered = (
        (elevation >= p.elevation_min_rad)
        & (elevation <= p.elevation_max_rad)
        & (slant >= p.range_min_m)
        & (slant <= p.range_max_m)
    )
    if covered.all():
        return rows, offset, slant, elevation
    return rows[covered], offset[covered], slant[covered], elevation[covered]
