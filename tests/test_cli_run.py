"""``hil run`` as an operator uses it: summary keys, bench connection errors, the fallback."""

from __future__ import annotations

import asyncio
import json
import signal
import socket
import sys
import time
from pathlib import Path

import psutil
import pytest
from cli_support import hil, hil_async
from conftest import CONFIGS
from test_loop_emulate import ONE_INJECTED, REQUIRED_KEYS, hil_run

from hil.rig.emulators import PlcStubProcess

SIM_RIG = CONFIGS / "rigs" / "sim.toml"


def test_sim_run_json_summary() -> None:
    done = hil_run("--rig", str(SIM_RIG), "--duration", "10", "--json")
    assert done.returncode == 0, done.stderr
    summary = json.loads(done.stdout.strip().splitlines()[-1])
    assert summary.keys() >= REQUIRED_KEYS
    assert (summary["mode"], summary["seed"], summary["armed"]) == ("sim", 0, False)
    assert summary["frames"] == 1000  # 10 s of 10 ms dwells
    assert summary["launches"] == 0 and summary["launch_requests"] == 0
    assert summary["rig_final_state"] == "SAFE"
    assert summary["devices_lost"] == [] and summary["links"]["radar"]["lost"] is False
    assert summary["links"]["plc"]["source"] == "in-process model"


def test_text_summary_names_what_happened() -> None:
    done = hil_run("--rig", str(SIM_RIG), "--duration", "30", "--arm")
    assert done.returncode == 0, done.stderr
    assert "ARMED" in done.stdout and "launches" in done.stdout
    assert "engagement track" in done.stdout and "rig final state: SAFE" in done.stdout
    assert "radar: in-process model" in done.stdout and "PLC: in-process model" in done.stdout


def _unused_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def missing_bench(tmp_path: Path) -> Path:
    """A bench rig file whose radar and PLC are not there."""
    rig = tmp_path / "missing-bench.toml"
    rig.write_text(
        "[rig]\nname = 'missing'\nmode = 'bench'\n\n"
        f"[radar]\nurl = '{tmp_path / 'ttyNOPE'}'\n\n"
        f"[plc]\nhost = '127.0.0.1'\nport = {_unused_port()}\ntimeout_s = 0.1\nretries = 0\n"
    )
    return rig


def test_missing_bench_device_is_a_clear_error(missing_bench: Path) -> None:
    done = hil_run("--rig", str(missing_bench), "--scenario", str(ONE_INJECTED), "--duration", "2")
    assert done.returncode == 1
    assert "radar at" in done.stderr and "did not come up" in done.stderr
    assert "allow_emulation_fallback" in done.stderr
    assert done.stdout == ""


def test_fallback_to_emulation_says_so_loudly(missing_bench: Path) -> None:
    done = hil_run(
        "--rig", str(missing_bench), "--scenario", str(ONE_INJECTED), "--duration", "3",
        "--set", "rig.allow_emulation_fallback=true", "--json",
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    summary = json.loads(done.stdout.strip().splitlines()[-1])
    assert summary["mode"] == "bench"
    assert summary["emulated_devices"] == ["radar", "plc"]
    assert any("EMULATED radar" in note for note in summary["notes"])
    assert any("EMULATED plc" in note for note in summary["notes"])
    assert "EMULATED" in done.stderr  # and logged as a warning while running
    text = hil_run(
        "--rig", str(missing_bench), "--scenario", str(ONE_INJECTED), "--duration", "2",
        "--set", "rig.allow_emulation_fallback=true",
    )  # fmt: skip
    assert text.stdout.startswith("!!! EMULATION FALLBACK: radar, plc emulated")
    assert "  radar link: up; frames " in text.stdout and "  PLC link: up; requests " in text.stdout


def test_bad_rig_override_names_the_field() -> None:
    done = hil_run("--rig", str(SIM_RIG), "--set", "fire_control.interceptor_speed_mps=-5")
    assert done.returncode == 2
    assert "fire_control.interceptor_speed_mps" in done.stderr


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT, signal.SIGHUP])
async def test_a_signal_ends_an_emulated_run_cleanly(signum: int) -> None:
    """Stopping ``hil run`` mid-run (an operator's Ctrl-C, a supervisor's SIGTERM) still makes
    the launcher safe, stops both emulators and prints the summary."""
    run = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "hil", "-v", "run", "--scenario", str(ONE_INJECTED),
        "--duration", "60", "--json",
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
        start_new_session=True,  # its own process group, like a terminal job
    )  # fmt: skip
    try:
        stubs = await _wait_for_run_started(run, 2)
        run.send_signal(signum)
        async with asyncio.timeout(30):
            out, err = await run.communicate()
    finally:
        if run.returncode is None:
            run.kill()
            await run.communicate()
    assert run.returncode == 0, err.decode()
    summary = json.loads(out.decode().strip().splitlines()[-1])
    assert summary["stopped_early"] is True and summary["duration_s"] < 60
    # the loop checks for a stop only after a cycle: once started, it has run at least one
    assert summary["frames"] > 0
    assert summary["rig_final_state"] == "SAFE"
    assert all(not stub.is_running() or stub.status() == psutil.STATUS_ZOMBIE for stub in stubs)


