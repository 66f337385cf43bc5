"""Rewriting an unfinished (truncated), corrupt or damaged recording into a valid, indexed one.

Every complete, CRC-valid chunk is kept, with the schemas, channels, metadata and attachments,
every message in file order. A corrupt chunk is skipped (the messages its message index records
count are reported lost), bytes that cannot be read as records are skipped up to the next whole,
CRC-valid chunk, and what follows the last complete chunk is counted as lost bytes. A file in
which nothing at all can be read is refused, and nothing is written. Memory follows the chunk
size: messages are copied as they are read.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from mcap.exceptions import McapError
from mcap.records import Attachment, Channel, Message, Metadata, Schema
from mcap.writer import CompressionType, Writer

from hil.errors import RecordingError
from hil.recording.channels import RECOVERY_METADATA
from hil.recording.reader import Recording
from hil.recording.writer import DEFAULT_CHUNK_SIZE, INDEXES, LIBRARY


@dataclass(frozen=True)
class RecoveryReport:
    """What ``recover`` kept and lost: messages kept; damaged chunks skipped and the messages
    their indexes say they held (``messages_lost``, a lower bound: the messages of unreadable
    bytes and of the tail are not known); ``bytes_lost`` in all (damaged chunks, unreadable
    bytes, the tail after the last complete chunk). ``stopped`` says why reading stopped
    before the end (None: it read to the end of the data section), ``damage`` the first damage
    skipped (None: none)."""

    source: Path
    out: Path
    messages_kept: int
    bytes_lost: int
    stopped: str | None
    chunks_lost: int = 0
    messages_lost: int = 0
    damage: str | None = None


def default_out(source: Path) -> Path:
    """``run.mcap`` → ``run.recovered.mcap`` beside it."""
    return source.with_name(f"{source.stem}.recovered{source.suffix or '.mcap'}")


def recover(source: Path, out: Path | None = None) -> RecoveryReport:
    """Write the complete part of ``source`` to ``out`` (default ``default_out(source)``) as a
    finished recording. ``out`` must differ from ``source``; it is written to a temporary name
    beside it and renamed, so ``out`` is never left half-written; an existing ``out`` is
    refused, and so is a ``source`` in which nothing can be read (no declaration, message,
    metadata or attachment): ``RecordingError``, and nothing is written."""
    out = default_out(source) if out is None else out
    if out.resolve() == source.resolve():
        raise RecordingError(f"{out}: the recovered file must not overwrite the damaged one")
    if out.exists():
        raise RecordingError(f"{out} already exists; name another OUT or move it away")
    partial = out.with_name(f".{out.name}.partial")
    kept = 0
    found = 0
    with Recording(source) as recording:
        try:
            with partial.open("wb") as stream:
                writer = Writer(
                    stream,
                    chunk_size=DEFAULT_CHUNK_SIZE,
                    compression=CompressionType.ZSTD,
                    index_types=INDEXES,
                )
                writer.start(profile="", library=LIBRARY)
                schema_ids: dict[int, int] = {}
                channel_ids: dict[int, int] = {}
                for item in recording.scan(allow_truncated=True, skip_damaged=True):
                    found += 1
                    record = item.record
                    if isinstance(record, Schema | Channel) and record.id in (
                        schema_ids if isinstance(record, Schema) else channel_ids
                    ):
                        continue  # a declaration repeated (ahead of the chunks and in the first)
                    if isinstance(record, Schema):
                        schema_ids[record.id] = writer.register_schema(
                            record.name, record.encoding, record.data
                        )
                    elif isinstance(record, Channel):
                        channel_ids[record.id] = writer.register_channel(
                            record.topic,
                            record.message_encoding,
                            schema_ids.get(record.schema_id, 0),
                            dict(record.metadata),
                        )
                    elif isinstance(record, Message):
                        writer.add_message(
                            channel_ids[record.channel_id],
                            record.log_time,
                            record.data,
                            record.publish_time,
                            record.sequence,
                        )
                        kept += 1
                    elif isinstance(record, Metadata):
                        writer.add_metadata(record.name, dict(record.metadata))
                    elif isinstance(record, Attachment):
                        writer.add_attachment(
                            record.create_time,
                            record.log_time,
                            record.name,
                            record.media_type,
                            record.data,
                        )
                writer.add_metadata(
                    RECOVERY_METADATA,
                    {
                        "source": source.name,
                        "messages_kept": str(kept),
                        "stopped": recording.scan_stopped or "",
                        "chunks_lost": str(recording.damage.chunks),
                        "messages_lost": str(recording.damage.messages),
                        "damage": recording.damage.first or "",
                    },
                )
                writer.finish()  # type: ignore[no-untyped-call]  # mcap leaves it unannotated
            if found == 0:
                raise RecordingError(
                    f"{source}: nothing recoverable: not one schema, channel, message, metadata "
                    "or attachment record can be read after its magic bytes; no file written"
                )
            os.replace(partial, out)
        except (OSError, McapError) as error:
            raise RecordingError(f"{out}: cannot write the recovered recording: {error}") from error
        finally:
            partial.unlink(missing_ok=True)
        stopped = recording.scan_stopped
        damage = recording.damage
        tail = recording.size_bytes - recording.scan_end_offset if stopped else 0
    return RecoveryReport(
        source,
        out,
        kept,
        damage.bytes + tail,
        stopped,
        damage.chunks,
        damage.messages,
        damage.first,
    )
