"""Reading a recording: messages streamed by topic set and time range, metadata, attachments.

A finished file is read through its index: only the chunks that hold the wanted topics and times
are read, one at a time, so memory follows the chunk size, not the file size. A file whose writer
never closed it (killed, power lost) has no index: it is read front to back, chunk by chunk, up to
its last complete chunk; reading past that raises ``RecordingError`` unless ``allow_truncated``
(``hil record recover`` rewrites such a file into a finished one). An empty file, one that is not
MCAP, or one whose data is corrupt raises ``RecordingError`` with one line naming the file.
"""

from __future__ import annotations

import io
import struct
import zlib
from collections import Counter
from collections.abc import Collection, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import IO, NamedTuple

import zstandard
from mcap.data_stream import ReadDataStream
from mcap.exceptions import EndOfFile, McapError, RecordLengthLimitExceeded
from mcap.opcode import Opcode
from mcap.reader import SeekingReader
from mcap.records import (
    Attachment,
    Channel,
    Chunk,
    DataEnd,
    Footer,
    McapRecord,
    Message,
    MessageIndex,
    Metadata,
    Schema,
)
from mcap.stream_reader import MAGIC_SIZE, StreamReader, breakup_chunk, get_chunk_data_stream

from hil.errors import RecordingError

MCAP_MAGIC = b"\x89MCAP0\r\n"
FOOTER = struct.Struct("<BQQQI")
"""Footer record: opcode, length, summary start, summary offset start, summary CRC."""
FOOTER_RECORD_SIZE = FOOTER.size
MAX_CHUNK_BYTES = 1 << 30
"""A chunk claiming more than this uncompressed is taken as corrupt, not allocated."""
CHUNK_OPCODE = bytes([Opcode.CHUNK])
CHUNK_HEAD = struct.Struct("<BQQQQII")
"""A chunk record's opcode, length, message start and end time, uncompressed size and CRC,
and the length of its compression's name (the name, the records' length and records follow)."""
MAX_COMPRESSION_NAME = 16
KNOWN_COMPRESSIONS = (b"", b"zstd", b"lz4")
RECOVER_HINT = (
    "`hil record recover FILE [OUT]` rewrites its whole, CRC-valid chunks into a valid file"
)
# What the mcap library raises on bytes that are not what they claim to be.
DECODE_ERRORS = (
    McapError,
    zstandard.ZstdError,
    struct.error,
    ValueError,
    OverflowError,
    KeyError,
    IndexError,
    UnicodeDecodeError,
    RuntimeError,
    MemoryError,
)


class RecordedMessage(NamedTuple):
    """One message: its topic, log time in ns since the Unix epoch, the payload as recorded and
    the name of its channel's schema (e.g. ``foxglove.SceneUpdate``, ``hil.cycle.v1``)."""

    topic: str
    log_time_ns: int
    payload: bytes
    schema_name: str


@dataclass
class TopicInfo:
    """A topic's message count, schema name and message encoding."""

    topic: str
    schema_name: str
    message_encoding: str
    messages: int = 0


@dataclass
class RecordingInfo:
    """What ``hil record info`` shows. ``complete`` is False for a file its writer never closed;
    ``problem`` then says where reading stopped."""

    path: Path
    size_bytes: int
    complete: bool
    topics: dict[str, TopicInfo] = field(default_factory=dict)
    start_ns: int | None = None
    end_ns: int | None = None
    metadata: dict[str, dict[str, str]] = field(default_factory=dict)
    attachments: list[tuple[str, str, int]] = field(default_factory=list)
    problem: str | None = None

    @property
    def messages(self) -> int:
        return sum(topic.messages for topic in self.topics.values())


@dataclass
class Damage:
    """What a scan that skips damage (``Recording.scan(skip_damaged=True)``) passed over:
    corrupt chunks, the messages lost with them (as their message index records count them,
    and messages on channels never declared), unreadable bytes, and the first problem met."""

    chunks: int = 0
    messages: int = 0
    bytes: int = 0
    first: str | None = None

    def note(self, problem: str, *, lost_bytes: int = 0, lost_chunks: int = 0) -> None:
        self.chunks += lost_chunks
        self.bytes += lost_bytes
        if self.first is None:
            self.first = problem


