"""``hil replay``'s closed loop (``--launcher model``) and its re-decoding of the raw radar bytes
(``--frames raw``): a sim recording closed on the PLC model reproduces its run bit for bit, an
emulated one runs to its end and launches, an emulated recording re-decoded from its raw bytes
gives the run's digest, and a corrupted raw chunk is counted and skipped."""

from __future__ import annotations

import re
import shutil
from pathlib import Path
from typing import Any

import pytest
from cli_support import hil, last_json
from conftest import CONFIGS
from mcap.records import Attachment, Channel, Message, Metadata, Schema
from mcap.writer import CompressionType, Writer

from drivers.radar.framing import HEADER_SIZE, decode
from drivers.radar.messages import MsgType
from hil.recording.reader import Recording
from hil.recording.run_layout import TOPIC_CYCLE_INPUT, TOPIC_RADAR_BYTES
from hil.rig.replay import ModelLauncher, first_cycle_ns

pytestmark = pytest.mark.xdist_group("test_replay_modes")
"""One worker for the whole file (``make pytest`` runs ``--dist loadgroup``): its tests share
a module-scoped fixture, which each worker would otherwise make again."""

SIM_RIG = CONFIGS / "rigs" / "sim.toml"
REDECODED = re.compile(
    r"(\d+) matched the recorded frames, (\d+) lost .*; (\d+) CRC errors, (\d+) resynchronisations"
)


def redecoded(summary: dict[str, Any]) -> tuple[int, int, int, int]:
    """(matched, lost, CRC errors, resynchronisations) from the replay's re-decoding note."""
    found = [m for m in map(REDECODED.search, summary["notes"]) if m is not None]
    assert len(found) == 1, summary["notes"]
    matched, lost, crc, resyncs = (int(g) for g in found[0].groups())
    return matched, lost, crc, resyncs


@pytest.fixture(scope="module")
def emulated(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, Any]]:
    """An armed 14 s emulated run's recording and summary (shared: an emulated run is slow).
    14 s, not less: the first engagement needs the emulated PLC's real slew and arming time,
    and an 8 s run ended before its launch about one time in two on a loaded machine."""
    path = tmp_path_factory.mktemp("emulated") / "emulate.mcap"
    run = last_json(hil("run", "--duration", "14", "--arm", "--record", str(path), "--json"))
    return path, run


def test_the_model_launcher_starts_its_clock_at_the_replays_start() -> None:
    origin_s = 123_456.789  # an emulate recording's loop clock: host monotonic seconds
    launcher = ModelLauncher(origin_s)
    status = launcher.status_at(origin_s + 1.0)
    assert status.t_s == origin_s + 1.0  # on the loop clock, so it is never "stale"
    assert launcher.plc.model.time_ms == pytest.approx(1000.0)  # 100 scans, not 1.2e7
    assert status.link_up and status.launch_count == 0


def test_a_sim_recording_closed_on_the_plc_model_reproduces_its_run(
    armed_sim_run: tuple[Path, dict[str, Any]],
) -> None:
    """The sim run's launcher was the same PLC model on the same loop times (its clock from
    0, the replay's origin 0), so the closed loop gives back every status: the same digest."""
    path, run = armed_sim_run  # the sim rig's default scenario, 12 s, armed, recorded
    assert run["launches"] >= 1
    replay = last_json(hil("replay", str(path), "--launcher", "model", "--json"))
    assert replay["replay"] == {"launcher": "model", "frames": "recorded"}
    assert replay["digest"] == run["digest"]
    assert replay["launches"] == run["launches"]
    assert replay["final_launch_count"] == run["final_launch_count"]
    assert any("no raw radar bytes" in note for note in replay["notes"])
    # frames raw on a recording without raw bytes is a usage error, one line
    done = hil("replay", str(path), "--frames", "raw")
    assert done.returncode == 2
    (line,) = done.stderr.strip().splitlines()
    assert "no raw radar bytes" in line and "--frames recorded" in line


def test_an_emulated_recording_closed_on_the_plc_model_runs_and_launches(
    emulated: tuple[Path, dict[str, Any]],
) -> None:
    path, run = emulated
    replay = last_json(hil("replay", str(path), "--launcher", "model", "--json"))
    assert replay["replay"] == {"launcher": "model", "frames": "raw"}
    assert replay["frames"] == run["frames"]  # to the end of the recording
    assert replay["duration_s"] == pytest.approx(run["duration_s"], abs=0.05)
    # a launch needs fresh, linked statuses: the model's times are on the loop clock
    assert replay["launches"] >= 1
    assert replay["final_launch_count"] == replay["launches"]  # counted by the model
    assert replay["rig_final_state"] == "SAFE"


def test_an_emulated_recording_re_decoded_from_its_raw_bytes_gives_the_runs_digest(
    emulated: tuple[Path, dict[str, Any]],
) -> None:
    path, run = emulated
    replay = last_json(hil("replay", str(path), "--json"))
    assert replay["replay"] == {"launcher": "recorded", "frames": "raw"}
    matched, lost, crc, _ = redecoded(replay)
    assert lost == 0 and crc == 0 and matched == run["frames"]
    assert replay["digest"] == run["digest"]  # unchanged codec: identical detections
    recorded = last_json(hil("replay", str(path), "--frames", "recorded", "--json"))
    assert recorded["digest"] == run["digest"]
    assert not any(REDECODED.search(note) for note in recorded["notes"])


