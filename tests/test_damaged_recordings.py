"""Damaged recordings as an operator meets them (issue 21 §2): a file missing only its footer, a
corrupt chunk in the middle, a bit flipped in the first chunk, garbage after the magic bytes, a
campaign replaying a folder holding such files — and bad ``hil replay`` windows and stepping
with stdin that is not a terminal. Every file is a real ``hil run`` recording damaged on disk,
and every command is the real CLI."""

from __future__ import annotations

import json
import random
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

from cli_support import hil, last_json
from conftest import CONFIGS
from mcap.records import Channel, Chunk, Message
from mcap.stream_reader import StreamReader, breakup_chunk

from hil.recording.reader import MCAP_MAGIC, Recording

SIM_RIG = CONFIGS / "rigs" / "sim.toml"


def assert_one_error_line(done: subprocess.CompletedProcess[str], *words: str) -> str:
    """Exit 2 with exactly one ``error: …`` line on stderr holding every one of ``words``."""
    assert done.returncode == 2, (done.returncode, done.stderr)
    assert "Traceback" not in done.stderr, done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), done.stderr
    for word in words:
        assert word in lines[0], lines[0]
    return lines[0]


def chunk_spans(path: Path) -> list[tuple[int, int, set[tuple[str, int, bytes]]]]:
    """(start offset, end offset, its messages as (topic, log time, payload)) of every chunk
    record, in file order."""
    spans = []
    topics: dict[int, str] = {}
    with path.open("rb") as file:
        records = StreamReader(file, emit_chunks=True).records
        start = file.tell()
        for record in records:
            end = file.tell()
            if isinstance(record, Channel):
                topics[record.id] = record.topic
            elif isinstance(record, Chunk):
                inner = breakup_chunk(record, validate_crc=True)
                messages = {
                    (topics[m.channel_id], m.log_time, m.data)
                    for m in inner
                    if isinstance(m, Message)
                }
                spans.append((start, end, messages))
            start = end
    return spans


def all_messages(path: Path) -> set[tuple[str, int, bytes]]:
    with Recording(path) as recording:
        return {(m.topic, m.log_time_ns, m.payload) for m in recording.messages()}


def without_footer(source: Path, folder: Path) -> Path:
    """``head -c -1 source``: every chunk and the summary there, the closing magic cut."""
    path = folder / "no-footer.mcap"
    path.write_bytes(source.read_bytes()[:-1])
    return path