class ScanItem(NamedTuple):
    """A record met in a front-to-back scan (schema, channel, message, metadata, attachment)."""

    record: Schema | Channel | Message | Metadata | Attachment


class Recording:
    """An MCAP recording open for reading (a context manager)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._scan_channels: dict[int, tuple[Channel, str]] = {}
        self.scan_stopped: str | None = None
        self.scan_end_offset = 0
        self.damage = Damage()
        self.summary_problem: str | None = None
        try:
            self._file: IO[bytes] = path.open("rb")
        except OSError as error:
            raise RecordingError(f"{path}: cannot open: {error.strerror}") from error
        try:
            self.size_bytes = self._file.seek(0, io.SEEK_END)
            self._file.seek(0)
            head = self._file.read(len(MCAP_MAGIC))
            if self.size_bytes == 0:
                raise RecordingError(f"{path}: the file is empty (0 bytes), not a recording")
            if head != MCAP_MAGIC:
                raise RecordingError(
                    f"{path}: not an MCAP recording (it does not start with the MCAP magic bytes)"
                )
            self.complete = self._has_footer()
        except BaseException:
            self._file.close()
            raise

    def _has_footer(self) -> bool:
        if self.size_bytes < 2 * MAGIC_SIZE:
            return False
        self._file.seek(-MAGIC_SIZE, io.SEEK_END)
        if self._file.read(MAGIC_SIZE) != MCAP_MAGIC:
            return False
        try:
            self._check_summary_crc()
            self._seeking().get_summary()
        except DECODE_ERRORS as error:
            self.summary_problem = f"corrupt summary ({error}); its data section is read instead"
            return False
        return True

    def _check_summary_crc(self) -> None:
        """Compare the footer's CRC with the summary section it covers (ValueError if not)."""
        footer_start = self.size_bytes - MAGIC_SIZE - FOOTER_RECORD_SIZE
        if footer_start < MAGIC_SIZE:
            raise ValueError("too short for a footer")
        self._file.seek(footer_start)
        opcode, _, summary_start, _, summary_crc = FOOTER.unpack(
            self._file.read(FOOTER_RECORD_SIZE)
        )
        if opcode != Opcode.FOOTER:
            raise ValueError("no footer record before the closing magic bytes")
        covered_end = footer_start + FOOTER_RECORD_SIZE - 4  # the CRC covers all but itself
        if summary_crc == 0:
            return
        start = summary_start or footer_start
        if not 0 < start <= footer_start:
            raise ValueError(f"the footer's summary start {summary_start} is outside the file")
        self._file.seek(start)
        crc = 0
        remaining = covered_end - start
        while remaining > 0:
            block = self._file.read(min(remaining, 1 << 20))
            if not block:
                raise ValueError("the file ended inside its summary")
            crc = zlib.crc32(block, crc)
            remaining -= len(block)
        if crc != summary_crc:
            raise ValueError(
                f"summary CRC {crc:#010x} differs from the footer's {summary_crc:#010x}"
            )

    def _seeking(self, *, validate_crcs: bool = False) -> SeekingReader:
        self._file.seek(0)
        return SeekingReader(self._file, validate_crcs=validate_crcs)

    def __enter__(self) -> Recording:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()

    def close(self) -> None:
        self._file.close()

    def messages(
        self,
        topics: Collection[str] | None = None,
        start_ns: int | None = None,
        end_ns: int | None = None,
        *,
        allow_truncated: bool = False,
        file_order: bool = False,
    ) -> Iterator[RecordedMessage]:
        """Messages of ``topics`` (all if None) with ``start_ns ≤ log_time_ns < end_ns``, in log
        time order, or in the order they were recorded with ``file_order`` (about twice as fast;
        always so for an unfinished file)."""
        wanted = None if topics is None else frozenset(topics)
        if not self.complete:
            for item in self.scan(allow_truncated=allow_truncated):
                yield from _filtered(item, wanted, start_ns, end_ns, self._scan_channels)
            return
        try:
            if file_order:
                yield from self._in_file_order(wanted, start_ns, end_ns)
                return
            reader = self._seeking(validate_crcs=True)
            for schema, channel, message in reader.iter_messages(
                topics=wanted, starting_at=start_ns, ending_before=end_ns
            ):
                name = "" if schema is None else schema.name
                yield RecordedMessage(channel.topic, message.log_time, message.data, name)
        except DECODE_ERRORS as error:
            raise RecordingError(f"{self.path}: corrupt: {error}; {RECOVER_HINT}") from error

    def _in_file_order(
        self, wanted: frozenset[str] | None, start_ns: int | None, end_ns: int | None
    ) -> Iterator[RecordedMessage]:
        """A finished file's messages as recorded, one chunk in memory at a time. (mcap's own
        ``log_time_order=False`` queues every chunk's messages before yielding the first, so
        its memory grows with the file.)"""
        reader = self._seeking(validate_crcs=True)
        summary = reader.get_summary()
        if summary is None:  # a footer without a summary: read the data section front to back
            for item in self.scan():
                yield from _filtered(item, wanted, start_ns, end_ns, self._scan_channels)
            return
        names = {
            channel_id: (channel.topic, summary.schemas[channel.schema_id].name)
            if channel.schema_id in summary.schemas
            else (channel.topic, "")
            for channel_id, channel in summary.channels.items()
        }
        wanted_names = {
            channel_id: name
            for channel_id, name in names.items()
            if wanted is None or name[0] in wanted
        }
        low = -1 if start_ns is None else start_ns
        high = 1 << 64 if end_ns is None else end_ns
        for index in sorted(summary.chunk_indexes, key=lambda c: c.chunk_start_offset):
            if index.message_end_time < low or index.message_start_time >= high:
                continue
            if index.message_index_offsets and not any(
                channel_id in index.message_index_offsets for channel_id in wanted_names
            ):
                continue  # the chunk's index says it holds none of the wanted topics
            self._file.seek(index.chunk_start_offset + 1 + 8)
            data = chunk_bytes(Chunk.read(ReadDataStream(self._file)))
            for channel_id, log_time, payload in chunk_messages(data, wanted_names, names):
                if low <= log_time < high:
                    topic, schema_name = wanted_names[channel_id]
                    yield RecordedMessage(topic, log_time, payload, schema_name)

    def scan(
        self,
        *,
        allow_truncated: bool = False,
        open_chunks: bool = True,
        skip_damaged: bool = False,
    ) -> Iterator[ScanItem]:
        """Every schema, channel, message, metadata and attachment in file order, chunk by chunk,
        up to the last complete chunk. An incomplete or corrupt tail, or a file that does not
        end as a finished recording does (its footer), raises ``RecordingError`` unless
        ``allow_truncated``; ``self.scan_stopped`` then says where and why. Without
        ``open_chunks`` each chunk is only decompressed and its CRC checked, and nothing inside
        it is yielded (a fast check of the whole file).

        With ``skip_damaged`` (recovery) damage does not end the scan: a chunk whose records are
        corrupt (CRC, decompression) is skipped, messages on channels never declared are
        dropped, and bytes that cannot be read as records are skipped up to the next whole,
        CRC-valid chunk; ``self.damage`` counts what was passed over."""
        self._scan_channels = {}
        schemas: dict[int, Schema] = {}
        self.scan_stopped = None
        self.scan_end_offset = 0
        self.damage = Damage()
        record: object = None
        records = self._records_at(0)
        after_lost_chunk = False  # its message index records follow: they count its messages
        while True:
            record_start = self._file.tell()
            try:
                record = next(records)
            except StopIteration:
                break
            except DECODE_ERRORS as error:  # EndOfFile and a too long record among them
                resume = self._find_chunk(record_start + 1) if skip_damaged else None
                if resume is not None:
                    self.damage.note(
                        f"bytes {record_start}–{resume} unreadable ({error})",
                        lost_bytes=resume - record_start,
                    )
                    records = self._records_at(resume)
                    record, after_lost_chunk = None, False
                    continue
                if (
                    not isinstance(error, EndOfFile | RecordLengthLimitExceeded)
                    and self._file.tell() < self.size_bytes
                ):
                    self.scan_stopped = f"corrupt after byte {self.scan_end_offset}: {error}"
                # else the file ends inside a record (its length runs past the end): truncated
                break
            inner: list[McapRecord] = [record]
            if isinstance(record, Chunk):
                try:
                    if record.uncompressed_size > MAX_CHUNK_BYTES:
                        raise ValueError(
                            f"a chunk claims {record.uncompressed_size} bytes uncompressed"
                        )
                    if open_chunks:
                        inner = breakup_chunk(record, validate_crc=True)
                    else:
                        get_chunk_data_stream(record, validate_crc=True)
                        inner = []
                except DECODE_ERRORS as error:
                    if not skip_damaged:
                        if self._file.tell() < self.size_bytes:
                            self.scan_stopped = (
                                f"corrupt after byte {self.scan_end_offset}: {error}"
                            )
                        break  # else the file ends inside a record: truncated
                    self.damage.note(
                        f"the chunk at byte {record_start} is corrupt ({error})",
                        lost_bytes=self._file.tell() - record_start,
                        lost_chunks=1,
                    )
                    self.scan_end_offset = self._file.tell()
                    after_lost_chunk = True
                    continue
            elif isinstance(record, MessageIndex) and after_lost_chunk:
                self.damage.messages += len(record.records)
                self.scan_end_offset = self._file.tell()
                continue
            after_lost_chunk = False
            resume_at = None
            if skip_damaged and isinstance(record, Chunk):
                true_end = record_start + chunk_record_size(record)
                if self._file.tell() > true_end:  # its length field claims more: re-read that
                    self.damage.note(
                        f"the chunk at byte {record_start} claims "
                        f"{self._file.tell() - true_end} bytes more than it holds"
                    )
                    resume_at = true_end
            undeclared = None
            for item in inner:
                if isinstance(item, Schema):
                    schemas[item.id] = item
                elif isinstance(item, Channel):
                    schema = schemas.get(item.schema_id)
                    self._scan_channels[item.id] = (item, "" if schema is None else schema.name)
                elif isinstance(item, Message) and item.channel_id not in self._scan_channels:
                    undeclared = item.channel_id
            if undeclared is not None:
                problem = f"a message on channel {undeclared}, which was never declared"
                if not skip_damaged:
                    self.scan_stopped = f"corrupt after byte {self.scan_end_offset}: {problem}"
                    break
                dropped = [
                    item
                    for item in inner
                    if isinstance(item, Message) and item.channel_id not in self._scan_channels
                ]
                self.damage.note(f"the chunk at byte {record_start} holds {problem}")
                self.damage.messages += len(dropped)
                inner = [item for item in inner if not any(item is d for d in dropped)]
            self.scan_end_offset = self._file.tell()
            for item in inner:
                if isinstance(item, Schema | Channel | Message | Metadata | Attachment):
                    yield ScanItem(item)
            if isinstance(record, DataEnd | Footer):
                break
            if resume_at is not None:
                records = self._records_at(resume_at)
                self.scan_end_offset = resume_at
        if self.scan_stopped is None and not isinstance(record, DataEnd | Footer):
            self.scan_stopped = (
                f"corrupt after byte {self.scan_end_offset}: a record runs past the data section"
                if self.complete
                else f"truncated: the file ends after byte {self.scan_end_offset} of "
                f"{self.size_bytes} without its summary (its writer did not close it)"
            )
        if self.scan_stopped is None and not self.complete and self.summary_problem is None:
            self.scan_stopped = (
                f"unfinished: its data section is whole, but the {self.size_bytes} bytes do "
                "not end with the footer and magic bytes that close a finished recording (cut "
                "short, or its writer did not finish closing it)"
            )
        if self.summary_problem is not None:
            self.scan_stopped = (
                self.summary_problem
                if self.scan_stopped is None
                else f"{self.summary_problem}, and there {self.scan_stopped}"
            )
        if self.scan_stopped is not None and not allow_truncated:
            raise RecordingError(f"{self.path}: {self.scan_stopped}; {RECOVER_HINT}")

    def check(self) -> None:
        """``RecordingError`` (one line naming the problem and ``hil record recover``) unless
        this is a finished recording whose every chunk is whole and CRC-valid: what replaying
        it needs. Reads every chunk (about a second per GB)."""
        for _ in self.scan(open_chunks=False):
            pass

    def _records_at(self, offset: int) -> Iterator[McapRecord]:
        """The records from ``offset`` on (0: the start, after the magic bytes), chunks as
        chunks; a record longer than the file raises ``RecordLengthLimitExceeded``."""
        self._file.seek(offset)
        reader = StreamReader(
            self._file,
            skip_magic=offset > 0,
            emit_chunks=True,
            record_size_limit=self.size_bytes,
        )
        return reader.records

    def _find_chunk(self, start: int) -> int | None:
        """Offset of the first whole, CRC-valid chunk record at or after ``start``, where
        reading can resume after unreadable bytes (None: there is none)."""
        block = 1 << 20
        at = start
        while at < self.size_bytes:
            self._file.seek(at)
            window = self._file.read(block)
            found = window.find(CHUNK_OPCODE)
            while found != -1:
                if self._chunk_at(at + found):
                    return at + found
                found = window.find(CHUNK_OPCODE, found + 1)
            at += block
        return None

    def _chunk_at(self, offset: int) -> bool:
        """A whole chunk record starts at ``offset``: its lengths agree with each other and
        the file, and its records decompress to the size and CRC it claims."""
        self._file.seek(offset)
        head = self._file.read(CHUNK_HEAD.size)
        if len(head) < CHUNK_HEAD.size:
            return False
        _, length, _, _, uncompressed_size, _, name_length = CHUNK_HEAD.unpack(head)
        if (
            name_length > MAX_COMPRESSION_NAME
            or uncompressed_size > MAX_CHUNK_BYTES
            or offset + 9 + length > self.size_bytes
        ):
            return False
        name = self._file.read(name_length)
        size = self._file.read(8)
        if name not in KNOWN_COMPRESSIONS or len(size) < 8:
            return False
        if CHUNK_HEAD.size - 9 + name_length + 8 + int.from_bytes(size, "little") != length:
            return False
        self._file.seek(offset + 9)
        try:
            chunk_bytes(Chunk.read(ReadDataStream(self._file)))
        except DECODE_ERRORS:
            return False
        return True

    def attachments(self) -> dict[str, bytes]:
        """Attachments by name: their data (a later one of the same name wins)."""
        return {
            record.name: bytes(record.data)
            for record in self._named_records(Attachment, "attachments")
            if isinstance(record, Attachment)
        }

    def metadata(self) -> dict[str, dict[str, str]]:
        """Metadata records by name (a later record of the same name wins)."""
        return {
            record.name: dict(record.metadata)
            for record in self._named_records(Metadata, "metadata")
            if isinstance(record, Metadata)
        }

    def _named_records(
        self, kind: type[Attachment] | type[Metadata], what: str
    ) -> list[Attachment | Metadata]:
        """Every attachment or metadata record in file order: through the summary's index for a
        finished file, else by scanning the data section up to where it ends."""
        try:
            if self.complete:
                reader = self._seeking()
                found = reader.iter_attachments() if kind is Attachment else reader.iter_metadata()
                return list(found)
        except DECODE_ERRORS as error:
            raise RecordingError(f"{self.path}: corrupt {what}: {error}") from error
        return [
            item.record for item in self.scan(allow_truncated=True) if isinstance(item.record, kind)
        ]

    def info(self, *, verify: bool = True) -> RecordingInfo:
        """Topics, counts, time span, metadata and attachments; an unfinished file is scanned
        (``problem`` says where its complete part ends). A finished file is described from its
        summary and, with ``verify``, every chunk is read and its CRC checked (``problem`` names
        the first bad one)."""
        if self.complete:
            info = self._indexed_info()
            if verify:
                for _ in self.scan(allow_truncated=True, open_chunks=False):
                    pass
                info.problem = self.scan_stopped
            return info
        info = RecordingInfo(self.path, self.size_bytes, complete=False)
        counts: Counter[int] = Counter()
        for item in self.scan(allow_truncated=True):
            record = item.record
            if isinstance(record, Message):
                counts[record.channel_id] += 1
                if info.start_ns is None or record.log_time < info.start_ns:
                    info.start_ns = record.log_time
                if info.end_ns is None or record.log_time > info.end_ns:
                    info.end_ns = record.log_time
            elif isinstance(record, Metadata):
                info.metadata[record.name] = dict(record.metadata)
            elif isinstance(record, Attachment):
                info.attachments.append((record.name, record.media_type, len(record.data)))
        for channel, schema_name in self._scan_channels.values():
            info.topics[channel.topic] = TopicInfo(
                channel.topic, schema_name, channel.message_encoding, counts[channel.id]
            )
        info.problem = self.scan_stopped
        return info

    def _indexed_info(self) -> RecordingInfo:
        info = RecordingInfo(self.path, self.size_bytes, complete=True)
        try:
            summary = self._seeking().get_summary()
            info.metadata = self.metadata()
            info.attachments = [
                (record.name, record.media_type, len(record.data))
                for record in self._seeking().iter_attachments()
            ]
        except DECODE_ERRORS as error:
            raise RecordingError(f"{self.path}: corrupt summary: {error}") from error
        if summary is None:
            return info
        counts = summary.statistics.channel_message_counts if summary.statistics else {}
        for channel in summary.channels.values():
            schema = summary.schemas.get(channel.schema_id)
            info.topics[channel.topic] = TopicInfo(
                channel.topic,
                "" if schema is None else schema.name,
                channel.message_encoding,
                counts.get(channel.id, 0),
            )
        if summary.statistics is not None and summary.statistics.message_count:
            info.start_ns = summary.statistics.message_start_time
            info.end_ns = summary.statistics.message_end_time
        return info


