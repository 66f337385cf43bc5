"""Every ``hil run`` leaves a recording, and ``hil replay`` plays it back or verifies it bit for
bit: sim and emulate runs, a changed tracker setting named by cycle and field, a SIGKILLed run
recovered, the display topics valid Foxglove messages, and a golden recording that every later
change must still reproduce."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from cli_support import hil, last_json
from conftest import CONFIGS, DATA
from mcap.reader import make_reader

from hil.errors import RecordingError
from hil.recording import foxglove
from hil.recording.reader import Recording
from hil.recording.run_layout import (
    TOPIC_CYCLE_INPUT,
    TOPIC_CYCLE_OUTPUT,
    TOPIC_PLC_TRANSACTIONS,
    TOPIC_RADAR_BYTES,
    TOPIC_RESULT,
)

SIM_RIG = CONFIGS / "rigs" / "sim.toml"
GOLDEN = DATA / "golden-sim.mcap"
"""``hil run --rig configs/rigs/sim.toml --scenario configs/scenarios/defended-site.toml
--duration 12 --seed 3 --arm --record tests/data/golden-sim.mcap`` — regenerate it (and say
why in the commit) only when a change is meant to alter the loop's decisions."""


def topic_counts(path: Path) -> dict[str, int]:
    with Recording(path) as recording:
        return {name: topic.messages for name, topic in recording.info().topics.items()}


def test_the_bulk_topics_are_in_chunks_of_their_own(
    armed_sim_run: tuple[Path, dict[str, Any]],
) -> None:
    """Replay reads the cycle inputs (and raw radar bytes); the cycle outputs and display topics
    (nearly all the bytes) sit in other chunks, which the chunk index lets a reader skip."""
    path, _ = armed_sim_run
    with path.open("rb") as file:
        summary = make_reader(file).get_summary()
    assert summary is not None
    ids = {channel.topic: channel_id for channel_id, channel in summary.channels.items()}
    bulk = {ids[TOPIC_CYCLE_OUTPUT], *(ids[t] for t in ids if t.startswith("/display/"))}
    kinds = set()
    for index in summary.chunk_indexes:
        held = set(index.message_index_offsets)
        assert held, "every chunk's index names the topics it holds"
        assert held <= bulk or not held & bulk, "a chunk mixes bulk and replay topics"
        kinds.add(held <= bulk)
    assert kinds == {True, False}


def test_a_sim_run_records_and_replays_bit_identically(
    armed_sim_run: tuple[Path, dict[str, Any]],
) -> None:
    path, run = armed_sim_run
    assert run["recording"]["path"] == str(path) and run["recording"]["dropped"] == 0
    counts = topic_counts(path)
    assert counts[TOPIC_CYCLE_INPUT] == counts[TOPIC_CYCLE_OUTPUT] == run["frames"]
    assert counts[TOPIC_RESULT] == 1
    verified = hil("replay", str(path), "--verify")
    assert verified.returncode == 0, verified.stderr
    assert f"verified {run['frames']} cycles" in verified.stdout
    replay = last_json(hil("replay", str(path), "--compare", "--json"))
    assert replay["digest"] == run["digest"]  # the same tracks and commands, cycle for cycle
    assert replay["compare"]["digest_equal"] is True
    assert all(
        row["delta"] in (0, None) for key, row in replay["compare"].items() if key != "digest_equal"
    )


def test_a_changed_tracker_setting_fails_verify_naming_the_cycle_and_field(
    armed_sim_run: tuple[Path, dict[str, Any]],
) -> None:
    path, _ = armed_sim_run
    done = hil("replay", str(path), "--verify", "--set", "tracker.sigma_range_m=6")
    assert done.returncode == 5
    (line,) = done.stderr.strip().splitlines()
    assert line.startswith(f"error: {path}: cycle ") and ": picture differs" in line
    # and the same change through a replay shows in the scores against the recording
    replay = last_json(
        hil("replay", str(path), "--set", "tracker.sigma_range_m=6", "--compare", "--json")
    )
    assert replay["compare"]["digest_equal"] is False


def test_an_emulated_run_records_its_device_traffic_and_verifies(tmp_path: Path) -> None:
    path = tmp_path / "emulate.mcap"
    run = last_json(hil("run", "--duration", "4", "--arm", "--record", str(path), "--json"))
    counts = topic_counts(path)
    assert counts[TOPIC_RADAR_BYTES] > 0 and counts[TOPIC_PLC_TRANSACTIONS] > 0
    assert counts[TOPIC_CYCLE_INPUT] == counts[TOPIC_CYCLE_OUTPUT] >= run["frames"]  # + idle
    verified = hil("replay", str(path), "--verify")
    assert verified.returncode == 0, verified.stderr
    replay = last_json(hil("replay", str(path), "--json"))
    assert replay["digest"] == run["digest"]


