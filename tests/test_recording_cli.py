"""``hil record info`` and ``hil record recover`` as an operator runs them, and a recorder killed
with SIGKILL mid-write."""

from __future__ import annotations

import json
import signal
import struct
import subprocess
import sys
from pathlib import Path

import pytest
from cli_support import hil

from hil.recording.channels import RUN_METADATA, binary_channel, run_metadata
from hil.recording.reader import Recording
from hil.recording.writer import Recorder

T0_NS = 1_790_000_000 * 10**9
NS_PER_S = 1_000_000_000

# A loop that records one timestamped, numbered message every 2 ms until it is killed, and
# prints "n t_ns" for each message once record() has taken it.
STEADY_WRITER = """
import struct, sys, time
from pathlib import Path
from hil.recording.channels import binary_channel
from hil.recording.writer import Recorder

recorder = Recorder(Path(sys.argv[1]), [binary_channel("/seq", "hil.test.seq.v1")])
n = 0
while True:
    t_ns = time.time_ns()
    assert recorder.record("/seq", t_ns, struct.pack("<Q", n))
    print(n, t_ns, flush=True)
    n += 1
    time.sleep(0.002)  # the loop's own cadence
"""


def write_small(path: Path, count: int = 50) -> None:
    metadata = {RUN_METADATA: run_metadata(rig="emulate", mode="emulate", scenario="x", seed=42)}
    with Recorder(path, [binary_channel("/cycle", "hil.cycle.v1")], metadata=metadata) as rec:
        for n in range(count):
            rec.record("/cycle", T0_NS + n * 10_000_000, struct.pack("<Q", n))


def assert_one_error_line(done: subprocess.CompletedProcess[str], *words: str) -> None:
    assert done.returncode == 2, done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), done.stderr
    assert "Traceback" not in done.stderr
    for word in words:
        assert word in lines[0], lines[0]


def test_info_shows_topics_span_size_and_run_identity(tmp_path: Path) -> None:
    path = tmp_path / "run.mcap"
    write_small(path)
    done = hil("record", "info", str(path))
    assert done.returncode == 0, done.stderr
    assert "/cycle" in done.stdout and "hil.cycle.v1" in done.stdout
    assert "0.490 s from 2026-" in done.stdout
    assert "emulate" in done.stdout and "42" in done.stdout and "hil-testbed" in done.stdout
    as_json = json.loads(hil("record", "info", "--json", str(path)).stdout)
    assert as_json["topics"] == [
        {"topic": "/cycle", "messages": 50, "schema": "hil.cycle.v1", "encoding": "hil.cycle.v1"}
    ]
    assert (as_json["rig"], as_json["seed"], as_json["complete"]) == ("emulate", "42", True)
    assert as_json["size_bytes"] == path.stat().st_size
    assert as_json["duration_s"] == pytest.approx(0.49)


@pytest.mark.parametrize(
    ("content", "words"),
    [
        (b"", ("empty",)),
        (b"[rig]\nmode = 'sim'\n", ("not an MCAP recording",)),
        (b"\x89MCAP0\r\n\x01\x02", ("truncated", "hil record recover")),
        (b"\x89MCAP0\r\n" + b"\xff" * 64, ("hil record recover",)),
        (b"\x89MCAP0\r\n" * 2, ("hil record recover",)),
        (b"\x89MCAP0\r\n" + b"\x00" * 40 + b"\x89MCAP0\r\n", ("corrupt summary",)),
    ],
    ids=[
        "empty",
        "not-mcap",
        "truncated-header",
        "garbage-after-magic",
        "two-magics",
        "zeros-between-magics",
    ],
)
def test_unusable_files_are_one_line_and_exit_2(
    tmp_path: Path, content: bytes, words: tuple[str, ...]
) -> None:
    path = tmp_path / "bad.mcap"
    path.write_bytes(content)
    assert_one_error_line(hil("record", "info", str(path)), str(path), *words)


