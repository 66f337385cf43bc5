"""The MCAP recording layer in-process: round trips, filters, the bounded queue, damaged files,
recovery and the reader's memory."""

from __future__ import annotations

import json
import logging
import os
import random
import struct
import threading
import tracemalloc
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from mcap.data_stream import ReadDataStream
from mcap.reader import make_reader
from mcap.records import Chunk, Message
from mcap.stream_reader import StreamReader, breakup_chunk

from hil.errors import HilError, RecordingError
from hil.recording.channels import (
    CLOSE_METADATA,
    RECOVERY_METADATA,
    RUN_METADATA,
    Attachment,
    binary_channel,
    default_recording_path,
    json_channel,
    run_metadata,
)
from hil.recording.reader import Recording
from hil.recording.recover import recover
from hil.recording.writer import Recorder

T0_NS = 1_790_000_000 * 10**9
STATUS_SCHEMA = {
    "title": "hil.test.Status",
    "type": "object",
    "properties": {"n": {"type": "integer"}, "ok": {"type": "boolean"}},
}
CHANNELS = [json_channel("/status", STATUS_SCHEMA), binary_channel("/cycle", "hil.cycle.v1")]


def write_steady(path: Path, count: int, **options: object) -> None:
    """``count`` cycles 10 ms apart: a JSON status and an 8-byte binary cycle each."""
    with Recorder(
        path,
        CHANNELS,
        metadata={RUN_METADATA: run_metadata(rig="sim", mode="sim", scenario="raid", seed=7)},
        attachments=[Attachment("rig.toml", "application/toml", b"[rig]\nmode = 'sim'\n")],
        **options,  # type: ignore[arg-type]
    ) as recorder:
        for n in range(count):
            t_ns = T0_NS + n * 10_000_000
            assert recorder.record_json("/status", t_ns, {"n": n, "ok": n % 2 == 0})
            assert recorder.record("/cycle", t_ns, struct.pack("<Q", n))


def test_round_trip_of_json_and_binary_channels_with_metadata(tmp_path: Path) -> None:
    path = tmp_path / "run.mcap"
    write_steady(path, 500, chunk_size=4096)
    with Recording(path) as recording:
        assert recording.complete
        messages = list(recording.messages())
        info = recording.info()
        attachments = info.attachments
    assert len(messages) == 1000
    assert [m.log_time_ns for m in messages] == sorted(m.log_time_ns for m in messages)
    cycles = [m for m in messages if m.topic == "/cycle"]
    statuses = [m for m in messages if m.topic == "/status"]
    assert [struct.unpack("<Q", m.payload)[0] for m in cycles] == list(range(500))
    assert [json.loads(m.payload) for m in statuses[:2]] == [
        {"n": 0, "ok": True},
        {"n": 1, "ok": False},
    ]
    assert {m.schema_name for m in cycles} == {"hil.cycle.v1"}
    assert {m.schema_name for m in statuses} == {"hil.test.Status"}
    assert info.problem is None and info.messages == 1000
    assert (info.start_ns, info.end_ns) == (T0_NS, T0_NS + 499 * 10_000_000)
    assert info.topics["/cycle"].message_encoding == "hil.cycle.v1"
    assert info.topics["/status"].message_encoding == "json"
    run = info.metadata[RUN_METADATA]
    assert (run["rig"], run["seed"], run["scenario"]) == ("sim", "7", "raid")
    assert run["software_version"].startswith("hil-testbed ")
    assert run["icd_radar"] and run["icd_plc"] and run["host"]
    assert info.metadata[CLOSE_METADATA] == {"messages_written": "1000", "messages_dropped": "0"}
    assert attachments == [("rig.toml", "application/toml", 19)]


@pytest.mark.parametrize("compression", ["zstd", "lz4", "none"])
def test_every_compression_round_trips_and_fsync_changes_nothing_read(
    tmp_path: Path, compression: str
) -> None:
    path = tmp_path / "run.mcap"
    write_steady(path, 200, chunk_size=1024, compression=compression, fsync=True)
    with Recording(path) as recording:
        cycles = [struct.unpack("<Q", m.payload)[0] for m in recording.messages({"/cycle"})]
        assert recording.info().problem is None
    assert cycles == list(range(200))
    chunk_compression = {b"zstd": "zstd", b"lz4": "lz4"}
    found = {name for raw, name in chunk_compression.items() if raw in path.read_bytes()}
    assert found == ({compression} if compression != "none" else set())