_RECORD_HEAD = struct.Struct("<BQ")
"""A record's opcode and body length."""
_MESSAGE_HEAD = struct.Struct("<HIQQ")
"""A message record's channel id, sequence, log time and publish time (its data follows)."""


def chunk_record_size(chunk: Chunk) -> int:
    """The bytes of ``chunk``'s record as written: opcode, length and its fields."""
    return CHUNK_HEAD.size + len(chunk.compression.encode()) + 8 + len(chunk.data)


def chunk_bytes(chunk: Chunk) -> bytes:
    """The chunk's records, decompressed, its CRC checked (``ValueError`` if it differs or the
    chunk is not what it claims)."""
    if chunk.uncompressed_size > MAX_CHUNK_BYTES:
        raise ValueError(f"a chunk claims {chunk.uncompressed_size} bytes uncompressed")
    if chunk.compression == "zstd":
        data: bytes = zstandard.decompress(chunk.data, chunk.uncompressed_size)
    elif chunk.compression == "":
        data = chunk.data
    else:  # lz4 and anything newer: the mcap library's own decoding
        stream, size = get_chunk_data_stream(chunk)
        data = stream.read(size)
    if len(data) != chunk.uncompressed_size:
        raise ValueError(
            f"a chunk holds {len(data)} bytes uncompressed, not the {chunk.uncompressed_size} "
            "it claims"
        )
    if chunk.uncompressed_crc and zlib.crc32(data) != chunk.uncompressed_crc:
        raise ValueError(f"a chunk's CRC differs from its records' ({chunk.uncompressed_crc:#x})")
    return data


