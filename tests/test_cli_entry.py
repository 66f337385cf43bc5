"""The ``hil`` entry points (``python -m hil`` and the ``hil`` console script) as an operator
meets them: Ctrl-C while the command is still starting up (its imports take about 2 s) is one
``interrupted`` line and exit 130, and a reader that closes the pipe early (``| head``) ends
the command quietly."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from conftest import CONFIGS

HIL_SCRIPT = Path(sys.executable).with_name("hil")
ENTRY_POINTS = {"python -m hil": [sys.executable, "-m", "hil"], "hil script": [str(HIL_SCRIPT)]}
LONG_SIM = ["sim", "--scenario", str(CONFIGS / "scenarios" / "single-cv.toml"), "--duration",
            "1000000"]  # fmt: skip

# Shared libraries the start-up loads one after the other, early to late: each one mapped into
# the child is a moment at which the command's imports are under way, whatever the machine's
# load (on an idle machine more than a second of imports still follows numpy).
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
        [*ENTRY_POINTS[entry], *LONG_SIM],
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