def test_default_path_sorts_by_utc_start_and_names_the_mode() -> None:
    started = datetime(2026, 11, 26, 11, 30, 5, tzinfo=timezone(timedelta(hours=1)))
    path = default_recording_path(Path("runs"), "emulate", started)
    assert path == Path("runs/20261126T103005Z-emulate.mcap")


def test_topic_set_and_time_range_select_messages(tmp_path: Path) -> None:
    path = tmp_path / "run.mcap"
    write_steady(path, 300, chunk_size=2048)
    start_ns, end_ns = T0_NS + 100 * 10_000_000, T0_NS + 200 * 10_000_000
    with Recording(path) as recording:
        picked = list(recording.messages({"/cycle"}, start_ns, end_ns))
    assert {m.topic for m in picked} == {"/cycle"}
    assert [struct.unpack("<Q", m.payload)[0] for m in picked] == list(range(100, 200))


def test_close_is_safe_twice_and_no_thread_outlives_it(tmp_path: Path) -> None:
    recorder = Recorder(tmp_path / "run.mcap", CHANNELS)
    assert any(thread.name == "hil-recorder" for thread in threading.enumerate())
    recorder.record("/cycle", T0_NS, b"x")
    first = recorder.close()
    assert recorder.close() is first
    assert (first.messages_written, first.messages_dropped, first.error) == (1, 0, None)
    assert first.size_bytes == (tmp_path / "run.mcap").stat().st_size
    assert not any(thread.name == "hil-recorder" for thread in threading.enumerate())
    with pytest.raises(RecordingError, match="closed"):
        recorder.record("/cycle", T0_NS, b"x")


def test_undeclared_topic_and_non_finite_json_are_refused(tmp_path: Path) -> None:
    with Recorder(tmp_path / "run.mcap", CHANNELS) as recorder:
        with pytest.raises(ValueError, match="not declared"):
            recorder.record("/nope", T0_NS, b"")
        with pytest.raises(ValueError, match="Out of range float"):
            recorder.record_json("/status", T0_NS, {"n": float("nan")})


def test_an_existing_recording_is_never_overwritten_unless_asked(tmp_path: Path) -> None:
    path = tmp_path / "run.mcap"
    write_steady(path, 10)
    before = path.read_bytes()
    with pytest.raises(RecordingError, match="already exists; choose another path"):
        Recorder(path, CHANNELS)
    assert path.read_bytes() == before
    Recorder(path, CHANNELS, overwrite=True).close()
    with Recording(path) as recording:
        assert recording.info().messages == 0


def test_file_order_reads_the_same_messages_as_recorded(tmp_path: Path) -> None:
    """Out-of-order log times (a raw byte stamped before the cycle that follows it was queued):
    log-time order sorts them, file order keeps them as recorded."""
    path = tmp_path / "run.mcap"
    times = [T0_NS + offset for offset in (0, 30, 10, 20, 50, 40)]
    with Recorder(path, CHANNELS) as recorder:
        for n, t_ns in enumerate(times):
            recorder.record("/cycle", t_ns, struct.pack("<Q", n))
    with Recording(path) as recording:
        by_time = [m.log_time_ns for m in recording.messages()]
        as_recorded = [m.log_time_ns for m in recording.messages(file_order=True)]
    assert by_time == sorted(times) and as_recorded == times


def test_unwritable_path_is_one_recording_error(tmp_path: Path) -> None:
    with pytest.raises(RecordingError, match=r"cannot create recording .*missing"):
        Recorder(tmp_path / "missing" / "run.mcap", CHANNELS)


