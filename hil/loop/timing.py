"""Per-stage timing of the loop, kept as log-binned histograms (bounded memory for long runs).

Bins are 1 % wide (231 per decade-ish: ratio 1.01) from 100 ns to 100 s, so percentiles are
good to 1 %; min, max, count and sum are exact.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

_LOW_S = 1e-7
_RATIO = 1.01
_BINS = math.ceil(math.log(100.0 / _LOW_S) / math.log(_RATIO)) + 2
_LOG_RATIO = math.log(_RATIO)


@dataclass
class Histogram:
    """Durations in seconds."""

    counts: np.ndarray = field(default_factory=lambda: np.zeros(_BINS, np.int64))
    count: int = 0
    total_s: float = 0.0
    max_s: float = 0.0
    min_s: float = math.inf

    def add(self, seconds: float) -> None:
        index = 0 if seconds <= _LOW_S else int(math.log(seconds / _LOW_S) / _LOG_RATIO) + 1
        self.counts[min(index, _BINS - 1)] += 1
        self.count += 1
        self.total_s += seconds
        self.max_s = max(self.max_s, seconds)
        self.min_s = min(self.min_s, seconds)

    def percentile_s(self, q: float) -> float | None:
        """The q-th percentile (0–100), from the bin's upper edge (at most max)."""
        if not self.count:
            return None
        rank = max(1, math.ceil(q / 100.0 * self.count))
        index = int(np.searchsorted(np.cumsum(self.counts), rank))
        upper = _LOW_S * _RATIO**index
        return min(upper, self.max_s)

    def summary_ms(self) -> dict[str, float | int | None]:
        def ms(value: float | None) -> float | None:
            return None if value is None else round(value * 1e3, 4)

        return {
            "count": self.count,
            "p50_ms": ms(self.percentile_s(50)),
            "p99_ms": ms(self.percentile_s(99)),
            "max_ms": ms(self.max_s if self.count else None),
            "mean_ms": ms(self.total_s / self.count if self.count else None),
        }


STAGES = ("decode", "inject", "gather", "track", "fire_control", "command")
"""The loop's stages in cycle order (``hil.loop.shell``): ``gather`` reads the cycle's inputs
(launcher status, frame age, link problems); ``track`` and ``fire_control`` are the core's step."""


@dataclass
class LoopTiming:
    """Histograms per stage, of frame-to-command latency and of arrival jitter."""

    stages: dict[str, Histogram] = field(default_factory=lambda: {s: Histogram() for s in STAGES})
    latency: Histogram = field(default_factory=Histogram)
    """From the frame's arrival to its command having been sent."""
    jitter: Histogram = field(default_factory=Histogram)
    """|arrival interval − frame-time interval| between successive frames: how unevenly frames
    reach the loop compared with the radar's own cadence (real-time sources only)."""
    _previous: tuple[float, float] | None = None

    def arrival(self, t_frame_s: float, t_arrival_s: float) -> None:
        if self._previous is not None:
            frame_dt = t_frame_s - self._previous[0]
            arrival_dt = t_arrival_s - self._previous[1]
            self.jitter.add(abs(arrival_dt - frame_dt))
        self._previous = (t_frame_s, t_arrival_s)

    def summary(self) -> dict[str, object]:
        return {
            "latency": self.latency.summary_ms(),
            "jitter": self.jitter.summary_ms(),
            "stages": {name: h.summary_ms() for name, h in self.stages.items()},
        }
