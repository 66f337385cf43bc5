"""Fault injection on the emulated radar's outgoing byte stream (for tests and fault campaigns)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

MAX_GARBAGE_BURST = 64


@dataclass(frozen=True, slots=True)
class LinkFaults:
    """What goes wrong on the link. Rates are probabilities in [0, 1]."""

    corrupt_byte_rate: float = 0.0
    """Chance that any one byte sent has one random bit flipped."""
    drop_frame_rate: float = 0.0
    """Chance that a frame is produced (its seq used) but never sent."""
    garbage_burst_rate: float = 0.0
    """Chance that 1..64 random bytes are sent before a frame."""
    stall_ms: int = 0
    """Length of each stall: the firmware produces nothing for this long."""
    stall_every_s: float = 0.0
    """Stall period (0: never)."""
    hangup_every_s: float = 0.0
    """Close the link this often (0: never); the emulator then reopens the pty or accepts a new
    TCP client."""

    def __post_init__(self) -> None:
        for name in ("corrupt_byte_rate", "drop_frame_rate", "garbage_burst_rate"):
            if not 0.0 <= getattr(self, name) <= 1.0:
                raise ValueError(f"{name} must lie in [0, 1]")
        if self.stall_ms < 0 or self.stall_every_s < 0 or self.hangup_every_s < 0:
            raise ValueError("stall_ms, stall_every_s and hangup_every_s must be ≥ 0")

    @property
    def any(self) -> bool:
        return bool(self.corrupt_byte_rate or self.drop_frame_rate or self.garbage_burst_rate)


@dataclass(slots=True)
class FaultCounters:
    frames_dropped: int = 0
    bytes_corrupted: int = 0
    garbage_bytes: int = 0
    frames_intact: int = 0
    """Frames sent with no byte corrupted."""


class FaultInjector:
    """Applies ``LinkFaults`` to outgoing frames with its own seeded generator."""

    def __init__(
        self, faults: LinkFaults, rng: np.random.Generator, keep_originals: bool = False
    ) -> None:
        self.faults = faults
        self.rng = rng
        self.counters = FaultCounters()
        self.originals: list[bytes] | None = [] if keep_originals else None
        """With ``keep_originals``: every frame as the firmware produced it, for tests."""

    def apply(self, frames: list[bytes]) -> bytes:
        """The bytes actually sent for ``frames``."""
        if self.originals is not None:
            self.originals.extend(frames)
        f = self.faults
        if not f.any:
            self.counters.frames_intact += len(frames)
            return b"".join(frames)
        pieces: list[bytes] = []
        starts: list[int] = []
        ends: list[int] = []
        offset = 0
        for frame in frames:
            if f.garbage_burst_rate and self.rng.random() < f.garbage_burst_rate:
                size = int(self.rng.integers(1, MAX_GARBAGE_BURST + 1))
                burst = self.rng.integers(0, 256, size, dtype=np.uint8).tobytes()
                self.counters.garbage_bytes += size
                pieces.append(burst)
                offset += size
            if f.drop_frame_rate and self.rng.random() < f.drop_frame_rate:
                self.counters.frames_dropped += 1
                continue
            starts.append(offset)
            offset += len(frame)
            ends.append(offset)
            pieces.append(frame)
        data = b"".join(pieces)
        if not (f.corrupt_byte_rate and data):
            self.counters.frames_intact += len(starts)
            return data
        raw = np.frombuffer(data, dtype=np.uint8).copy()
        hit = np.flatnonzero(self.rng.random(len(raw)) < f.corrupt_byte_rate)
        raw[hit] ^= (1 << self.rng.integers(0, 8, len(hit))).astype(np.uint8)
        self.counters.bytes_corrupted += len(hit)
        hits_per_frame = np.searchsorted(hit, ends) - np.searchsorted(hit, starts)
        self.counters.frames_intact += int(np.count_nonzero(hits_per_frame == 0))
        return raw.tobytes()
