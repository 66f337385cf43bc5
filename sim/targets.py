"""A scenario's targets as one set: static attributes plus grouped motion, evaluated all at once."""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from sim.coordinates import FloatArray
from sim.motion import MotionGroup

IntArray = npt.NDArray[np.int64]
BoolArray = npt.NDArray[np.bool_]


@dataclass(frozen=True, slots=True)
class TruthState:
    """Ground truth of every target at one instant (rows in ``TargetSet`` order).

    ``position_enu_m`` and ``velocity_enu_mps`` are (N, 3) in the rig's ENU frame (metres, m/s),
    stored component-major: each is the transposed view of a contiguous (3, N) array, so a column
    such as ``position_enu_m[:, 2]`` is contiguous. ``alive`` says which targets exist at ``t_s``
    (birth ≤ t < death).
    """

    t_s: float
    target_id: IntArray
    position_enu_m: FloatArray
    velocity_enu_mps: FloatArray
    alive: BoolArray
    rcs_m2: FloatArray


@dataclass(frozen=True, slots=True)
class TargetGroup:
    """One motion group and the ids of its targets, in the group's row order."""

    motion: MotionGroup
    target_id: Sequence[int]
    birth_s: Sequence[float]
    death_s: Sequence[float]
    rcs_m2: Sequence[float]


class TargetSet:
    """All targets of a scenario. Rows are ordered group by group; ``target_id`` maps row → id."""

    def __init__(self, groups: Sequence[TargetGroup], names: Sequence[str] = ()) -> None:
        groups = [g for g in groups if g.motion.size]
        for group in groups:
            sizes = {
                group.motion.size,
                len(group.target_id),
                len(group.birth_s),
                len(group.death_s),
                len(group.rcs_m2),
            }
            if len(sizes) != 1:
                raise ValueError("a target group's attribute arrays must all match its size")
        self._groups = [g.motion for g in groups]
        bounds = np.cumsum([0, *(g.motion.size for g in groups)])
        self._slices = [slice(int(a), int(b)) for a, b in itertools.pairwise(bounds)]
        self.target_id: IntArray = np.array(
            [i for g in groups for i in g.target_id], dtype=np.int64
        )
        if len(np.unique(self.target_id)) != len(self.target_id):
            raise ValueError("target ids must be unique")
        self.birth_s: FloatArray = np.array(
            [t for g in groups for t in g.birth_s], dtype=np.float64
        )
        self.death_s: FloatArray = np.array(
            [t for g in groups for t in g.death_s], dtype=np.float64
        )
        self.rcs_m2: FloatArray = np.array([r for g in groups for r in g.rcs_m2], dtype=np.float64)
        self.names: tuple[str, ...] = (
            tuple(names) if names else tuple(f"target-{i}" for i in sorted(self.target_id))
        )
        if len(self.target_id) and len(self.names) <= int(self.target_id.max()):
            raise ValueError("one name per target id (names are indexed by id)")

    def __len__(self) -> int:
        return len(self.target_id)

    def name_of(self, target_id: int) -> str:
        """The scenario name of a target id (ids are 0..N−1 in scenario order)."""
        return self.names[target_id]

    def state_at(self, t_s: float) -> TruthState:
        """Positions, velocities and liveness of every target at scenario time ``t_s`` (s)."""
        if len(self._groups) == 1:
            position, velocity = self._groups[0].state_at(t_s)
        else:
            count = len(self.target_id)
            position = np.empty((3, count))
            velocity = np.empty((3, count))
            for motion, rows in zip(self._groups, self._slices, strict=True):
                position[:, rows], velocity[:, rows] = motion.state_at(t_s)
        alive = (self.birth_s <= t_s) & (t_s < self.death_s)
        return TruthState(t_s, self.target_id, position.T, velocity.T, alive, self.rcs_m2)