def chunk_messages(
    data: bytes, wanted: Collection[int], declared: Collection[int]
) -> Iterator[tuple[int, int, bytes]]:
    """(channel id, log time ns, payload) of each message in a chunk's records ``data`` whose
    channel is in ``wanted``, in file order. Parsed in place at computed offsets (the mcap
    library builds a record object per message of every topic: 4× slower for one topic of a
    run's recording); ``ValueError`` for a record that runs past the chunk or a message on a
    channel not ``declared``."""
    record_head, message_head = _RECORD_HEAD.unpack_from, _MESSAGE_HEAD.unpack_from
    end = len(data)
    at = 0
    while at < end:
        opcode, length = record_head(data, at)
        body = at + 9
        at = body + length
        if at > end:
            raise ValueError("a record runs past the end of its chunk")
        if opcode != Opcode.MESSAGE:
            continue
        channel_id, _, log_time, _ = message_head(data, body)
        if channel_id in wanted:
            yield channel_id, log_time, data[body + 22 : at]
        elif channel_id not in declared:
            raise ValueError(f"a message on channel {channel_id}, which was never declared")


def _filtered(
    item: ScanItem,
    wanted: frozenset[str] | None,
    start_ns: int | None,
    end_ns: int | None,
    channels: dict[int, tuple[Channel, str]],
) -> Iterator[RecordedMessage]:
    record = item.record
    if not isinstance(record, Message):
        return
    channel, schema_name = channels[record.channel_id]
    if wanted is not None and channel.topic not in wanted:
        return
    if start_ns is not None and record.log_time < start_ns:
        return
    if end_ns is not None and record.log_time >= end_ns:
        return
    yield RecordedMessage(channel.topic, record.log_time, record.data, schema_name)