def test_the_display_topics_are_valid_foxglove_messages(
    armed_sim_run: tuple[Path, dict[str, Any]],
) -> None:
    path, _ = armed_sim_run
    checked: dict[str, int] = {}
    validators: dict[str, jsonschema.protocols.Validator] = {}
    with Recording(path) as recording:
        for message in recording.messages():
            if message.schema_name.startswith("foxglove."):
                if message.schema_name not in validators:  # checked and compiled once each
                    schema = foxglove.schema(message.schema_name)
                    validator = jsonschema.validators.validator_for(schema)
                    validator.check_schema(schema)
                    validators[message.schema_name] = validator(schema)
                validators[message.schema_name].validate(json.loads(message.payload))
                checked[message.topic] = checked.get(message.topic, 0) + 1
    assert set(checked) >= {
        foxglove.TOPIC_DETECTIONS,
        foxglove.TOPIC_TRACKS,
        foxglove.TOPIC_RIG_POSE,
        foxglove.TOPIC_ENGAGEMENTS,
    }


def test_no_record_leaves_no_file_and_the_default_goes_to_the_runs_folder(
    tmp_path: Path,
) -> None:
    runs = tmp_path / "runs"
    env = {"HIL_RUNS_DIR": str(runs)}
    last_json(
        hil("run", "--rig", str(SIM_RIG), "--duration", "2", "--no-record", "--json", env=env)
    )
    assert not runs.exists()
    first = last_json(hil("run", "--rig", str(SIM_RIG), "--duration", "2", "--json", env=env))
    second = last_json(hil("run", "--rig", str(SIM_RIG), "--duration", "2", "--json", env=env))
    paths = {Path(first["recording"]["path"]), Path(second["recording"]["path"])}
    assert len(paths) == 2 and all(p.parent == runs and p.suffix == ".mcap" for p in paths)
    assert all(p.name.endswith("-sim.mcap") or "-sim-" in p.name for p in paths)


def test_a_sigkilled_run_recovers_with_at_most_the_last_second_missing(tmp_path: Path) -> None:
    """An emulated run (real time) killed with SIGKILL mid-run: its recording, recovered, holds
    every cycle up to at most a second before the kill."""
    path = tmp_path / "killed.mcap"
    child = subprocess.Popen(
        [sys.executable, "-m", "hil", "run", "--duration", "60", "--record", str(path)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    try:
        deadline = time.monotonic() + 60.0  # starting the emulators: seconds when loaded
        while not _a_cycle_on_disk(path):  # the loop's first flushed cycles
            assert child.poll() is None and time.monotonic() < deadline, "no cycle recorded"
            time.sleep(0.05)  # pacing the looks at the file: no event crosses the process
        # the stimulus, not a wait: the kill lands 2 s on, anywhere between two flushes
        time.sleep(2.0)
        killed_at_ns = time.time_ns()
        os.killpg(child.pid, signal.SIGKILL)
    finally:
        child.wait(timeout=10)
        assert child.stderr is not None
        child.stderr.close()
    info = hil("record", "info", str(path))
    assert info.returncode == 2 and "hil record recover" in info.stderr
    recovered = tmp_path / "recovered.mcap"
    done = hil("record", "recover", str(path), str(recovered))
    assert done.returncode == 0, done.stderr
    with Recording(recovered) as recording:
        times = [m.log_time_ns for m in recording.messages({TOPIC_CYCLE_INPUT})]
    assert times and killed_at_ns - max(times) <= 1_000_000_000
    verified = hil("replay", str(recovered), "--verify")
    assert verified.returncode == 0, verified.stderr


def _a_cycle_on_disk(path: Path) -> bool:
    try:
        with Recording(path) as recording:
            cycles = recording.messages({TOPIC_CYCLE_INPUT}, allow_truncated=True, file_order=True)
            return next(cycles, None) is not None
    except (OSError, RecordingError):  # not there, or not even its header written yet
        return False


@pytest.mark.parametrize("content", [b"", b"not an mcap file at all", None])
def test_an_unusable_file_is_one_line_and_exit_2(tmp_path: Path, content: bytes | None) -> None:
    path = tmp_path / "bad.mcap"
    if content is not None:
        path.write_bytes(content)
    for args in (("--verify",), ()):
        done = hil("replay", str(path), *args)
        assert done.returncode == 2
        (line,) = done.stderr.strip().splitlines()
        assert line.startswith("error: ") and "Traceback" not in done.stderr


def test_the_golden_recording_still_verifies_and_replays_to_its_scores() -> None:
    """The loop's regression test: a small recorded sim run (tests/data/golden-sim.mcap) must
    be reproduced bit for bit by every later change — or the change says why it may not."""
    verified = hil("replay", str(GOLDEN), "--verify")
    assert verified.returncode == 0, verified.stderr
    replay = last_json(hil("replay", str(GOLDEN), "--compare", "--json"))
    assert replay["compare"]["digest_equal"] is True
    assert replay["launches"] >= 1


def test_single_stepping_prints_each_cycle_and_changes_nothing(
    armed_sim_run: tuple[Path, dict[str, Any]],
) -> None:
    path, run = armed_sim_run
    done = subprocess.run(
        [sys.executable, "-m", "hil", "replay", str(path), "--step", "--json"],
        input="\n\n\nc\n",
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    replay = last_json(done)
    lines = done.stderr.strip().splitlines()
    assert [line.split(" t=")[0] for line in lines] == ["cycle 1", "cycle 2", "cycle 3"]
    assert all("[Enter: next cycle, c: play the rest]" in line for line in lines)
    assert replay["digest"] == run["digest"]
