"""Emulators as child processes: they die with their parent, keep out of the terminal's Ctrl-C,
and leave no temporary directory behind, however the run ends."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

import psutil
import pytest
from conftest import CONFIGS
from test_loop_emulate import ONE_INJECTED

from firmware_stubs.ptys import SWEEP_MIN_AGE_S
from hil.rig.emulators import PlcStubProcess, RadarStubProcess, StubProcess

SCENARIO = str(CONFIGS / "scenarios" / "single-cv.toml")
T = TypeVar("T")


def wait_until(check: Callable[[], T | None], timeout_s: float, what: str) -> T:
    """Poll ``check`` every 20 ms until it returns something. For another process's state
    (its children, sockets, exit as an orphan), which cannot be awaited from here."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        result = check()
        if result is not None:
            return result
        time.sleep(0.02)
    raise AssertionError(f"{what} within {timeout_s} s")


def has_exited(process: psutil.Process) -> bool:
    """Gone, or a zombie waiting for init to reap it (an orphan's parent is init)."""
    try:
        return process.status() == psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return True


def points_at_a_pty(link: Path) -> bool:
    return link.is_symlink() and os.readlink(link).startswith("/dev/pts/")


def link_gone(link: Path) -> bool:
    """Neither the link nor its directory is left (the directory was a temporary one)."""
    return not link.is_symlink() and not link.parent.exists()


# --- hil run in a terminal ------------------------------------------------------------------


@dataclass
class Campaign:
    """``hil run`` (emulate rig) started the way a shell starts a job: in its own process
    group, whose id is its pid."""

    process: subprocess.Popen[str]
    stubs: list[psutil.Process]
    radar_dir: Path
    """The emulated radar's temporary directory (its pty link's)."""


def _emulators_up(process: subprocess.Popen[str]) -> tuple[list[psutil.Process], Path] | None:
    """Both emulators serving and the run connected to both (its PLC socket, and the pty it
    opened through the radar's link), or None (not yet)."""
    if process.poll() is not None:
        raise AssertionError(f"hil run ended early: {process.communicate()}")
    try:
        run = psutil.Process(process.pid)
        stubs = [child for child in run.children() if "stub" in child.cmdline()]
        plc_connected = any(c.status == psutil.CONN_ESTABLISHED for c in run.net_connections("tcp"))
        radar_link = _radar_link_opened_by(run)
    except (psutil.NoSuchProcess, FileNotFoundError):
        return None
    if len(stubs) < 2 or not plc_connected or radar_link is None:
        return None
    return stubs, radar_link.parent


def _radar_link_opened_by(run: psutil.Process) -> Path | None:
    """The emulated radar's link (``hil-radar-*/tty`` in the temp dir): made since the run
    started, to a pty the run has open. (Another emulator's stale link may point at the same
    /dev/pts number: that is the hazard these links bring.)"""
    ptys = set()
    for fd in os.listdir(f"/proc/{run.pid}/fd"):
        with contextlib.suppress(OSError):
            ptys.add(os.readlink(f"/proc/{run.pid}/fd/{fd}"))
    for link in Path(tempfile.gettempdir()).glob("hil-radar-*/tty"):
        with contextlib.suppress(OSError):
            if os.readlink(link) in ptys and link.lstat().st_ctime >= run.create_time() - 1:
                return link
    return None