async def _wait_for_run_started(
    run: asyncio.subprocess.Process, count: int
) -> list[psutil.Process]:
    """The run's ``count`` emulators, once ``hil -v run`` has logged "run started" (their READY
    lines come before it, its signal handlers are in place, and its loop runs next)."""
    assert run.stderr is not None
    async with asyncio.timeout(60):  # starting the emulators takes seconds on a loaded machine
        while b"run started" not in (line := await run.stderr.readline()):
            assert line, "the run ended before it started"
    stubs = [c for c in psutil.Process(run.pid).children() if "stub" in c.cmdline()]
    assert len(stubs) == count, stubs
    return stubs


async def test_a_plc_that_does_not_answer_is_a_clear_error(tmp_path: Path) -> None:
    """A PLC that accepts the connection but never answers (wrong unit id): one error line
    naming the PLC and what went unanswered, exit 1, no traceback, no emulator left behind."""
    plc = await PlcStubProcess.start("--tcp", "127.0.0.1:0")
    try:
        port = plc.url.rsplit(":", 1)[1]
        rig = tmp_path / "wrong-unit.toml"
        rig.write_text(
            "[rig]\nname = 'wrong-unit'\nmode = 'bench'\nallow_emulation_fallback = true\n\n"
            f"[radar]\nurl = '{tmp_path / 'ttyNOPE'}'\n\n"
            f"[plc]\nhost = '127.0.0.1'\nport = {port}\nunit_id = 7\ntimeout_s = 0.1\n"
            "retries = 0\n"
        )
        pids: list[int] = []
        code, out, err = await hil_async(
            "run", "--rig", str(rig), "--scenario", str(ONE_INJECTED), "--duration", "3",
            pids=pids,
        )  # fmt: skip
    finally:
        await plc.stop()
    assert code == 1
    lines = err.splitlines()
    assert "Traceback" not in err
    assert lines[-1].startswith(f"error: PLC {plc.url} is connected but did not answer (no answer")
    assert "check the unit id" in lines[-1]
    assert out == ""
    # the emulated radar it fell back to went with it (an orphan would be re-parented to init)
    # (only this run's: other tests' runs start emulators of the same scenario meanwhile)
    ours = ["--parent-pid", str(pids[0])]
    orphans = [
        p
        for p in psutil.process_iter(["cmdline"])
        if "radar" in (cmdline := p.info["cmdline"] or [])
        and any(cmdline[i : i + 2] == ours for i in range(len(cmdline)))
    ]
    assert orphans == []


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM, signal.SIGHUP])
async def test_a_signal_stops_a_long_sim_run_at_once(signum: int) -> None:
    """The sim rig runs as fast as the CPU allows without any I/O; a stop request must still be
    noticed within a fraction of a second (it used to be ignored until the end of the run)."""
    run = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "hil", "-v", "run", "--rig", str(SIM_RIG), "--duration", "1e5",
        "--json", stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    assert run.stderr is not None
    try:
        async with asyncio.timeout(60):
            while b"run started" not in (line := await run.stderr.readline()):
                assert line, "the run never started"
        await asyncio.sleep(0.5)  # let it run, then stop it mid-stream
        run.send_signal(signum)
        stopped = time.monotonic()
        async with asyncio.timeout(30):
            out, err = await run.communicate()
        elapsed = time.monotonic() - stopped
    finally:
        if run.returncode is None:
            run.kill()
            await run.communicate()
    assert run.returncode == 0, err.decode()
    # the stop, the launcher made safe, the summary and the exit: ~0.3 s alone, 2.5 s once at
    # load 6; a run that ignored the stop would go on for hours of its 1e5 s
    assert elapsed < 10.0
    summary = json.loads(out.decode().strip().splitlines()[-1])
    assert summary["stopped_early"] is True and 0 < summary["duration_s"] < 1e4
    assert summary["rig_final_state"] == "SAFE" and summary["devices_lost"] == []


def test_replay_is_not_a_mode_for_hil_run() -> None:
    done = hil_run("--rig", str(SIM_RIG), "--set", "rig.mode=replay", "--no-record")
    assert done.returncode == 2, done.stderr
    assert done.stderr == (
        f"error: {SIM_RIG}: rig.mode: 'replay' plays a recording: use hil replay FILE; hil run "
        "takes bench, emulate or sim [set by --set rig.mode=replay]\n"
    )


@pytest.mark.parametrize("name", ["HIL_RIG__", "HIL_RIG____"])
def test_an_environment_override_without_a_key_is_refused(name: str) -> None:
    for command in (["config", "check", str(SIM_RIG)], ["run", "--rig", str(SIM_RIG)]):
        done = hil(*command, env={name: "x"})
        assert done.returncode == 2, (command, done.stdout, done.stderr)
        assert done.stderr == (
            f"error: {SIM_RIG}: bad environment variable {name}: expected "
            "HIL_RIG__SECTION__KEY=value (double underscores between keys)\n"
        )


def test_text_summary_says_what_is_missing_instead_of_none() -> None:
    """Half a second of single-cv: no track confirmed yet, so no RMSE and no time to confirm."""
    scenario = CONFIGS / "scenarios" / "single-cv.toml"
    done = hil_run("--rig", str(SIM_RIG), "--scenario", str(scenario), "--duration", "0.5",
                   "--no-record")  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert "None" not in done.stdout, done.stdout
    assert "RMSE — (no track on a target)" in done.stdout
    assert "time to confirm — (no confirmed track)" in done.stdout
