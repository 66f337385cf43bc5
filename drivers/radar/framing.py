"""Frame layer of the turntable radar ICD: pure encode/decode, and a resynchronising stream decoder.

Frame (all multi-byte fields little-endian)::

    offset  size    field
    0       2       sync        A5 5A
    2       1       version     01
    3       1       msg_type
    4       2       seq         u16, +1 per frame per direction, wraps
    6       2       length      u16 payload bytes, 0..4096
    8       length  payload
    8+len   2       crc         CRC-16/CCITT-FALSE over bytes 2 .. 8+len-1

A receiver hunts for ``A5 5A``, reads the header, and accepts the frame only if the version is 1,
the length ≤ 4096 and the CRC matches; otherwise it resumes the hunt one byte after the rejected
sync. No I/O here: transports only move bytes.
"""

from __future__ import annotations

import binascii
import enum
import struct
from dataclasses import dataclass

from drivers.radar.messages import MAX_PAYLOAD, Message, decode_message, msg_type_of

SYNC = b"\xa5\x5a"
VERSION = 1
HEADER = struct.Struct("<2sBBHH")
HEADER_SIZE = HEADER.size  # 8
CRC_SIZE = 2
MIN_FRAME = HEADER_SIZE + CRC_SIZE


def crc16(data: bytes | bytearray | memoryview) -> int:
    """CRC-16/CCITT-FALSE (poly 0x1021, init 0xFFFF, no reflection, xorout 0)."""
    return binascii.crc_hqx(data, 0xFFFF)


@dataclass(frozen=True, slots=True)
class Frame:
    """A frame that passed every check; ``payload`` not yet interpreted."""

    msg_type: int
    seq: int
    payload: bytes

    def message(self) -> Message:
        """The typed message; raises ``ProtocolError`` if the payload does not fit its type."""
        return decode_message(self.msg_type, self.payload)


class Rejection(enum.Enum):
    """Why bytes at the head of a buffer were discarded."""

    GARBAGE = "garbage"
    """Bytes before the next sync."""
    BAD_VERSION = "bad_version"
    OVERSIZE = "oversize"
    BAD_CRC = "bad_crc"


def encode_frame(msg_type: int, seq: int, payload: bytes) -> bytes:
    """One frame's bytes. ``seq`` is taken modulo 2¹⁶."""
    if len(payload) > MAX_PAYLOAD:
        raise ValueError(f"payload of {len(payload)} bytes exceeds the ICD's {MAX_PAYLOAD}")
    body = HEADER.pack(SYNC, VERSION, msg_type, seq & 0xFFFF, len(payload)) + payload
    return body + crc16(body[2:]).to_bytes(2, "little")


def encode(message: Message, seq: int) -> bytes:
    """A typed message as one frame."""
    return encode_frame(msg_type_of(message), seq, message.encode_payload())


def decode(
    buf: bytes | bytearray,
    start: int = 0,
) -> tuple[int, Frame | None, Rejection | None]:
    """Look at ``buf`` from index ``start``: ``(used, frame, rejection)``.

    - a valid frame there: ``(frame length, frame, None)``;
    - bytes to discard (garbage before a sync, or a rejected sync): ``(n, None, reason)``;
    - an incomplete frame (or nothing): ``(0, None, None)`` — feed more bytes.
    """
    size = len(buf) - start
    found = buf.find(SYNC, start)
    if found < 0:
        keep = 1 if size > 0 and buf[-1] == SYNC[0] else 0
        used = size - keep
        return used, None, (Rejection.GARBAGE if used else None)
    if found > start:
        return found - start, None, Rejection.GARBAGE
    if size < HEADER_SIZE:
        return 0, None, None
    _, version, msg_type, seq, length = HEADER.unpack_from(buf, start)
    if version != VERSION:
        return 1, None, Rejection.BAD_VERSION
    if length > MAX_PAYLOAD:
        return 1, None, Rejection.OVERSIZE
    end = start + HEADER_SIZE + length
    if len(buf) < end + CRC_SIZE:
        return 0, None, None
    with memoryview(buf) as view:
        crc_ok = crc16(view[start + 2 : end]) == int.from_bytes(
            view[end : end + CRC_SIZE], "little"
        )
    if not crc_ok:
        return 1, None, Rejection.BAD_CRC
    return end + CRC_SIZE - start, Frame(msg_type, seq, bytes(buf[start + HEADER_SIZE : end])), None


@dataclass(slots=True)
class StreamCounters:
    """What a stream decoder has seen since it was created (or reset)."""

    bytes: int = 0
    frames: int = 0
    """Frames that passed every framing check (their payload not yet interpreted)."""
    crc_errors: int = 0
    """Syncs rejected because the CRC did not match."""
    bad_version: int = 0
    """Syncs rejected because the version byte was not 1."""
    oversize: int = 0
    """Syncs rejected because the length field exceeded 4096."""
    garbage_bytes: int = 0
    """Bytes skipped while hunting for a sync: before a sync, and a rejected frame's bytes after
    its first (which is counted as the rejection)."""
    resyncs: int = 0
    """Times the decoder had to hunt for a sync: after garbage or a rejected sync."""
    seq_gaps: int = 0
    """Forward jumps in ``seq`` (each loses one frame or more)."""
    lost_frames: int = 0
    """Frames missing according to gaps in ``seq``."""
    seq_restarts: int = 0
    """Backward jumps in ``seq`` (the device restarted), not counted as losses."""


class StreamDecoder:
    """Feed arbitrary byte chunks, get complete frames; counts every rejection and seq gap."""

    def __init__(self) -> None:
        self.counters = StreamCounters()
        self._buffer = bytearray()
        self._last_seq: int | None = None
        self._hunting = False

    def reset(self) -> None:
        """Forget buffered bytes and the seq history (e.g. after a reconnect); keep counters."""
        self._buffer.clear()
        self._last_seq = None
        self._hunting = False

    @property
    def buffered(self) -> int:
        return len(self._buffer)

    def feed(self, chunk: bytes | bytearray | memoryview) -> list[Frame]:
        """Append ``chunk`` and return every frame it completes, in order."""
        counters = self.counters
        counters.bytes += len(chunk)
        buffer = self._buffer
        buffer += chunk
        frames: list[Frame] = []
        offset = 0
        while True:
            used, frame, rejection = decode(buffer, offset)
            if used == 0:
                break
            offset += used
            if frame is not None:
                self._hunting = False
                self._track_seq(frame.seq)
                counters.frames += 1
                frames.append(frame)
                continue
            if not self._hunting:
                counters.resyncs += 1
                self._hunting = True
            if rejection is Rejection.GARBAGE:
                counters.garbage_bytes += used
            elif rejection is Rejection.BAD_CRC:
                counters.crc_errors += 1
            elif rejection is Rejection.BAD_VERSION:
                counters.bad_version += 1
            elif rejection is Rejection.OVERSIZE:
                counters.oversize += 1
        del buffer[:offset]
        return frames

    def _track_seq(self, seq: int) -> None:
        if self._last_seq is not None:
            gap = (seq - self._last_seq - 1) & 0xFFFF
            if gap >= 0x8000:
                self.counters.seq_restarts += 1
            elif gap:
                self.counters.seq_gaps += 1
                self.counters.lost_frames += gap
        self._last_seq = seq
