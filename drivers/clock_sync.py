"""Device-clock → host-clock mapping from round trips (PING/PONG), pure and testable.

Model: ``host_s ≈ offset_s + (1 + drift) · device_s``. Each round trip gives the device time at
which the request arrived and the host send/receive times; the device time is assumed to fall at
the host midpoint, so a sample's error is at most half its round-trip time. Only the fastest
round trips (within 1.5× the fastest, plus 100 µs) are used: slow ones carry queueing delay.
With three or more such samples spanning at least a second, offset and drift come from a least
squares line; otherwise drift is 0 and the offset is their median.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass

import numpy as np

MIN_SPAN_FOR_DRIFT_S = 1.0


@dataclass(frozen=True, slots=True)
class ClockSample:
    host_send_s: float
    device_s: float
    host_receive_s: float

    @property
    def rtt_s(self) -> float:
        return self.host_receive_s - self.host_send_s

    @property
    def host_mid_s(self) -> float:
        return 0.5 * (self.host_send_s + self.host_receive_s)


class ClockSync:
    """Running estimate over the last ``window`` samples."""

    def __init__(self, window: int = 64) -> None:
        self._samples: deque[ClockSample] = deque(maxlen=window)
        self.offset_s = 0.0
        self.drift = 0.0

    @property
    def synced(self) -> bool:
        return bool(self._samples)

    @property
    def samples(self) -> int:
        return len(self._samples)

    @property
    def best_rtt_s(self) -> float | None:
        return min((s.rtt_s for s in self._samples), default=None)

    def reset(self) -> None:
        """Forget every sample (the device rebooted or the link was re-established)."""
        self._samples.clear()
        self.offset_s = 0.0
        self.drift = 0.0

    def add(self, sample: ClockSample) -> None:
        if sample.rtt_s < 0:
            raise ValueError("a round trip cannot end before it starts")
        self._samples.append(sample)
        fastest = min(s.rtt_s for s in self._samples)
        good = [s for s in self._samples if s.rtt_s <= 1.5 * fastest + 1e-4]
        device = np.array([s.device_s for s in good])
        host = np.array([s.host_mid_s for s in good])
        if len(good) >= 3 and np.ptp(device) >= MIN_SPAN_FOR_DRIFT_S:
            centre = device.mean()
            slope, intercept = np.polyfit(device - centre, host, 1)
            self.drift = float(slope) - 1.0
            self.offset_s = float(intercept - slope * centre)
        else:
            self.drift = 0.0
            self.offset_s = float(np.median(host - device))

    def to_host(self, device_s: float) -> float:
        """Host time (s) at which the device clock read ``device_s``."""
        return self.offset_s + (1.0 + self.drift) * device_s