def test_full_queue_drops_counts_and_warns_once(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """A writer slower than the loop (every 256 kB message is its own chunk to compress and
    write; queuing one costs a microsecond): record() returns at once, drops and counts when the
    queue is full, the first drop warns, once, and the file holds exactly what was accepted."""
    path = tmp_path / "run.mcap"
    recorder = Recorder(path, CHANNELS, queue_size=8, chunk_size=1024)
    noise = random.Random(1).randbytes(256 * 1024)
    accepted = dropped = 0
    with caplog.at_level(logging.WARNING, logger="hil.recording.writer"):
        for n in range(2000):
            if recorder.record("/cycle", T0_NS + n, noise):
                accepted += 1
            else:
                dropped += 1
                if dropped == 50:
                    break
        stats = recorder.close()
    assert dropped == 50, "the writer kept up with 2000 messages of 256 kB: no drop to count"
    warnings = [r for r in caplog.records if "cannot keep up" in r.getMessage()]
    assert len(warnings) == 1
    assert (stats.messages_written, stats.messages_dropped, stats.error) == (accepted, 50, None)
    with Recording(path) as recording:
        info = recording.info()
    assert info.problem is None and info.topics["/cycle"].messages == accepted
    assert info.metadata[CLOSE_METADATA]["messages_dropped"] == "50"


def test_a_failing_write_is_logged_once_and_the_rest_counted_as_dropped(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """The writer's output fails mid-run (a pipe cannot seek, as a full or lost disk cannot
    write): one error line, every later message dropped and counted, close() says why."""
    fifo = tmp_path / "pipe.mcap"
    os.mkfifo(fifo)
    read_end = os.open(fifo, os.O_RDONLY | os.O_NONBLOCK)
    try:
        with caplog.at_level(logging.WARNING, logger="hil.recording.writer"):
            recorder = Recorder(fifo, CHANNELS, chunk_size=64, overwrite=True)
            for n in range(20):
                recorder.record("/cycle", T0_NS + n, struct.pack("<Q", n))
            stats = recorder.close()
    finally:
        os.close(read_end)
    assert stats.error is not None and "failed" in stats.error
    assert stats.messages_written + stats.messages_dropped == 20 and stats.messages_dropped > 0
    errors = [r for r in caplog.records if r.levelno == logging.ERROR]
    assert len(errors) == 1


def test_a_disk_full_at_start_is_one_recording_error() -> None:
    with pytest.raises(RecordingError, match="cannot write recording /dev/full"):
        Recorder(Path("/dev/full"), CHANNELS, overwrite=True)


def test_empty_not_mcap_and_missing_files_are_one_recording_error(tmp_path: Path) -> None:
    empty = tmp_path / "empty.mcap"
    empty.write_bytes(b"")
    text = tmp_path / "notes.mcap"
    text.write_text("[rig]\nmode = 'sim'\n")
    for path, problem in (
        (empty, "empty"),
        (text, "not an MCAP recording"),
        (tmp_path / "gone.mcap", "cannot open"),
    ):
        with pytest.raises(RecordingError, match=problem) as raised:
            Recording(path)
        assert isinstance(raised.value, HilError) and "\n" not in str(raised.value)


def test_truncated_file_reads_up_to_its_last_flush_then_says_so(tmp_path: Path) -> None:
    path = tmp_path / "run.mcap"
    write_steady(path, 400, chunk_size=1024)
    whole = path.read_bytes()
    cut = tmp_path / "cut.mcap"
    cut.write_bytes(whole[: len(whole) * 2 // 3])
    with Recording(cut) as recording:
        assert not recording.complete
        info = recording.info()
        with pytest.raises(RecordingError, match=r"truncated.*hil record recover"):
            list(recording.messages())
        partial = list(recording.messages(allow_truncated=True))
    assert info.problem is not None and info.problem.startswith("truncated")
    assert 0 < info.messages == len(partial) < 800
    cycles = [struct.unpack("<Q", m.payload)[0] for m in partial if m.topic == "/cycle"]
    assert cycles == list(range(len(cycles)))


def test_a_file_killed_before_its_first_flush_still_names_its_topics(tmp_path: Path) -> None:
    path = tmp_path / "run.mcap"
    write_steady(path, 100)  # one chunk, written at close
    whole = path.read_bytes()
    with path.open("rb") as stream:
        summary = make_reader(stream).get_summary()
    assert summary is not None
    first_chunk = summary.chunk_indexes[0].chunk_start_offset
    cut = tmp_path / "cut.mcap"
    cut.write_bytes(whole[: first_chunk + 50])
    with Recording(cut) as recording:
        info = recording.info()
    assert {topic: t.messages for topic, t in info.topics.items()} == {"/status": 0, "/cycle": 0}
    assert info.topics["/status"].schema_name == "hil.test.Status"
    assert info.metadata[RUN_METADATA]["seed"] == "7"


def test_recover_keeps_every_complete_message_at_any_cut(tmp_path: Path) -> None:
    path = tmp_path / "run.mcap"
    write_steady(path, 200, chunk_size=512)
    whole = path.read_bytes()
    with path.open("rb") as stream:  # the header record, then the first schema
        records = StreamReader(stream).records
        next(records)
        next(records)
        first_declaration_end = stream.tell()
    kept_before = -1
    for cut_at in range(8, len(whole), max(1, len(whole) // 40)):
        cut = tmp_path / "cut.mcap"
        cut.write_bytes(whole[:cut_at])
        (tmp_path / "fixed.mcap").unlink(missing_ok=True)
        if cut_at < first_declaration_end:  # cut before its first declaration: nothing to keep
            with pytest.raises(RecordingError, match="nothing recoverable"):
                recover(cut, tmp_path / "fixed.mcap")
            assert sorted(p.name for p in tmp_path.iterdir()) == ["cut.mcap", "run.mcap"]
            continue
        report = recover(cut, tmp_path / "fixed.mcap")
        with Recording(report.out) as fixed:
            assert fixed.complete
            info = fixed.info()
            messages = list(fixed.messages())
        assert info.problem is None and len(messages) == report.messages_kept
        assert report.messages_kept >= kept_before  # a longer prefix never keeps less
        kept_before = report.messages_kept
        cycles = [struct.unpack("<Q", m.payload)[0] for m in messages if m.topic == "/cycle"]
        assert cycles == list(range(len(cycles)))
        assert info.metadata[RECOVERY_METADATA]["messages_kept"] == str(len(messages))
        with report.out.open("rb") as stream:
            summary = make_reader(stream).get_summary()
        assert summary is not None and len(summary.channels) in (0, 2)  # never a duplicate
    assert kept_before > 300


def test_corrupt_chunk_is_one_recording_error_and_recover_skips_only_that_chunk(
    tmp_path: Path,
) -> None:
    path = tmp_path / "run.mcap"
    write_steady(path, 400, chunk_size=1024, compression="none")
    data = bytearray(path.read_bytes())
    marker = struct.pack("<Q", 300)  # the payload of cycle 300, stored uncompressed
    at = data.index(marker)
    data[at : at + 8] = b"\xff" * 8
    bad = tmp_path / "bad.mcap"
    bad.write_bytes(bytes(data))
    with Recording(bad) as recording:
        assert recording.complete
        with pytest.raises(RecordingError, match=r"corrupt.*crc"):
            list(recording.messages())
        assert recording.info().problem is not None
    report = recover(bad, tmp_path / "fixed.mcap")
    assert report.stopped is None  # read to the end of the data section
    assert report.damage is not None and "corrupt" in report.damage and report.chunks_lost == 1
    with Recording(report.out) as fixed:
        cycles = [struct.unpack("<Q", m.payload)[0] for m in fixed.messages({"/cycle"})]
    # only the damaged chunk's cycles are missing: the valid chunks before and after it are kept
    missing = sorted(set(range(400)) - set(cycles))
    assert 300 in missing and missing == list(range(missing[0], missing[-1] + 1))
    assert len(missing) < 50 and cycles == sorted(cycles)
    assert report.messages_kept == 800 - report.messages_lost == 800 - 2 * len(missing)


@pytest.mark.parametrize("extra", [1 << 60, 3000], ids=["past-the-end", "swallowing-chunks"])
def test_recover_resumes_at_the_next_valid_chunk_after_a_broken_record_length(
    tmp_path: Path, extra: int
) -> None:
    """A chunk whose record length is damaged: running past the file's end, it cannot be
    framed, nor can what follows until a whole, CRC-valid chunk is found again (that chunk is
    lost); claiming a few kB too many, it would swallow the chunks after it (it is read, and
    so are they)."""
    path = tmp_path / "run.mcap"
    write_steady(path, 400, chunk_size=1024)
    with path.open("rb") as stream:
        summary = make_reader(stream).get_summary()
    assert summary is not None
    chunks = sorted(summary.chunk_indexes, key=lambda c: c.chunk_start_offset)
    assert len(chunks) > 6
    broken = chunks[len(chunks) // 2]
    data = bytearray(path.read_bytes())
    at = broken.chunk_start_offset + 1
    data[at : at + 8] = struct.pack("<Q", broken.chunk_length - 9 + extra)
    bad = tmp_path / "bad.mcap"
    bad.write_bytes(bytes(data))
    report = recover(bad, tmp_path / "fixed.mcap")
    assert report.stopped is None and report.damage is not None
    with Recording(report.out) as fixed:
        kept = sorted((m.topic, m.log_time_ns, m.payload) for m in fixed.messages())
    with Recording(path) as whole:
        every = sorted((m.topic, m.log_time_ns, m.payload) for m in whole.messages())
    if extra > len(data):  # the broken chunk is lost, every other one kept
        topics = {c.id: c.topic for c in summary.channels.values()}
        with path.open("rb") as stream:
            stream.seek(broken.chunk_start_offset + 9)
            inner = breakup_chunk(Chunk.read(ReadDataStream(stream)), validate_crc=True)
        lost = {(topics[m.channel_id], m.log_time, m.data) for m in inner if isinstance(m, Message)}
        assert "unreadable" in report.damage and len(lost) > 10
        assert kept == sorted(set(every) - lost)
    else:  # nothing lost
        assert "bytes more than it holds" in report.damage and kept == every


def test_corrupt_summary_is_found_by_its_crc_and_recover_keeps_every_message(
    tmp_path: Path,
) -> None:
    path = tmp_path / "run.mcap"
    write_steady(path, 100)
    data = bytearray(path.read_bytes())
    data[-60] ^= 0x01  # inside the summary offsets, just before the footer
    bad = tmp_path / "bad.mcap"
    bad.write_bytes(bytes(data))
    with Recording(bad) as recording:
        assert not recording.complete
        info = recording.info()
        with pytest.raises(RecordingError, match="corrupt summary"):
            list(recording.messages())
    assert info.problem is not None and "summary CRC" in info.problem
    assert info.messages == 200  # every message is still in the data section
    report = recover(bad, tmp_path / "fixed.mcap")
    assert report.messages_kept == 200 and report.bytes_lost > 0


def test_any_damage_is_a_recording_error_never_another_exception(tmp_path: Path) -> None:
    """Bytes changed anywhere (magic, header, chunks, summary, footer), the file cut anywhere,
    or both: reading, describing and recovering either work or raise one-line RecordingErrors."""
    path = tmp_path / "run.mcap"
    write_steady(path, 100, chunk_size=700)
    whole = path.read_bytes()
    rng = random.Random(1)
    damaged, fixed = tmp_path / "damaged.mcap", tmp_path / "fixed.mcap"
    problems = []
    for _ in range(800):
        data = bytearray(whole)
        kind = rng.randrange(3)
        if kind in (0, 2):
            for _ in range(rng.randint(1, 4)):
                data[rng.randrange(len(data))] = rng.randrange(256)
        if kind in (1, 2):
            data = data[: rng.randrange(len(data))]
        damaged.write_bytes(bytes(data))
        fixed.unlink(missing_ok=True)
        try:
            with Recording(damaged) as recording:
                recording.info()
                recording.metadata()
                list(recording.messages(allow_truncated=True))
            recover(damaged, fixed)
        except RecordingError as error:
            problems.append(str(error))
    assert problems and all("\n" not in problem for problem in problems)


def test_reading_memory_does_not_grow_with_the_file(tmp_path: Path) -> None:
    """A ~24 MB recording read whole, through the index and as an unfinished file, with a peak
    of Python allocations a small fraction of the file."""
    path = tmp_path / "big.mcap"
    rng = random.Random(3)  # incompressible payloads: the file is as big as what was recorded
    with Recorder(path, CHANNELS, chunk_size=256 * 1024) as recorder:
        for n in range(60_000):
            # the default queue (65,536) holds the whole burst: nothing is dropped
            assert recorder.record("/cycle", T0_NS + n * 1000, rng.randbytes(400))
    size = path.stat().st_size
    assert size > 20e6
    cut = tmp_path / "cut.mcap"
    cut.write_bytes(path.read_bytes()[: size - 1000])
    for allow_truncated, file_order, source in (
        (False, False, path),
        (False, True, path),  # mcap's own file-order read queued every chunk first
        (True, False, cut),
    ):
        tracemalloc.start()
        try:
            with Recording(source) as recording:
                messages = recording.messages(
                    allow_truncated=allow_truncated, file_order=file_order
                )
                count = sum(1 for _ in messages)
            _, peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
        assert count > 59_000
        assert peak < 3e6, f"peak {peak / 1e6:.1f} MB reading a {size / 1e6:.0f} MB file"
