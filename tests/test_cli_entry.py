"""The ``hil`` entry points (``python -m hil`` and the ``hil`` console script) as an operator
meets them: Ctrl-C while the command is still starting up (its imports take about 2 s) is one
``interrupted`` line and exit 130, and a reader that closes the pipe early (``| head``) ends
the command quietly."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from cli_support import hil
from conftest import CONFIGS

pytestmark = pytest.mark.xdist_group("test_cli_entry")
"""One worker for the whole file (``make pytest`` runs ``--dist loadgroup``): its tests share
a module-scoped fixture, which each worker would otherwise make again."""

HIL_SCRIPT = Path(sys.executable).with_name("hil")
ENTRY_POINTS = {"python -m hil": [sys.executable, "-m", "hil"], "hil script": [str(HIL_SCRIPT)]}
LONG_RUN = ["run", "--rig", str(CONFIGS / "rigs" / "sim.toml"), "--duration", "1000000",
            "--no-record"]  # fmt: skip
"""A run of the sim rig: of the commands, the one with the most to import (the tracker's
scipy.optimize comes last; only the command being run is imported, hil.cli.commands)."""

# Shared libraries the start-up loads one after the other, early to late: each one mapped into
# the child is a moment at which the command's imports are under way, whatever the machine's
# load (on an idle machine more than half a second of a run's imports still follows both).
IMPORT_MILESTONES = ("_multiarray_umath", "_pydantic_core")


def _mapped(pid: int, library: str) -> bool:
    try:
        return library in Path(f"/proc/{pid}/maps").read_text()
    except (FileNotFoundError, ProcessLookupError):
        return False


def _wait_until_mapped(process: subprocess.Popen[str], library: str) -> None:
    deadline = time.monotonic() + 60.0
    while not _mapped(process.pid, library):
        assert process.poll() is None, "the command ended before it was interrupted"
        assert time.monotonic() < deadline, f"{library} never loaded"
        time.sleep(0.001)


@pytest.mark.parametrize("milestone", IMPORT_MILESTONES)
@pytest.mark.parametrize("entry", sorted(ENTRY_POINTS))
def test_ctrl_c_while_starting_up_is_one_line_and_130(entry: str, milestone: str) -> None:
    process = subprocess.Popen(
        [*ENTRY_POINTS[entry], *LONG_RUN],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        _wait_until_mapped(process, milestone)
        process.send_signal(signal.SIGINT)
        out, err = process.communicate(timeout=60)
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate()
    assert (process.returncode, out, err) == (130, "", "interrupted\n")


EXIT_READER_GONE = 141
SIM_RIG = CONFIGS / "rigs" / "sim.toml"
SINGLE_CV = CONFIGS / "scenarios" / "single-cv.toml"


def _with_reader_gone(*args: str, buffered: bool = False) -> tuple[int, str]:
    """``hil ARGS`` writing into a pipe whose reader has already gone (``hil … | head -0``,
    without the race of when head exits): its exit code and stderr. Unbuffered (each print
    meets the closed pipe) unless ``buffered`` (the last flush does)."""
    env = {k: v for k, v in os.environ.items() if k != "PYTHONUNBUFFERED"}
    if not buffered:
        env["PYTHONUNBUFFERED"] = "1"
    read_end, write_end = os.pipe()
    os.close(read_end)
    try:
        done = subprocess.run(
            [sys.executable, "-m", "hil", *args],
            stdout=write_end,
            stderr=subprocess.PIPE,
            text=True,
            timeout=120,
            check=False,
            env=env,
        )
    finally:
        os.close(write_end)
    return done.returncode, done.stderr


@pytest.fixture(scope="module")
def recording(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("recording") / "run.mcap"
    done = hil("run", "--rig", str(SIM_RIG), "--scenario", str(SINGLE_CV), "--duration", "1",
               "--record", str(path), "--quiet")  # fmt: skip
    assert done.returncode == 0, done.stderr
    return path


def test_record_info_into_a_closed_pipe_ends_quietly(recording: Path) -> None:
    assert _with_reader_gone("record", "info", str(recording)) == (EXIT_READER_GONE, "")
    code, err = _with_reader_gone("record", "info", str(recording), "--json", buffered=True)
    assert (code, err) == (EXIT_READER_GONE, "")


@pytest.mark.parametrize(
    "args",
    [
        ("config", "check", str(SIM_RIG), str(SINGLE_CV)),
        ("sim", "--scenario", str(SINGLE_CV), "--duration", "1"),
        (
            "run",
            "--rig",
            str(SIM_RIG),
            "--scenario",
            str(SINGLE_CV),
            "--duration",
            "1",
            "--no-record",
        ),
    ],
    ids=["config-check", "sim", "run"],
)
def test_any_command_into_a_closed_pipe_ends_quietly(args: tuple[str, ...]) -> None:
    assert _with_reader_gone(*args) == (EXIT_READER_GONE, "")


def test_a_campaign_whose_reader_went_away_still_runs_and_writes_its_results(
    tmp_path: Path,
) -> None:
    """A campaign's progress lines into a closed pipe: the campaign is not thrown away for
    that — every run runs and the results are written; the exit code is the campaign's."""
    path = tmp_path / "campaign.toml"
    path.write_text(
        f'[campaign]\nname = "piped"\nrig = "{SIM_RIG}"\n[[cases]]\nname = "quick"\n'
        f'mode = "sim"\nscenario = "{SINGLE_CV}"\nduration_s = 1.0\nseeds = 2\n'
        'criteria = ["frames >= 1"]\n'
    )
    out = tmp_path / "runs"
    assert _with_reader_gone("campaign", "run", str(path), "--out", str(out), "--jobs", "1") == (
        0,
        "",
    )
    (results,) = out.glob("*-piped/results.json")
    document = json.loads(results.read_text())
    assert [run["verdict"] for run in document["cases"][0]["runs"]] == ["pass", "pass"]
