"""``Recorder``: writes one MCAP file from a bounded queue on one writer thread.

The loop calls ``record(topic, log_time_ns, payload)``, which never blocks: it puts the message on
a bounded queue and returns. When the queue is full (the disk cannot keep up) the message is
dropped and counted; the first drop logs one warning, and ``close()`` returns the count. The writer
thread adds messages to zstd-compressed chunks and, at least every ``flush_interval_s``, finishes
the chunk in progress and flushes it to the OS, so a process killed with SIGKILL loses at most the
last interval: everything before the last flush is complete chunks that ``hil record info`` reads
and ``hil record recover`` rewrites into a valid file (``fsync=True`` also survives a power loss).

``log_time_ns`` is nanoseconds since the Unix epoch (so viewers show dates); the caller maps its
loop clock onto it once per run.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import queue
import threading
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import IO, Any, Final, NamedTuple

from mcap.data_stream import RecordBuilder
from mcap.exceptions import McapError
from mcap.records import Channel, Schema
from mcap.writer import CompressionType, IndexType, Writer

from hil import __version__
from hil.errors import RecordingError
from hil.recording.channels import CLOSE_METADATA, Attachment, ChannelSpec

log = logging.getLogger(__name__)

DEFAULT_QUEUE_SIZE = 65_536
DEFAULT_FLUSH_INTERVAL_S = 0.5
DEFAULT_CHUNK_SIZE = 4 * 1024 * 1024
LIBRARY = f"hil-testbed/{__version__}"
INDEXES = IndexType.ALL
"""Chunk, attachment, metadata and per-message index records. The message indexes (16 bytes a
message, outside the compressed chunks: ~2 % of a run's file) are how a reader knows which topics
a chunk holds without decompressing it, so replay skips the bulk chunks (``ChannelSpec.bulk``)."""
COMPRESSIONS = {
    "zstd": CompressionType.ZSTD,
    "lz4": CompressionType.LZ4,
    "none": CompressionType.NONE,
}


class _Queued(NamedTuple):
    channel_id: int
    log_time_ns: int
    payload: bytes


_STOP: Final = object()


@dataclass(frozen=True)
class RecordingStats:
    """What a closed recorder wrote: ``error`` is None unless the disk failed mid-run."""

    path: Path
    messages_written: int
    messages_dropped: int
    size_bytes: int
    error: str | None


class Recorder:
    """Writes ``channels`` (declared up front), ``metadata`` (record name → key → value) and
    ``attachments`` to ``path`` (an existing file is refused unless ``overwrite``), then
    messages from ``record``. Use as a context manager or call ``close()`` (safe twice);
    ``record`` and ``close`` belong to one thread, the loop's."""

    def __init__(
        self,
        path: Path,
        channels: Sequence[ChannelSpec],
        *,
        metadata: Mapping[str, Mapping[str, str]] | None = None,
        attachments: Sequence[Attachment] = (),
        queue_size: int = DEFAULT_QUEUE_SIZE,
        flush_interval_s: float = DEFAULT_FLUSH_INTERVAL_S,
        chunk_size: int = DEFAULT_CHUNK_SIZE,
        compression: str = "zstd",
        fsync: bool = False,
        overwrite: bool = False,
    ) -> None:
        topics = [channel.topic for channel in channels]
        if len(set(topics)) != len(topics):
            raise ValueError(f"a topic is declared twice: {sorted(topics)}")
        if compression not in COMPRESSIONS:
            raise ValueError(f"compression {compression!r}: allowed {sorted(COMPRESSIONS)}")
        if not 0.0 < flush_interval_s <= 1.0:
            raise ValueError(f"flush_interval_s {flush_interval_s}: allowed 0 < s ≤ 1")
        self.path = path
        self._flush_interval_s = flush_interval_s
        self._fsync = fsync
        self._queue: queue.Queue[_Queued | object] = queue.Queue(maxsize=queue_size)
        self._channel_ids: dict[str, int] = {}
        self._bulk_ids: set[int] = set()
        self._held: list[_Queued] = []
        """Bulk messages waiting for the next flush (the writer thread's)."""
        self._written = 0
        self._dropped_full = 0
        self._dropped_failed = 0
        self._error: str | None = None
        self._stats: RecordingStats | None = None
        try:
            self._file: IO[bytes] = path.open("wb" if overwrite else "xb")
        except FileExistsError as error:
            raise RecordingError(
                f"recording {path} already exists; choose another path or move it away "
                "(a recording is never overwritten)"
            ) from error
        except OSError as error:
            raise RecordingError(f"cannot create recording {path}: {error.strerror}") from error
        try:
            self._writer = Writer(
                self._file,
                chunk_size=chunk_size,
                compression=COMPRESSIONS[compression],
                index_types=INDEXES,
            )
            self._writer.start(profile="", library=LIBRARY)
            self._declare(channels, metadata or {}, attachments)
            self._writer.flush()  # type: ignore[no-untyped-call]  # mcap leaves it unannotated
        except (OSError, McapError) as error:
            _close_quietly(self._file)
            raise RecordingError(f"cannot write recording {path}: {error}") from error
        self._thread = threading.Thread(target=self._run, name="hil-recorder", daemon=True)
        self._thread.start()

    def _declare(
        self,
        channels: Sequence[ChannelSpec],
        metadata: Mapping[str, Mapping[str, str]],
        attachments: Sequence[Attachment],
    ) -> None:
        schema_ids: dict[tuple[str, str, bytes], int] = {}
        declarations: list[Schema | Channel] = []
        for channel in channels:
            key = (channel.schema_name, channel.schema_encoding, channel.schema_data)
            if key not in schema_ids:
                schema_ids[key] = self._writer.register_schema(*key)
                declarations.append(Schema(schema_ids[key], key[2], key[1], key[0]))
            self._channel_ids[channel.topic] = self._writer.register_channel(
                channel.topic, channel.message_encoding, schema_ids[key]
            )
            if channel.bulk:
                self._bulk_ids.add(self._channel_ids[channel.topic])
            declarations.append(
                Channel(
                    self._channel_ids[channel.topic],
                    channel.topic,
                    channel.message_encoding,
                    {},
                    schema_ids[key],
                )
            )
        # The writer puts declarations in the first chunk only; a copy ahead of every chunk lets
        # a killed file name all its topics, and lets recovery read later chunks if the first is
        # damaged. MCAP allows a schema or channel record to repeat with the same content.
        builder = RecordBuilder()
        for record in declarations:
            record.write(builder)
        self._file.write(builder.end())  # type: ignore[no-untyped-call]  # mcap leaves it unannotated
        for name, values in metadata.items():
            self._writer.add_metadata(name, dict(values))
        now_ns = time.time_ns()
        for attachment in attachments:
            self._writer.add_attachment(
                now_ns, now_ns, attachment.name, attachment.media_type, attachment.data
            )

    def __enter__(self) -> Recorder:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()

    @property
    def messages_dropped(self) -> int:
        """Messages dropped so far: queue full, or the disk failed."""
        return self._dropped_full + self._dropped_failed

    def record(self, topic: str, log_time_ns: int, payload: bytes) -> bool:
        """Queue one message without blocking; False if it was dropped (queue full)."""
        if self._stats is not None:
            raise RecordingError(f"recording {self.path} is closed; nothing more can be recorded")
        channel_id = self._channel_ids.get(topic)
        if channel_id is None:
            raise ValueError(
                f"topic {topic!r} was not declared; declared: {sorted(self._channel_ids)}"
            )
        try:
            self._queue.put_nowait(_Queued(channel_id, log_time_ns, payload))
        except queue.Full:
            self._dropped_full += 1
            if self._dropped_full == 1:
                log.warning(
                    "recording %s cannot keep up (%d messages queued): dropping messages from "
                    "now on; the count is reported when the recording closes",
                    self.path,
                    self._queue.maxsize,
                )
            return False
        return True

    def record_json(self, topic: str, log_time_ns: int, message: Mapping[str, Any]) -> bool:
        """``record`` a JSON message; a NaN or infinity in it is refused (ValueError)."""
        payload = json.dumps(message, separators=(",", ":"), allow_nan=False).encode()
        return self.record(topic, log_time_ns, payload)

    def close(self) -> RecordingStats:
        """Write what is queued, the summary and the index, close the file and stop the writer
        thread. Returns what was written and dropped; safe to call again."""
        if self._stats is not None:
            return self._stats
        while self._thread.is_alive():  # a writer thread that died of a bug cannot take _STOP
            try:
                self._queue.put(_STOP, timeout=0.1)
                break
            except queue.Full:
                continue
        self._thread.join()
        try:
            size = self.path.stat().st_size
        except OSError:
            size = 0
        self._stats = RecordingStats(
            self.path, self._written, self.messages_dropped, size, self._error
        )
        if self.messages_dropped:
            log.warning(
                "recording %s: %d messages dropped (%d written)",
                self.path,
                self.messages_dropped,
                self._written,
            )
        return self._stats

    def _run(self) -> None:
        """The writer thread: drain the queue into chunks, flush on time, finish on _STOP."""
        next_flush_s = time.monotonic() + self._flush_interval_s
        unflushed = False
        while True:
            try:
                item = self._queue.get(timeout=max(0.0, next_flush_s - time.monotonic()))
            except queue.Empty:
                item = None
            if item is _STOP:
                break
            if isinstance(item, _Queued):
                unflushed = True
                if item.channel_id in self._bulk_ids:
                    self._held.append(item)
                else:
                    self._add(item)
            if time.monotonic() >= next_flush_s:
                if unflushed:
                    self._guarded(self._flush)
                    unflushed = False
                next_flush_s = time.monotonic() + self._flush_interval_s
        if self._guarded(self._flush):
            self._guarded(self._finish)
        _close_quietly(self._file)

    def _add(self, item: _Queued) -> None:
        if self._guarded(self._writer.add_message, *item, item.log_time_ns):
            self._written += 1
        else:
            self._dropped_failed += 1

    def _flush(self) -> None:
        """End the chunk in progress, write the held bulk messages into chunks of their own,
        and hand both to the OS."""
        self._writer.flush()  # type: ignore[no-untyped-call]  # mcap leaves it unannotated
        held, self._held = self._held, []
        for item in held:
            self._add(item)
        if held:
            self._writer.flush()  # type: ignore[no-untyped-call]
        if self._fsync:
            os.fsync(self._file.fileno())

    def _finish(self) -> None:
        self._writer.add_metadata(
            CLOSE_METADATA,
            {
                "messages_written": str(self._written),
                "messages_dropped": str(self._dropped_full + self._dropped_failed),
            },
        )
        self._writer.finish()  # type: ignore[no-untyped-call]  # mcap leaves it unannotated
        self._file.flush()
        if self._fsync:
            os.fsync(self._file.fileno())

    def _guarded(self, action: Any, *args: Any) -> bool:
        """Run one writer action; False if it failed or writing had already failed. The first
        failure is logged and stops all writing."""
        if self._error is not None:
            return False
        try:
            action(*args)
        except (OSError, McapError, ValueError) as error:
            self._error = (
                f"writing recording {self.path} failed: {error} (what was written before its "
                "last flush is readable; hil record recover makes it a valid file)"
            )
            log.error("%s; messages from now on are dropped and counted", self._error)
            return False
        return True


def _close_quietly(file: IO[bytes]) -> None:
    """Close a file whose write already failed (closing flushes, and would fail again)."""
    with contextlib.suppress(OSError):
        file.close()
