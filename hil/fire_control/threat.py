"""Threat evaluation: which confirmed track to engage first.

The rule: a track is a threat unless excluded — farther than ``max_threat_range_m`` from the
defended point, receding from it (when ``exclude_receding``), or passing it by more than
``max_miss_distance_m`` at closest approach. Threats are ordered by time to closest approach
(CPA) to the defended point, soonest first, then by current range, nearest first, then by track
id (so the order is total and deterministic). Positions ENU (m), velocities ENU (m/s).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from hil.config.fire_control import FireControlConfig

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]


@dataclass(frozen=True, slots=True)
class ThreatOrder:
    """Rows of the input tracks that are threats, most urgent first, with per-row figures
    for every input track (time to CPA s, ≥ 0; miss distance m; range m)."""

    rows: IntArray
    time_to_cpa_s: FloatArray
    miss_distance_m: FloatArray
    range_m: FloatArray


def order_threats(
    ids: IntArray,
    position_enu_m: FloatArray,
    velocity_enu_mps: FloatArray,
    config: FireControlConfig,
) -> ThreatOrder:
    """Evaluate tracks (K,) with positions and velocities (K, 3) against the defended point."""
    relative = position_enu_m - np.asarray(config.defended_point_enu_m)
    speed2 = np.einsum("ki,ki->k", velocity_enu_mps, velocity_enu_mps)
    closing = -np.einsum("ki,ki->k", relative, velocity_enu_mps)  # > 0: approaching
    t_cpa = np.where(speed2 > 1e-9, np.maximum(closing, 0.0) / np.maximum(speed2, 1e-9), 0.0)
    miss = np.linalg.norm(relative + velocity_enu_mps * t_cpa[:, None], axis=1)
    distance = np.linalg.norm(relative, axis=1)
    threat = distance <= config.max_threat_range_m
    threat &= miss <= config.max_miss_distance_m
    if config.exclude_receding:
        threat &= closing > 0
    candidates = np.flatnonzero(threat)
    order = np.lexsort((ids[candidates], distance[candidates], t_cpa[candidates]))
    return ThreatOrder(candidates[order], t_cpa, miss, distance)
