"""A recording names the loop's arithmetic (``core_version``), and ``hil replay --verify`` of
one made by another core version says so in one line, pointing at ``--compare``, instead of
failing on a field; a recording that names none (made before the field) is version 1."""

from __future__ import annotations

from pathlib import Path

import pytest
from cli_support import hil
from conftest import CONFIGS, DATA

from hil.config.loader import load_rig, load_scenario
from hil.loop.core_version import CORE_VERSION
from hil.recording.channels import RUN_METADATA
from hil.recording.reader import Recording
from hil.recording.run_layout import read_recorded_run, recorded_core_version
from hil.rig.base import RunSettings
from hil.run.perform import StopSwitch
from hil.run.recorded import open_run_recording, perform_recorded_now

SIM_RIG = CONFIGS / "rigs" / "sim.toml"
SCENARIO = CONFIGS / "scenarios" / "defended-site.toml"


def record(path: Path, core_version: int | None) -> Path:
    """A 3 s armed sim run recorded by the recording writer, its metadata naming
    ``core_version`` (None: naming none)."""
    settings = RunSettings(load_rig(SIM_RIG), load_scenario(SCENARIO), SCENARIO, 3.0, 3, True)
    recorder = open_run_recording(path, settings, core_version)
    perform_recorded_now(settings, recorder, StopSwitch())
    return path


def test_every_run_recording_names_this_core_version(tmp_path: Path) -> None:
    path = record(tmp_path / "now.mcap", CORE_VERSION)
    with Recording(path) as recording:
        assert recording.metadata()[RUN_METADATA]["core_version"] == str(CORE_VERSION)
        assert read_recorded_run(recording).core_version == CORE_VERSION
    verified = hil("replay", str(path), "--verify")
    assert verified.returncode == 0, verified.stderr
    assert "bit-identical" in verified.stdout


def test_the_golden_recording_names_this_core_version() -> None:
    """Re-recorded in the commit that bumped the version (tests/test_replay.py verifies it)."""
    with Recording(DATA / "golden-sim.mcap") as recording:
        metadata = recording.metadata()[RUN_METADATA]
        assert metadata["core_version"] == str(CORE_VERSION)
        assert read_recorded_run(recording).core_version == CORE_VERSION
    assert recorded_core_version({}) == 1 and recorded_core_version({"core_version": "7"}) == 7


def test_a_recording_without_a_core_version_verifies_as_version_1(tmp_path: Path) -> None:
    path = record(tmp_path / "unversioned.mcap", None)
    with Recording(path) as recording:
        assert "core_version" not in recording.metadata()[RUN_METADATA]
    verified = hil("replay", str(path), "--verify")
    if CORE_VERSION == 1:
        assert verified.returncode == 0, verified.stderr
    else:  # once the arithmetic has changed, an old recording is another version's
        assert verified.returncode == 5 and "core version 1" in verified.stderr


@pytest.mark.parametrize("other", [CORE_VERSION + 1, CORE_VERSION + 40])
def test_verify_of_another_core_versions_recording_is_one_line_and_exit_5(
    tmp_path: Path, other: int
) -> None:
    path = record(tmp_path / f"v{other}.mcap", other)
    verified = hil("replay", str(path), "--verify")
    assert verified.returncode == 5
    assert verified.stdout == ""
    lines = verified.stderr.strip().splitlines()
    assert len(lines) == 1, verified.stderr
    line = lines[0]
    assert line.startswith("error: ")
    assert f"core version {other}" in line and f"core version {CORE_VERSION}" in line
    assert "--compare" in line
    assert "differs from the recording" not in line  # not a field diff
    compared = hil("replay", str(path), "--compare")  # what it points at works
    assert compared.returncode == 0, compared.stderr
    assert "tracks and commands: identical" in compared.stdout
