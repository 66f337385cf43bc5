"""Clocks behind one small interface. Models never read the time: they are handed ``t_s``.

``SimClock`` advances only when told, so a simulation runs as fast as the CPU allows and is
deterministic. ``WallClock`` follows the host's monotonic clock; it is the only place in ``sim``
that reads the OS clock, and it is used only where a real-time stream is the point (the emulated
firmware, the bench). Both count seconds from their own epoch (scenario time 0).
"""

from __future__ import annotations

import time
from typing import Protocol


class Clock(Protocol):
    """A source of scenario time in seconds since the clock's epoch."""

    def now(self) -> float: ...


class SimClock:
    """Simulated time: starts at ``start_s`` and moves only through ``advance``/``advance_to``."""

    def __init__(self, start_s: float = 0.0) -> None:
        self._now = float(start_s)

    def now(self) -> float:
        return self._now

    def advance(self, dt_s: float) -> float:
        """Move forward by ``dt_s`` ≥ 0 seconds; returns the new time."""
        if dt_s < 0:
            raise ValueError(f"a clock cannot go backwards (dt_s={dt_s})")
        self._now += dt_s
        return self._now

    def advance_to(self, t_s: float) -> float:
        """Move forward to ``t_s``; moving backwards is an error."""
        if t_s < self._now:
            raise ValueError(f"a clock cannot go backwards ({t_s} < {self._now})")
        self._now = float(t_s)
        return self._now


class WallClock:
    """Host monotonic time in seconds since construction (or since ``epoch_monotonic_s``)."""

    def __init__(self, epoch_monotonic_s: float | None = None) -> None:
        self.epoch_monotonic_s = (
            time.monotonic() if epoch_monotonic_s is None else epoch_monotonic_s
        )

    def now(self) -> float:
        return time.monotonic() - self.epoch_monotonic_s