@pytest.fixture
def campaign() -> Iterator[Campaign]:
    process = subprocess.Popen(
        [sys.executable, "-m", "hil", "run", "--scenario", str(ONE_INJECTED),
         "--duration", "60", "--json"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True,
    )  # fmt: skip
    stubs: list[psutil.Process] = []
    try:
        stubs, radar_dir = wait_until(
            lambda: _emulators_up(process), 30, "the emulators were not serving the run"
        )
        yield Campaign(process, stubs, radar_dir)
    finally:
        if process.poll() is None:
            process.kill()
        process.communicate()
        for stub in stubs:  # orphans are not the leak guard's to see
            if not has_exited(stub):
                stub.kill()


def test_ctrl_c_makes_the_rig_safe_before_the_emulators_stop(campaign: Campaign) -> None:
    """A terminal's Ctrl-C sends SIGINT to the whole foreground process group. The emulators
    are in their own sessions, so only ``hil run`` gets it: it makes the rig safe over the
    still-running PLC, then stops them."""
    pgid = campaign.process.pid
    os.killpg(pgid, signal.SIGINT)
    out, err = campaign.process.communicate(timeout=60)
    assert campaign.process.returncode == 0, err
    summary = json.loads(out.strip().splitlines()[-1])
    assert summary["stopped_early"] is True
    assert summary["rig_final_state"] == "SAFE"
    assert not [note for note in summary["notes"] if "exited with" in note]  # stopped cleanly
    assert ">>>>>" not in out + err  # no pymodbus hex dumps of a PLC dying mid-request
    assert "Traceback" not in err
    assert all(has_exited(stub) for stub in campaign.stubs)
    assert [p.pid for p in psutil.process_iter() if _group_of(p) == pgid] == []
    assert not campaign.radar_dir.exists()


def _group_of(process: psutil.Process) -> int | None:
    try:
        return os.getpgid(process.pid)
    except OSError:
        return None


def test_kill_9_of_hil_run_takes_its_emulators_and_temp_dirs_with_it(campaign: Campaign) -> None:
    """SIGKILL cannot be caught: the emulators see their parent die (stdin pipe at EOF,
    parent-death signal) and stop cleanly, removing their pty link and its directory."""
    os.killpg(campaign.process.pid, signal.SIGKILL)
    campaign.process.communicate(timeout=10)
    wait_until(
        lambda: all(has_exited(stub) for stub in campaign.stubs) or None,
        10,
        "the emulators outlived the killed run",
    )
    assert not campaign.radar_dir.exists()


# --- one stub and its parent ----------------------------------------------------------------

PTY_STUBS = {
    "radar": (RadarStubProcess, ["--scenario", SCENARIO, "--pty", "--rotate", "12"]),
    "plc": (PlcStubProcess, ["--rtu-pty"]),
}


async def start_pty_stub(device: str) -> StubProcess:
    kind, args = PTY_STUBS[device]
    return await kind.start(*args)


def link_of(stub: StubProcess) -> Path:
    """The pty link in a stub's READY URL (the radar's is a path, the PLC's ``rtu://path?…``)."""
    return Path(stub.url.removeprefix("rtu://").split("?")[0])


@pytest.mark.parametrize("device", PTY_STUBS)
async def test_a_stub_stops_cleanly_when_its_parent_closes_its_stdin(device: str) -> None:
    stub = await start_pty_stub(device)
    try:
        link = link_of(stub)
        assert points_at_a_pty(link)
        assert stub.process.stdin is not None
        stub.process.stdin.close()
        async with asyncio.timeout(10):
            code = await stub.process.wait()
        assert code == 0
        assert link_gone(link)
    finally:
        _, _, err = await stub.stop()
    assert "stub stopped" in err


INTERMEDIATE_PARENT = """
import os, subprocess, sys
stub = subprocess.Popen(
    [sys.executable, "-m", "hil", "stub", *sys.argv[1:], "--parent-pid", str(os.getpid())],
    stdin=subprocess.DEVNULL,
)
print(stub.pid, flush=True)
stub.wait()
"""


@pytest.mark.parametrize("device", PTY_STUBS)
async def test_a_stub_stops_cleanly_when_its_parent_is_killed(device: str) -> None:
    """Linux's parent-death signal alone (stdin is /dev/null here, not the parent's pipe)."""
    _, args = PTY_STUBS[device]
    parent = await asyncio.create_subprocess_exec(
        sys.executable, "-c", INTERMEDIATE_PARENT, device, *args,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    assert parent.stdout is not None
    stub: psutil.Process | None = None
    try:
        async with asyncio.timeout(20):
            stub = psutil.Process(int(await parent.stdout.readline()))
            ready = (await parent.stdout.readline()).decode()
        assert ready.startswith("READY ")
        link = Path(ready.split()[1].removeprefix("rtu://").split("?")[0])
        assert points_at_a_pty(link)
        parent.kill()
        async with asyncio.timeout(10):  # EOF once the stub, which shares the pipes, has exited
            _, err = await parent.communicate()
        assert "stub stopped" in err.decode()
        assert link_gone(link)
    finally:
        if parent.returncode is None:
            parent.kill()
            await parent.communicate()
        if stub is not None and not has_exited(stub):
            stub.kill()


async def test_a_stub_refuses_to_start_for_a_parent_that_is_not_its_own() -> None:
    """The race the parent-death signal leaves open: the parent died before the child asked for
    it. The stub compares its parent with --parent-pid and does not start."""
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "hil", "stub", "plc", "--tcp", "127.0.0.1:0", "--parent-pid", "1",
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    async with asyncio.timeout(30):
        out, err = await process.communicate()
    assert process.returncode == 1 and out == b""
    assert err.decode().splitlines() == [
        "error: --parent-pid 1: process 1 is not this process's parent (it has exited, or the "
        "PID is wrong): not starting"
    ]


@pytest.mark.parametrize("device", PTY_STUBS)
async def test_the_parent_removes_what_a_sigkilled_stub_left(device: str) -> None:
    stub = await start_pty_stub(device)
    link = link_of(stub)
    try:
        stub.process.kill()
        await stub.process.wait()
        assert points_at_a_pty(link)  # the stub could not clean up
    finally:
        code, _, _ = await stub.stop()
    assert code == -signal.SIGKILL
    assert link_gone(link)


async def test_a_new_emulator_sweeps_the_temp_dirs_of_dead_ones() -> None:
    """When parent and stub both die (say, the OOM killer), the next emulator cleans up: a
    directory whose lock no live process holds is a dead emulator's."""
    dead = await start_pty_stub("radar")
    alive = await start_pty_stub("plc")
    fresh: StubProcess | None = None
    try:
        dead_dir, alive_link = link_of(dead).parent, link_of(alive)
        dead.process.kill()
        await dead.process.wait()
        long_ago = time.time() - 2 * SWEEP_MIN_AGE_S
        for directory in (dead_dir, alive_link.parent):
            os.utime(directory, (long_ago, long_ago))
        assert dead_dir.exists()
        fresh = await start_pty_stub("radar")
        assert not dead_dir.exists()
        assert points_at_a_pty(alive_link)  # a live emulator's directory stays
    finally:
        for stub in (dead, alive, fresh):
            if stub is not None:
                await stub.stop()