def test_a_window_re_decodes_its_frames_from_the_raw_bytes_around_it(
    emulated: tuple[Path, dict[str, Any]],
) -> None:
    path, _ = emulated
    replay = last_json(hil("replay", str(path), "--from", "2", "--to", "4", "--json"))
    matched, lost, _, _ = redecoded(replay)
    assert lost == 0 and matched == replay["frames"] > 100


def test_the_window_counts_from_the_runs_first_cycle_not_the_recordings_first_byte(
    emulated: tuple[Path, dict[str, Any]],
) -> None:
    """A driver run records the radar's bytes while the emulators start, seconds before the
    loop's first cycle (on a loaded machine more than the window's start: "--from 2" used to
    find no cycles at all)."""
    path, _ = emulated
    with Recording(path) as recording:
        started_ns = recording.info(verify=False).start_ns
        first_cycle = next(recording.messages({TOPIC_CYCLE_INPUT}, file_order=True))
        assert first_cycle_ns(recording) == first_cycle.log_time_ns > started_ns
    replay = last_json(hil("replay", str(path), "--from", "0", "--to", "0.5", "--json"))
    assert replay["frames"] >= 25  # the radar sends ~100 frames/s from the first cycle on


def test_a_corrupted_raw_chunk_is_counted_and_skipped(
    emulated: tuple[Path, dict[str, Any]], tmp_path: Path
) -> None:
    path, run = emulated
    corrupted = tmp_path / "corrupted.mcap"
    chunk, offset = _a_detections_payload_byte(path)
    _copy_with_a_flipped_byte(path, corrupted, chunk, offset)
    replay = last_json(hil("replay", str(corrupted), "--json"))
    matched, lost, crc, resyncs = redecoded(replay)
    assert (crc, resyncs, lost) == (1, 1, 1)  # the link resynchronised at the next frame
    assert matched == run["frames"] - 1
    assert replay["frames"] == run["frames"] - 1  # the lost frame's cycle ran without it
    # the recorded inputs are untouched: --verify still passes
    verified = hil("replay", str(corrupted), "--verify")
    assert verified.returncode == 0, verified.stderr


def _a_detections_payload_byte(path: Path) -> tuple[int, int]:
    """(raw chunk index, offset in it) of a payload byte of a DETECTIONS frame mid-recording
    that lies, with its whole frame, after the first cycle."""
    with Recording(path) as recording:
        messages = list(recording.messages({TOPIC_RADAR_BYTES, TOPIC_CYCLE_INPUT}, file_order=True))
    chunks = [m.payload for m in messages if m.topic == TOPIC_RADAR_BYTES]
    stream = b"".join(chunks)
    starts: list[int] = []
    at = 0
    while True:
        used, frame, _ = decode(stream, at)
        if used == 0:
            break
        if frame is not None and frame.msg_type == MsgType.DETECTIONS:
            starts.append(at)
        at += used
    target = starts[len(starts) // 2] + HEADER_SIZE  # the first byte of t_us
    for index, chunk in enumerate(chunks):
        if target < len(chunk):
            return index, target
        target -= len(chunk)
    raise AssertionError("no raw chunk holds the chosen byte")


def _copy_with_a_flipped_byte(source: Path, out: Path, chunk_index: int, offset: int) -> None:
    """``source`` rewritten to ``out`` with one byte of its ``chunk_index``-th raw radar chunk
    inverted; everything else (metadata, attachments, messages) as it was."""
    shutil.copyfile(source, out)  # keep a same-size file if the rewrite fails half-way
    with Recording(source) as recording, out.open("wb") as stream:
        writer = Writer(stream, compression=CompressionType.ZSTD)
        writer.start(profile="", library="test")
        schema_ids: dict[int, int] = {}
        channel_ids: dict[int, int] = {}
        raw_channels: set[int] = set()
        seen = 0
        for item in recording.scan():
            record = item.record
            if isinstance(record, Schema) and record.id not in schema_ids:
                schema_ids[record.id] = writer.register_schema(
                    record.name, record.encoding, record.data
                )
            elif isinstance(record, Channel) and record.id not in channel_ids:
                channel_ids[record.id] = writer.register_channel(
                    record.topic,
                    record.message_encoding,
                    schema_ids.get(record.schema_id, 0),
                    dict(record.metadata),
                )
                if record.topic == TOPIC_RADAR_BYTES:
                    raw_channels.add(record.id)
            elif isinstance(record, Message):
                data = record.data
                if record.channel_id in raw_channels:
                    if seen == chunk_index:
                        data = data[:offset] + bytes([data[offset] ^ 0xFF]) + data[offset + 1 :]
                    seen += 1
                writer.add_message(
                    channel_ids[record.channel_id],
                    record.log_time,
                    data,
                    record.publish_time,
                    record.sequence,
                )
            elif isinstance(record, Metadata):
                writer.add_metadata(record.name, dict(record.metadata))
            elif isinstance(record, Attachment):
                writer.add_attachment(
                    record.create_time, record.log_time, record.name, record.media_type, record.data
                )
        writer.finish()  # type: ignore[no-untyped-call]  # mcap leaves it unannotated