def test_missing_file_is_one_line_and_exit_2(tmp_path: Path) -> None:
    assert_one_error_line(hil("record", "info", str(tmp_path / "no.mcap")), "cannot open")
    assert_one_error_line(hil("record", "info", str(tmp_path)), "cannot open")
    assert_one_error_line(hil("record", "recover", str(tmp_path / "no.mcap")), "cannot open")


def test_corrupt_chunk_is_found_by_info_unless_quick(tmp_path: Path) -> None:
    path = tmp_path / "run.mcap"
    write_small(path, 200)
    data = bytearray(path.read_bytes())
    middle = len(data) // 3  # inside the one compressed chunk
    data[middle : middle + 4] = bytes(255 - b for b in data[middle : middle + 4])
    path.write_bytes(bytes(data))
    assert_one_error_line(hil("record", "info", str(path)), "corrupt")
    assert hil("record", "info", "--quick", str(path)).returncode == 0


def test_truncated_file_info_shows_the_readable_part_and_recover_fixes_it(
    tmp_path: Path,
) -> None:
    path = tmp_path / "run.mcap"
    with Recorder(path, [binary_channel("/cycle", "hil.cycle.v1")], chunk_size=256) as rec:
        for n in range(300):
            rec.record("/cycle", T0_NS + n * 10_000_000, struct.pack("<Q", n))
    whole = path.read_bytes()
    path.write_bytes(whole[: len(whole) // 2])
    info = hil("record", "info", "--json", str(path))
    assert_one_error_line(info, "truncated", "hil record recover")
    readable = json.loads(info.stdout)
    assert readable["complete"] is False and 0 < readable["messages"] < 300
    done = hil("record", "recover", str(path))
    assert done.returncode == 0, done.stderr
    fixed = tmp_path / "run.recovered.mcap"
    assert f"recovered {readable['messages']} messages into {fixed}" in done.stdout
    assert hil("record", "info", str(fixed)).returncode == 0
    assert_one_error_line(hil("record", "recover", str(path)), "already exists")
    assert_one_error_line(hil("record", "recover", str(path), str(path)), "must not overwrite")


def test_sigkilled_recorder_recovers_missing_at_most_the_last_second(tmp_path: Path) -> None:
    path = tmp_path / "killed.mcap"
    child = subprocess.Popen(
        [sys.executable, "-c", STEADY_WRITER, str(path)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert child.stdout is not None
        first_ns = None
        # wait for 2.9 s of the child's recording, as it reports it: just before its sixth
        # flush (every 0.5 s), where a kill loses the most
        for line in child.stdout:
            t_ns = int(line.split()[1])
            first_ns = first_ns or t_ns
            if t_ns - first_ns > 2.9 * NS_PER_S:
                break
        child.send_signal(signal.SIGKILL)
        rest = child.stdout.read()  # what it recorded between our last read and the kill
        last_n, last_ns = (int(v) for v in (line + rest).split("\n")[-2].split())
    finally:
        child.kill()
        child.wait()
        assert child.stderr is not None
        errors = child.stderr.read()
        child.stderr.close()
        if child.stdout is not None:
            child.stdout.close()
    assert child.returncode == -signal.SIGKILL, errors

    info = hil("record", "info", "--json", str(path))
    assert_one_error_line(info, "truncated")
    done = hil("record", "recover", str(path), str(tmp_path / "fixed.mcap"))
    assert done.returncode == 0, done.stderr
    with Recording(tmp_path / "fixed.mcap") as fixed:
        kept = [(struct.unpack("<Q", m.payload)[0], m.log_time_ns) for m in fixed.messages()]
    assert json.loads(info.stdout)["messages"] == len(kept)
    assert [n for n, _ in kept] == list(range(len(kept))), "a gap among the kept messages"
    assert len(kept) <= last_n + 1
    missing_s = (last_ns - kept[-1][1]) / NS_PER_S
    assert missing_s <= 1.0, f"lost the last {missing_s:.2f} s (messages {len(kept)}..{last_n})"
