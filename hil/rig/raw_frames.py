"""Re-decoding a driver recording's raw radar bytes (``/radar/raw``) through today's codec.

A driver run (emulate, bench) records every chunk the radar driver received, as received, and
each cycle's frame as the driver decoded it then. :class:`RawRadarDecoder` feeds the chunks, in
the order they were recorded, through the radar ICD's stream decoder and payload codec
(``drivers.radar.framing``, ``drivers.radar.messages``: the code the driver runs) and keeps the
DETECTIONS messages it yields. Each recorded frame is then matched to the first pending
re-decoded DETECTIONS with the same scan id and antenna pose (the order the driver delivered
them), and the replay uses the re-decoded detections with the recorded timing (loop-clock and
scenario time, dwell sweep): a codec change shows in the replay.

A recorded frame with no such re-decoded DETECTIONS (its bytes corrupt, or today's codec refuses
or reads them differently) is *lost*: its cycle runs without a frame, as the live loop would.
Re-decoded frames the recorded run never used (before a ``--from`` window, dropped from the
driver's queue, after the run ended) are *unused*. Both are counted, with the stream decoder's
own counters (CRC errors, resynchronisations, skipped bytes).
"""

from __future__ import annotations

import dataclasses
import time
from collections import deque
from dataclasses import dataclass, field

import numpy as np

from drivers.errors import ProtocolError
from drivers.radar.framing import StreamCounters, StreamDecoder
from drivers.radar.messages import Detections, MsgType
from hil.loop.injection import TaggedFrame

MAX_PENDING = 4096
"""Re-decoded DETECTIONS waiting for their recorded frame; older ones are dropped as unused
(a recording whose frames stopped matching long ago would otherwise grow without bound)."""


@dataclass
class RedecodeCounts:
    """What re-decoding the raw bytes gave, against the recorded frames."""

    chunks: int = 0
    matched: int = 0
    """Recorded frames replayed with their re-decoded detections."""
    lost: int = 0
    """Recorded frames today's codec did not give back (their cycles ran without a frame)."""
    unused: int = 0
    """Re-decoded DETECTIONS no recorded cycle used."""
    bad_payloads: int = 0
    """CRC-valid frames whose payload the codec refused (``PayloadError``)."""
    other_messages: int = 0
    """Valid non-DETECTIONS messages (STATUS, ACK, PONG)."""
    stream: StreamCounters = field(default_factory=StreamCounters)

    def note(self) -> str:
        """One line for the run summary's notes."""
        s = self.stream
        return (
            f"frames re-decoded from {self.chunks} raw radar chunks ({s.bytes} bytes): "
            f"{self.matched} matched the recorded frames, {self.lost} lost (their cycles ran "
            f"without a frame), {self.unused} re-decoded frames unused; {s.crc_errors} CRC "
            f"errors, {s.resyncs} resynchronisations, {s.garbage_bytes} bytes skipped, "
            f"{self.bad_payloads} bad payloads"
        )


class RawRadarDecoder:
    """Raw radar chunks in (:meth:`feed`), recorded frames re-decoded out (:meth:`redecode`);
    see the module doc."""

    def __init__(self) -> None:
        self._decoder = StreamDecoder()
        self._pending: deque[Detections] = deque()
        self.counts = RedecodeCounts(stream=self._decoder.counters)

    def feed(self, chunk: bytes) -> None:
        """One recorded chunk, in recorded order."""
        counts = self.counts
        counts.chunks += 1
        for frame in self._decoder.feed(chunk):
            if frame.msg_type != MsgType.DETECTIONS:
                counts.other_messages += 1
                continue
            try:
                message = frame.message()
            except ProtocolError:
                counts.bad_payloads += 1
                continue
            assert isinstance(message, Detections)  # the codec's type for DETECTIONS
            if len(self._pending) == MAX_PENDING:
                self._pending.popleft()
                counts.unused += 1
            self._pending.append(message)

    def redecode(self, recorded: TaggedFrame) -> TaggedFrame | None:
        """``recorded`` (the radar's part: no injected detections) with the detections of its
        re-decoded DETECTIONS and arrival now; None if the raw bytes did not give it back."""
        index = self._find(recorded)
        if index is None:
            self.counts.lost += 1
            return None
        pending = self._pending
        for _ in range(index):
            pending.popleft()
        message = pending.popleft()
        self.counts.unused += index
        self.counts.matched += 1
        n = len(message.range_m)
        return dataclasses.replace(
            recorded,
            range_m=message.range_m,
            az_rad=message.az_rad,
            el_rad=message.el_rad,
            vr_mps=message.vr_mps,
            injected=np.zeros(n, bool),
            truth_id=np.full(n, -1, np.int64),
            t_arrival_s=time.perf_counter(),
        )

    def _find(self, recorded: TaggedFrame) -> int | None:
        """The index of the first pending DETECTIONS with ``recorded``'s scan id and antenna
        pose, or None."""
        for index, message in enumerate(self._pending):
            if (
                message.scan_id == recorded.scan_id
                and message.antenna_az_rad == recorded.beam_az_rad
                and message.antenna_el_rad == recorded.beam_el_rad
            ):
                return index
        return None

    def finish(self) -> RedecodeCounts:
        """The counts, the still-pending re-decoded frames counted as unused."""
        self.counts.unused += len(self._pending)
        self._pending.clear()
        return self.counts