def xored_middle(source: Path, folder: Path) -> Path:
    """50 bytes XOR-ed with 0xff in the middle of the chunk nearest the file's middle (the
    message index records between chunks carry no CRC, and losing them loses nothing)."""
    data = bytearray(source.read_bytes())
    start, end, _ = min(
        chunk_spans(source), key=lambda span: abs((span[0] + span[1]) // 2 - len(data) // 2)
    )
    middle = (start + end) // 2
    data[middle : middle + 50] = bytes(b ^ 0xFF for b in data[middle : middle + 50])
    path = folder / "xored.mcap"
    path.write_bytes(bytes(data))
    return path


# 1. missing only its footer


def test_a_recording_missing_only_its_footer_is_unfinished_and_recovers_whole(
    armed_sim_run: tuple[Path, dict[str, Any]], tmp_path: Path
) -> None:
    source, run = armed_sim_run
    cut = without_footer(source, tmp_path)
    info = hil("record", "info", str(cut))
    assert_one_error_line(info, str(cut), "hil record recover")
    assert "UNFINISHED" in info.stdout
    as_json = hil("record", "info", "--json", str(cut))
    assert_one_error_line(as_json, "hil record recover")
    described = json.loads(as_json.stdout)
    assert described["complete"] is False and described["problem"]
    assert described["messages"] == run["recording"]["messages"]  # shown up to its end
    for args in ((), ("--verify",)):
        assert_one_error_line(hil("replay", str(cut), *args), str(cut), "hil record recover")
    fixed = tmp_path / "fixed.mcap"
    done = hil("record", "recover", str(cut), str(fixed))
    assert done.returncode == 0, done.stderr
    assert "the file was complete" not in done.stdout
    assert f"recovered {run['recording']['messages']} messages into {fixed}" in done.stdout
    assert all_messages(fixed) == all_messages(source)
    verified = hil("replay", str(fixed), "--verify")
    assert verified.returncode == 0, verified.stderr


# 2. a corrupt chunk in the middle


def test_every_form_of_replay_refuses_a_corrupt_recording(
    armed_sim_run: tuple[Path, dict[str, Any]], tmp_path: Path
) -> None:
    source, _ = armed_sim_run
    bad = xored_middle(source, tmp_path)
    for args in ((), ("--compare",), ("--verify",), ("--to", "1")):
        assert_one_error_line(
            hil("replay", str(bad), *args), str(bad), "corrupt", "hil record recover"
        )
    assert_one_error_line(hil("record", "info", str(bad)), "corrupt", "hil record recover")


# 3. recovery skips a damaged chunk; garbage is nothing to recover


def test_recover_skips_a_damaged_first_chunk_and_keeps_every_valid_one(
    armed_sim_run: tuple[Path, dict[str, Any]], tmp_path: Path
) -> None:
    source, run = armed_sim_run
    spans = chunk_spans(source)
    assert len(spans) >= 2  # at least a chunk of cycle inputs and one of bulk topics
    first_start, first_end, first_messages = spans[0]
    data = bytearray(source.read_bytes())
    data[(first_start + first_end) // 2] ^= 0x10  # one bit, inside the compressed records
    bad = tmp_path / "bad.mcap"
    bad.write_bytes(bytes(data))
    fixed = tmp_path / "fixed.mcap"
    done = hil("record", "recover", str(bad), str(fixed))
    assert done.returncode == 0, done.stderr
    lost = len(first_messages)
    kept = run["recording"]["messages"] - lost
    assert f"recovered {kept} messages into {fixed}" in done.stdout
    assert f"1 damaged chunk ({lost} messages)" in done.stdout
    assert all_messages(fixed) == all_messages(source) - first_messages
    assert hil("record", "info", str(fixed)).returncode == 0


def test_recover_finds_nothing_in_garbage_after_the_magic_and_writes_nothing(
    tmp_path: Path,
) -> None:
    bad = tmp_path / "garbage.mcap"
    bad.write_bytes(MCAP_MAGIC + random.Random(21).randbytes(200_000))
    done = hil("record", "recover", str(bad))
    assert_one_error_line(done, str(bad), "nothing")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["garbage.mcap"]


# 4. a campaign replaying a folder with bad files


def test_a_campaign_replay_case_flags_bad_sources_and_names_them_honestly(
    armed_sim_run: tuple[Path, dict[str, Any]], tmp_path: Path
) -> None:
    source, _ = armed_sim_run
    folder = tmp_path / "recordings"
    folder.mkdir()
    (folder / "a-good.mcap").write_bytes(source.read_bytes())
    without_footer(source, folder)
    xored_middle(source, folder)
    whole = source.read_bytes()
    (folder / "truncated.mcap").write_bytes(whole[: len(whole) * 2 // 3])
    (folder / "z-not-mcap.mcap").write_bytes(b"[rig]\nmode = 'sim'\n")
    campaign = tmp_path / "campaign.toml"
    campaign.write_text(
        f'[campaign]\nname = "t"\nrig = "{SIM_RIG}"\n\n[[cases]]\nname = "again"\n'
        f'mode = "replay"\nrecording = "{folder}"\ncriteria = ["frames >= 1"]\n'
        'sweep_criteria = ["mean(frames) >= 1"]\n'
    )
    done = hil("campaign", "run", str(campaign), "--out", str(tmp_path / "out"))
    assert done.returncode == 1, done.stderr
    (results_file,) = (tmp_path / "out").glob("*/results.json")
    results = json.loads(results_file.read_text())
    runs = {Path(r["replay_of"]).name: r for r in results["cases"][0]["runs"]}
    assert runs["a-good.mcap"]["verdict"] == "pass"
    for name in ("no-footer.mcap", "xored.mcap", "truncated.mcap", "z-not-mcap.mcap"):
        run = runs[name]
        assert run["verdict"] == "error", (name, run)
        assert run["error"] and str(folder / name) in run["error"]
        # reproducing means playing the bad source again, not a (partial) re-recording of it
        assert run["replay_command"] == f"hil replay {folder / name} --compare", run
        assert f"reproduce: hil replay {folder / name} --compare" in done.stdout
    for name in ("no-footer.mcap", "xored.mcap", "truncated.mcap"):
        assert "hil record recover" in runs[name]["error"]
    # the unreadable file has no seed to show: it is named by its file, not its folder index
    assert runs["z-not-mcap.mcap"]["seed"] is None
    (sweep,) = results["cases"][0]["criteria"]
    assert sweep["verdict"] == "error" and "z-not-mcap.mcap" in sweep["reason"], sweep
    assert "again z-not-mcap.mcap: ERROR" in done.stdout  # its progress line
    junit = results_file.parent / "junit.xml"
    names = [c.get("name") for c in ET.parse(junit).getroot().iter("testcase")]
    assert "z-not-mcap.mcap" in names and not any("seed 4" in n for n in names if n), names
    report = hil("campaign", "report", str(results_file.parent))
    assert report.returncode == 0, report.stderr


# 5. bad windows and stepping without a terminal


def test_a_bad_replay_window_is_one_error_line_and_exit_2(
    armed_sim_run: tuple[Path, dict[str, Any]],
) -> None:
    source, _ = armed_sim_run
    assert_one_error_line(hil("replay", str(source), "--from", "5", "--to", "2"), "--to", "--from")
    assert_one_error_line(hil("replay", str(source), "--from", "20"), "--from", "12.0")
    assert_one_error_line(hil("replay", str(source), "--from", "3", "--to", "3"), "--to")


def test_stepping_with_stdin_at_end_or_a_file_plays_without_a_traceback(
    armed_sim_run: tuple[Path, dict[str, Any]], tmp_path: Path
) -> None:
    source, run = armed_sim_run
    command = [sys.executable, "-m", "hil", "replay", str(source), "--step", "--json"]
    at_end = subprocess.run(
        command, stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=120
    )
    assert "Traceback" not in at_end.stderr, at_end.stderr
    assert last_json(at_end)["digest"] == run["digest"]
    assert at_end.stderr == ""  # the end of input plays the rest, no cycle stepped through
    keys = tmp_path / "keys.txt"
    keys.write_text("\n\n\nc\n")
    with keys.open() as stdin:
        from_file = subprocess.run(
            command, stdin=stdin, capture_output=True, text=True, timeout=120
        )
    assert "Traceback" not in from_file.stderr, from_file.stderr
    assert last_json(from_file)["digest"] == run["digest"]
    lines = from_file.stderr.strip().splitlines()
    assert [line.split(" t=")[0] for line in lines] == ["cycle 1", "cycle 2", "cycle 3"]
