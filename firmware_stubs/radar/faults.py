"""Fault injection on the emulated radar's outgoing byte stream (for tests and fault campaigns)."""

from __future__ import annotations

import enum
from dataclasses import dataclass

import numpy as np

from drivers.radar.framing import HEADER_SIZE, encode_frame
from drivers.radar.messages import MsgType

MAX_GARBAGE_BURST = 64


class BadPayload(enum.Enum):
    """How a DETECTIONS frame is broken by ``bad_payload_rate`` (its CRC stays valid)."""

    RANGE = "range"
    """antenna_az_urad = 2³² − 1 (246,083°; the ICD allows [0, 2π·10⁶))."""
    RESERVED = "reserved"
    """The reserved u16 after ``count`` set to 1."""
    LENGTH = "length"
    """``count`` one more than the records the payload holds."""


def break_detections(frame: bytes, how: BadPayload) -> bytes:
    """A DETECTIONS frame rewritten to break the ICD as ``how`` says, re-framed with a valid CRC."""
    payload = bytearray(frame[HEADER_SIZE:-2])
    if how is BadPayload.RANGE:
        payload[12:16] = (0xFFFF_FFFF).to_bytes(4, "little")
    elif how is BadPayload.RESERVED:
        payload[22:24] = (1).to_bytes(2, "little")
    else:
        count = int.from_bytes(payload[20:22], "little")
        payload[20:22] = (count + 1).to_bytes(2, "little")
    seq = int.from_bytes(frame[4:6], "little")
    return encode_frame(frame[3], seq, bytes(payload))


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
    bad_payload_rate: float = 0.0
    """Chance that a DETECTIONS frame is sent CRC-valid but outside the ICD (one of
    ``BadPayload``, chosen at random)."""

    def __post_init__(self) -> None:
        for name in (
            "corrupt_byte_rate",
            "drop_frame_rate",
            "garbage_burst_rate",
            "bad_payload_rate",
        ):
            if not 0.0 <= getattr(self, name) <= 1.0:
                raise ValueError(f"{name} must lie in [0, 1]")
        if self.stall_ms < 0 or self.stall_every_s < 0 or self.hangup_every_s < 0:
            raise ValueError("stall_ms, stall_every_s and hangup_every_s must be ≥ 0")

    @property
    def any(self) -> bool:
        return bool(
            self.corrupt_byte_rate
            or self.drop_frame_rate
            or self.garbage_burst_rate
            or self.bad_payload_rate
        )


@dataclass(slots=True)
class FaultCounters:
    frames_dropped: int = 0
    bytes_corrupted: int = 0
    garbage_bytes: int = 0
    frames_intact: int = 0
    """Frames sent as the firmware produced them (no byte corrupted, payload not broken)."""
    bad_payload_range: int = 0
    bad_payload_reserved: int = 0
    bad_payload_length: int = 0
    """DETECTIONS frames sent CRC-valid but outside the ICD, by ``BadPayload`` kind."""

    def count_bad_payload(self, how: BadPayload) -> None:
        if how is BadPayload.RANGE:
            self.bad_payload_range += 1
        elif how is BadPayload.RESERVED:
            self.bad_payload_reserved += 1
        else:
            self.bad_payload_length += 1


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
            if (
                f.bad_payload_rate
                and frame[3] == MsgType.DETECTIONS
                and self.rng.random() < f.bad_payload_rate
            ):
                how = list(BadPayload)[int(self.rng.integers(len(BadPayload)))]
                self.counters.count_bad_payload(how)
                offset += len(frame)
                pieces.append(break_detections(frame, how))
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
