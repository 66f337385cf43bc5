"""``hil run`` when a device dies, stalls or answers late, over the real emulators as child
processes; and the PLC launcher's command rules (coalescing, FIRE never late, disarm first)
against the emulated PLC on loopback Modbus TCP."""

from __future__ import annotations

import asyncio
import json
import math
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psutil
import pytest
from plc_support import emulated_plc, panel_write, plc_driver
from test_loop_emulate import ONE_INJECTED

from drivers.errors import DriverTimeoutError
from drivers.plc.driver import PlcDriver
from drivers.plc.types import Coil
from hil.errors import RecordingError
from hil.fire_control.engagement import Demand
from hil.loop.plc_launcher import PlcLauncher
from hil.recording.reader import Recording
from hil.recording.run_layout import TOPIC_CYCLE_INPUT

EXIT_UNKNOWN_RIG_STATE = 3
EXIT_DEVICE_LOST = 4
RESPONSE_DELAY_REGISTER = 1  # bench panel (unit 247) holding register: answer delay, ms


@dataclass
class Run:
    """A ``hil run`` child process and the recording it writes."""

    process: subprocess.Popen[str]
    recording: Path


def _start_run(duration_s: float, folder: Path) -> Run:
    recording = folder / "run.mcap"
    process = subprocess.Popen(
        [sys.executable, "-m", "hil", "run", "--scenario", str(ONE_INJECTED),
         "--duration", str(duration_s), "--seed", "5", "--arm", "--json",
         "--record", str(recording)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    return Run(process, recording)


def _stub(run: Run, device: str) -> psutil.Process:
    """The run's emulated ``device`` once the loop has run for a second: a fault must land
    mid-run, and starting the emulators and the launcher's first status takes seconds more
    on a loaded machine than on an idle one (a fixed wait once killed the radar before the
    loop's first cycle). The loop's cycles are seen in the run's recording, which is flushed
    at least once a second; no process outside the run can await them, so the file is looked
    at every 0.1 s until it holds a second of cycles."""
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and _seconds_of_cycles(run.recording) < 1.0:
        assert run.process.poll() is None, run.process.communicate()
        time.sleep(0.1)  # pacing the looks at the file
    stubs = [c for c in psutil.Process(run.process.pid).children() if "stub" in c.cmdline()]
    assert len(stubs) == 2, "the emulators never started"
    return next(s for s in stubs if device in s.cmdline())


def _seconds_of_cycles(recording: Path) -> float:
    """Loop-clock seconds between the first and the last cycle on disk (0: none yet)."""
    if not recording.exists():
        return 0.0
    try:
        with Recording(recording) as opened:
            cycles = opened.messages({TOPIC_CYCLE_INPUT}, allow_truncated=True, file_order=True)
            times = [message.log_time_ns for message in cycles]
    except RecordingError:  # not even its header written yet
        return 0.0
    return (max(times) - min(times)) / 1e9 if times else 0.0


def _finish(run: Run) -> tuple[dict[str, Any], str]:
    try:
        out, err = run.process.communicate(timeout=90)
    finally:
        if run.process.poll() is None:
            run.process.kill()
            run.process.communicate()
    assert "Traceback" not in err, err
    return json.loads(out.strip().splitlines()[-1]), err


def test_radar_killed_mid_run_is_reported_as_lost_with_exit_4(tmp_path: Path) -> None:
    run = _start_run(9.0, tmp_path)
    # SIGKILL: the emulator cannot remove its pty link, and the driver must not reopen the
    # hung-up pty behind it (its /dev/pts number may be another program's by then)
    _stub(run, "radar").kill()
    summary, err = _finish(run)
    assert run.process.returncode == EXIT_DEVICE_LOST, (err, summary["links"])
    assert summary["devices_lost"] == ["radar"]
    radar = summary["links"]["radar"]
    assert radar["lost"] and radar["outages"] == 1 and radar["lost_at_s"] > 0
    assert radar["longest_silence_s"] > 3.0 and radar["longest_outage_s"] > 3.0
    driver = radar["driver"]
    assert driver["link_state"] == "down" and driver["frames"] > 0
    for key in ("crc_errors", "resyncs", "bad_payloads", "reconnects"):
        assert key in driver
    assert not summary["links"]["plc"]["lost"]
    assert summary["rig_final_state"] == "SAFE"  # the PLC was there to make it safe
    lines = err.splitlines()
    assert sum(line.startswith("warning: radar link lost") for line in lines) == 1
    assert lines[-1].startswith("error: radar link lost at ")
    assert "not recovered by the end of the run" in lines[-1]
    assert len(lines) <= 4, err


def test_plc_killed_mid_run_is_said_once_and_the_rig_state_is_unknown(tmp_path: Path) -> None:
    """The PLC dies: one line when its link goes (not one per refused write), its health in
    the summary, and exit 3 — the rig's final state is unknown, which no other code masks."""
    run = _start_run(8.0, tmp_path)
    _stub(run, "plc").kill()
    summary, err = _finish(run)
    assert run.process.returncode == EXIT_UNKNOWN_RIG_STATE, err
    assert summary["rig_final_state"] == "unknown"
    assert summary["devices_lost"] == ["plc"]
    plc = summary["links"]["plc"]
    assert plc["lost"] and plc["outages"] == 1
    driver = plc["driver"]
    assert driver["link_state"] != "up" and driver["requests"] > 0
    assert driver["link_failures"] == 1
    for key in ("timeouts", "reconnects", "late_answers"):
        assert key in driver
    assert not summary["links"]["radar"]["lost"]
    lines = err.splitlines()
    assert sum(line.startswith("warning: PLC link lost") for line in lines) == 1
    assert not any("not sent" in line and "warning" in line for line in lines)
    assert len(lines) <= 6, err
    assert lines[-1].startswith("error: the rig's final state is unknown")
    assert lines[-2].startswith("error: PLC link lost at ")


def test_a_plc_stopped_for_2_s_does_not_stall_tracking(tmp_path: Path) -> None:
    """SIGSTOP the PLC for 2 s: the loop keeps its latency (commands go out beside the loop),
    pymodbus's frame dumps stay out of the output, the link comes back, exit 0."""
    run = _start_run(11.0, tmp_path)
    plc = _stub(run, "plc")
    plc.suspend()
    time.sleep(2.0)  # the fault's length is the point of the test
    plc.resume()
    summary, err = _finish(run)
    assert run.process.returncode == 0, err
    assert ">>>>>" not in err and "send:" not in err
    # a loop that waited on the stopped PLC would hold ~200 frames behind it: p99 over 1 s;
    # beside it, tens of ms (more on a loaded machine)
    assert summary["latency_p99_ms"] < 250.0
    link = summary["links"]["plc"]
    assert not link["lost"] and link["outages"] == 1 and link["longest_outage_s"] > 1.0
    assert link["driver"]["link_state"] == "up"
    assert link["driver"]["timeouts"] >= 1 and link["driver"]["reconnects"] >= 1
    assert link["commands"]["coalesced"] > 50  # demands replaced while the PLC was stopped
    assert summary["devices_lost"] == []
    assert summary["rig_final_state"] == "SAFE"
    lines = err.splitlines()
    assert sum(line.startswith("warning: PLC link lost") for line in lines) == 1
    assert sum(line.startswith("warning: PLC link back") for line in lines) == 1
    assert len(lines) <= 4, err


# --- the launcher's command rules, against the emulated PLC in this process -----------------

POINT = Demand(axes_enabled=True, pointing=True, az_rad=0.5, el_rad=0.2)
POINT_ARM_FIRE = Demand(True, True, 0.5, 0.2, arm=True, fire=True)


async def _run_launcher(driver: PlcDriver, fire_window_s: float, *demands: Demand) -> PlcLauncher:
    """Hand ``demands`` over back to back (as consecutive cycles would) and wait until the
    sender has dealt with all of them."""
    launcher = PlcLauncher(driver, fire_window_s=fire_window_s)
    async with asyncio.TaskGroup() as group:
        sender = group.create_task(launcher.run_sender())
        for demand in demands:
            await launcher.apply(demand)
            await asyncio.sleep(0)  # the next cycle comes after the sender has started
        async with asyncio.timeout(10):
            await launcher.idle()
        sender.cancel()
    return launcher


async def test_a_fire_that_cannot_go_out_promptly_is_dropped_never_sent_later() -> None:
    """Every PLC answer takes 150 ms: the writes ahead of the FIRE (axes, setpoint, mode, arm)
    use up its 200 ms window, so it is dropped and counted — and the PLC never sees it, even
    after everything else went out. The same with a 10 s window delivers it (control)."""
    async with emulated_plc("tcp") as emulator:
        await panel_write(emulator.url, register=RESPONSE_DELAY_REGISTER, value=150)
        async with plc_driver(emulator.url, heartbeat_hz=None, timeout_s=2.0) as driver:
            late = await _run_launcher(driver, 0.2, POINT, POINT_ARM_FIRE)
            assert late.counts.fire_dropped == 1 and late.counts.fire == 0
            assert late.counts.arm == 2 and late.counts.mode == 1  # the rest went out (arm off, on)
            status = await driver.read_status()
            assert emulator.model.fire_reject_count == 0 and emulator.model.launch_count == 0
            assert status.fire_reject_count == 0
            prompt = await _run_launcher(driver, 10.0, POINT, POINT_ARM_FIRE)
            assert prompt.counts.fire_dropped == 0 and prompt.counts.fire == 1
            # not ready to fire (not armed for 1 s, not in position): the PLC refuses it
            status = await driver.read_status()  # answered after the scan that saw the FIRE
            assert status.fire_reject_count == 1 and emulator.model.fire_reject_count == 1


async def test_a_disarm_overtakes_a_waiting_fire() -> None:
    """The engagement ends (arm request dropped) while its FIRE still waits behind slow writes:
    the FIRE is dropped, the disarm goes out, the PLC never sees a FIRE."""
    async with emulated_plc("tcp") as emulator:
        await panel_write(emulator.url, register=RESPONSE_DELAY_REGISTER, value=100)
        async with plc_driver(emulator.url, heartbeat_hz=None, timeout_s=2.0) as driver:
            launcher = await _run_launcher(driver, 10.0, POINT, POINT_ARM_FIRE, Demand(True))
            assert launcher.counts.fire_dropped == 1 and launcher.counts.fire == 0
            assert emulator.model.fire_reject_count == 0 and emulator.model.launch_count == 0
            assert not emulator.model.coils[Coil.ARM_REQUEST]


async def test_slow_answers_are_counted_late() -> None:
    async with (
        emulated_plc("tcp") as emulator,
        plc_driver(emulator.url, heartbeat_hz=None, timeout_s=1.0) as driver,
    ):
        await driver.read_status()
        assert driver.health().late_answers == 0
        await panel_write(emulator.url, register=RESPONSE_DELAY_REGISTER, value=150)
        await driver.read_status()  # two requests, each answered after 150 ms
        health = driver.health()
        assert health.late_answers == 2 and health.timeouts == 0
        assert health.rtt_p99_ms is not None and math.isfinite(health.rtt_p99_ms)


DROP_NEXT_REGISTER = 2  # bench panel holding register: drop the next N unit-1 requests


async def test_a_fire_request_is_never_retried() -> None:
    """The PLC drops the FIRE request unanswered: the driver gives up after that one attempt
    (its other requests are retried twice) — a retry would be a FIRE sent late, and a second
    launch request if the first had arrived."""
    async with (
        emulated_plc("tcp") as emulator,
        plc_driver(emulator.url, heartbeat_hz=None, timeout_s=0.2, retries=2) as driver,
    ):
        await panel_write(emulator.url, register=DROP_NEXT_REGISTER, value=1)
        with pytest.raises(DriverTimeoutError, match="after 1 attempts"):
            await driver.request_fire()
        assert emulator.dropped == 1
        await driver.wait_up(5.0)  # the timeout failed the link; it reconnects
        status = await driver.read_status()  # answered after any retry would have arrived
        assert status.fire_reject_count == 0 and status.launch_count == 0
        assert emulator.dropped == 1 and driver.health().timeouts == 1
