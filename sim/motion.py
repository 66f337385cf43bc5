"""Motion models, each propagating a whole group of targets at once.

Every group answers ``state_at(t_s) -> (position_enu_m, velocity_enu_mps)``, two component-major
(3, n) arrays (rows east, north, up) in the rig's ENU frame (metres, metres/second), for scenario
time ``t_s`` in seconds. Component-major keeps each quantity contiguous, so every operation is a
long vector operation instead of a broadcast over rows of three. States are exact
closed forms of the model (or, for ballistic flight with drag, a dense table from an adaptive ODE
solver, interpolated with cubic Hermite polynomials), so evaluating a time never accumulates error
and any dwell can be evaluated in any order. Whether a target exists at ``t_s`` is the caller's
business (see ``sim.targets``); groups extrapolate outside their targets' lifetimes.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Protocol

import numpy as np
import numpy.typing as npt

from sim import portable
from sim.coordinates import FloatArray

STANDARD_GRAVITY_MPS2 = 9.80665
SEA_LEVEL_AIR_DENSITY_KG_M3 = 1.225
ATMOSPHERE_SCALE_HEIGHT_M = 8500.0


class MotionGroup(Protocol):
    """A batch of targets sharing one motion model."""

    @property
    def size(self) -> int: ...

    def state_at(self, t_s: float) -> tuple[FloatArray, FloatArray]: ...


def _as_rows(values: npt.ArrayLike, name: str, width: int = 3) -> FloatArray:
    array = np.asarray(values, dtype=np.float64).reshape(-1, width)
    if not np.all(np.isfinite(array)):
        raise ValueError(f"{name} must be finite")
    return array


def _as_components(values: npt.ArrayLike, name: str) -> FloatArray:
    """(n, 3) rows → a contiguous (3, n) component-major array."""
    return np.ascontiguousarray(_as_rows(values, name).T)


class ConstantVelocity:
    """p(t) = p₀ + v·(t − t₀), with the state (p₀, v) given at reference time t₀ (s)."""

    def __init__(
        self, t0_s: npt.ArrayLike, position_enu_m: npt.ArrayLike, velocity_enu_mps: npt.ArrayLike
    ) -> None:
        self._p0 = _as_components(position_enu_m, "position_enu_m")
        self._v = _as_components(velocity_enu_mps, "velocity_enu_mps")
        self._t0 = np.asarray(t0_s, dtype=np.float64).reshape(-1)

    @property
    def size(self) -> int:
        return len(self._t0)

    def state_at(self, t_s: float) -> tuple[FloatArray, FloatArray]:
        return self._p0 + self._v * (t_s - self._t0), self._v


class ConstantAcceleration:
    """p(t) = p₀ + v₀τ + ½aτ², v(t) = v₀ + aτ with τ = t − t₀ (SI units, ENU)."""

    def __init__(
        self,
        t0_s: npt.ArrayLike,
        position_enu_m: npt.ArrayLike,
        velocity_enu_mps: npt.ArrayLike,
        acceleration_enu_mps2: npt.ArrayLike,
    ) -> None:
        self._p0 = _as_components(position_enu_m, "position_enu_m")
        self._v0 = _as_components(velocity_enu_mps, "velocity_enu_mps")
        self._a = _as_components(acceleration_enu_mps2, "acceleration_enu_mps2")
        self._t0 = np.asarray(t0_s, dtype=np.float64).reshape(-1)

    @property
    def size(self) -> int:
        return len(self._t0)

    def state_at(self, t_s: float) -> tuple[FloatArray, FloatArray]:
        tau = t_s - self._t0
        return self._p0 + (self._v0 + 0.5 * self._a * tau) * tau, self._v0 + self._a * tau


class CoordinatedTurn:
    """Horizontal turn at a constant rate and speed; vertical velocity constant.

    ``turn_rate_rad_s`` is positive for a right turn (clockwise seen from above, heading
    increasing), matching the clockwise-from-north bearing convention. The horizontal velocity
    rotates by −ω·τ in the mathematical (counter-clockwise) sense of the east-north plane.
    """

    def __init__(
        self,
        t0_s: npt.ArrayLike,
        position_enu_m: npt.ArrayLike,
        velocity_enu_mps: npt.ArrayLike,
        turn_rate_rad_s: npt.ArrayLike,
    ) -> None:
        self._p0 = _as_components(position_enu_m, "position_enu_m")
        self._v0 = _as_components(velocity_enu_mps, "velocity_enu_mps")
        self._t0 = np.asarray(t0_s, dtype=np.float64).reshape(-1)
        self._omega_ccw = -np.asarray(turn_rate_rad_s, dtype=np.float64).reshape(-1)

    @property
    def size(self) -> int:
        return len(self._t0)

    def state_at(self, t_s: float) -> tuple[FloatArray, FloatArray]:
        tau = t_s - self._t0
        w = self._omega_ccw
        wt = w * tau
        sin_wt = portable.sin(wt)
        cos_wt = portable.cos(wt)
        straight = np.abs(w) < 1e-12
        safe_w = np.where(straight, 1.0, w)
        # ∫₀^τ R(ωs) ds = [[S, −C], [C, S]] with S = sin(ωτ)/ω, C = (1 − cos(ωτ))/ω
        s_term = np.where(straight, tau, sin_wt / safe_w)
        c_term = np.where(straight, 0.0, (1.0 - cos_wt) / safe_w)
        ve, vn, vu = self._v0
        position = np.empty_like(self._p0)
        position[0] = self._p0[0] + s_term * ve - c_term * vn
        position[1] = self._p0[1] + c_term * ve + s_term * vn
        position[2] = self._p0[2] + vu * tau
        velocity = np.empty_like(self._v0)
        velocity[0] = cos_wt * ve - sin_wt * vn
        velocity[1] = sin_wt * ve + cos_wt * vn
        velocity[2] = vu
        return position, velocity


def _ballistic_rhs(ballistic_coefficient_kg_m2: float) -> Callable[[float, FloatArray], FloatArray]:
    inverse_beta = (
        0.0 if not np.isfinite(ballistic_coefficient_kg_m2) else 1.0 / ballistic_coefficient_kg_m2
    )

    def rhs(_t: float, state: FloatArray) -> FloatArray:
        velocity = state[3:]
        density = SEA_LEVEL_AIR_DENSITY_KG_M3 * math.exp(
            -max(float(state[2]), 0.0) / ATMOSPHERE_SCALE_HEIGHT_M
        )
        ve, vn, vu = velocity.tolist()  # |v| in a fixed order: np.linalg.norm is BLAS's ddot
        drag = -0.5 * density * inverse_beta * math.sqrt(ve * ve + vn * vn + vu * vu) * velocity
        drag[2] -= STANDARD_GRAVITY_MPS2
        return np.concatenate((velocity, drag))

    return rhs


def _ground_impact(_t: float, state: FloatArray) -> float:
    return float(state[2])


_ground_impact.terminal = True  # type: ignore[attr-defined]
_ground_impact.direction = -1.0  # type: ignore[attr-defined]


class Ballistic:
    """Free flight under standard gravity, optionally with quadratic drag.

    Drag acceleration is −ρ(h)/(2β)·|v|·v with β the ballistic coefficient m/(C_d·A) in kg/m²
    (``inf`` for no drag) and an exponential atmosphere ρ(h) = 1.225·exp(−h/8500 m) kg/m³. Each
    trajectory is integrated once at construction (scipy ``solve_ivp``, DOP853, tight tolerances)
    until it reaches the ground plane (u = 0 m) or ``horizon_s``; ``impact_s`` holds the
    ground-impact times (``inf`` if none).
    After impact a target rests where it landed.
    """

    TABLE_STEP_S = 0.02

    def __init__(
        self,
        t0_s: npt.ArrayLike,
        position_enu_m: npt.ArrayLike,
        velocity_enu_mps: npt.ArrayLike,
        ballistic_coefficient_kg_m2: npt.ArrayLike,
        horizon_s: float = 3600.0,
    ) -> None:
        p0 = _as_rows(position_enu_m, "position_enu_m")
        v0 = _as_rows(velocity_enu_mps, "velocity_enu_mps")
        t0 = np.asarray(t0_s, dtype=np.float64).reshape(-1)
        beta = np.broadcast_to(np.asarray(ballistic_coefficient_kg_m2, dtype=np.float64), t0.shape)
        tables = []
        ends = []
        impacts = np.full(len(p0), np.inf)
        # scipy.integrate takes ~0.4 s to import: loaded by the ballistic targets that use it,
        # not by every process that moves a target (the radar emulator's start, a run's)
        from scipy.integrate import solve_ivp

        for i in range(len(p0)):
            solution = solve_ivp(
                _ballistic_rhs(float(beta[i])),
                (0.0, horizon_s),
                np.concatenate((p0[i], v0[i])),
                method="DOP853",
                rtol=1e-10,
                atol=1e-9,
                dense_output=True,
                events=_ground_impact,
            )
            end = float(solution.t[-1])
            ends.append(end)
            if solution.t_events[0].size:
                impacts[i] = t0[i] + end
            steps = int(np.ceil(end / self.TABLE_STEP_S)) + 1
            grid = np.minimum(np.arange(steps) * self.TABLE_STEP_S, end)
            tables.append(solution.sol(grid).T)
        length = max((len(table) for table in tables), default=1)
        self._table = np.zeros((len(p0), length, 6))
        for i, table in enumerate(tables):
            self._table[i, : len(table)] = table
            self._table[i, len(table) :, :3] = table[-1, :3]  # at rest after impact
        self._last = np.array([len(table) - 1 for table in tables], dtype=np.intp)
        self._end_s = np.array(ends)
        self._t0 = t0
        self.impact_s = impacts

    @property
    def size(self) -> int:
        return len(self._t0)

    def state_at(self, t_s: float) -> tuple[FloatArray, FloatArray]:
        step = self.TABLE_STEP_S
        tau = np.clip(t_s - self._t0, 0.0, self._end_s)
        index = np.minimum((tau / step).astype(np.intp), np.maximum(self._last - 1, 0))
        start = index * step
        # every interval is one step long except the last, which ends at impact or horizon
        h = np.maximum(np.minimum(start + step, self._end_s) - start, 1e-12)
        s = np.clip((tau - start) / h, 0.0, 1.0)[:, None]
        h = h[:, None]
        rows = np.arange(self.size)
        a = self._table[rows, index]
        b = self._table[rows, np.minimum(index + 1, self._last)]
        s2 = s * s
        s3 = s2 * s
        position = (
            (2 * s3 - 3 * s2 + 1) * a[:, :3]
            + (s3 - 2 * s2 + s) * h * a[:, 3:]
            + (-2 * s3 + 3 * s2) * b[:, :3]
            + (s3 - s2) * h * b[:, 3:]
        )
        velocity = (
            (6 * s2 - 6 * s) / h * a[:, :3]
            + (3 * s2 - 4 * s + 1) * a[:, 3:]
            + (-6 * s2 + 6 * s) / h * b[:, :3]
            + (3 * s2 - 2 * s) * b[:, 3:]
        )
        landed = (t_s >= self.impact_s)[:, None]
        return position.T, np.where(landed, 0.0, velocity).T


class Waypoints:
    """Piecewise-linear paths through timed waypoints (constant velocity along each leg).

    ``times_s`` are absolute scenario times, strictly increasing per target. Before the first time
    a target sits at its first waypoint and after the last at its last, with zero velocity.
    """

    def __init__(
        self, times_s: Sequence[npt.ArrayLike], waypoints_enu_m: Sequence[npt.ArrayLike]
    ) -> None:
        if len(times_s) != len(waypoints_enu_m):
            raise ValueError("one time array per waypoint array")
        longest = max((len(np.asarray(t)) for t in times_s), default=2)
        count = len(times_s)
        self._times = np.full((count, longest), np.inf)
        self._points = np.zeros((count, longest, 3))
        for i, (times, points) in enumerate(zip(times_s, waypoints_enu_m, strict=True)):
            t = np.asarray(times, dtype=np.float64).reshape(-1)
            p = _as_rows(points, "waypoints_enu_m")
            if len(t) < 2 or len(t) != len(p) or np.any(np.diff(t) <= 0):
                raise ValueError("each path needs ≥ 2 waypoints with strictly increasing times")
            self._times[i, : len(t)] = t
            self._points[i, : len(t)] = p
            self._points[i, len(t) :] = p[-1]
        self._legs = np.array([len(np.asarray(t)) - 1 for t in times_s], dtype=np.intp)
        with np.errstate(invalid="ignore"):
            dt = np.diff(self._times, axis=1)[:, :, None]
            self._leg_velocity = np.where(np.isfinite(dt), np.diff(self._points, axis=1) / dt, 0.0)

    @property
    def size(self) -> int:
        return len(self._times)

    def state_at(self, t_s: float) -> tuple[FloatArray, FloatArray]:
        rows = np.arange(self.size)
        leg = np.clip(np.count_nonzero(self._times <= t_s, axis=1) - 1, 0, self._legs - 1)
        start = self._times[rows, leg]
        duration = self._times[rows, leg + 1] - start
        fraction = np.clip((t_s - start) / duration, 0.0, 1.0)[:, None]
        a = self._points[rows, leg]
        b = self._points[rows, leg + 1]
        moving = (t_s >= self._times[:, 0]) & (t_s < self._times[rows, self._legs])
        velocity = np.where(moving[:, None], self._leg_velocity[rows, leg], 0.0)
        return (a + (b - a) * fraction).T, velocity.T
