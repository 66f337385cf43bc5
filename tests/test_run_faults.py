"""Faults at given times of a run (``RunSettings.faults``): on the emulated rig over the real
transports (the emulators as child processes, the PLC's bench panel over Modbus, the radar's
control port over loopback TCP), in ``sim`` on the in-process models, and refused with one line
where they cannot apply."""

from __future__ import annotations

import asyncio
import json
import socket
from pathlib import Path
from typing import Any

import pytest
from conftest import CONFIGS
from test_loop_emulate import EMULATE_RIG, ONE_INJECTED

from drivers.plc.transaction import PlcTransaction
from hil.config.loader import load_rig, load_scenario
from hil.errors import ConfigError, HilError
from hil.loop.cycle import CycleInput, CycleOutput
from hil.rig.base import DeviceTaps, RunSettings
from hil.rig.emulators import RadarStubProcess
from hil.rig.fault_schedule import EmulatorActuators, FaultSchedule
from hil.rig.faults import FaultEvent, check_faults
from hil.run.perform import perform_run
from hil.run.summary import summarize

SIM_RIG = CONFIGS / "rigs" / "sim.toml"
SEED = 5
"""one-injected.toml, seed 5: the injected target is launched at ~4 s without a fault."""


class CycleTimes:
    """Loop-clock times of the cycles with a radar frame, and of the first cycle."""

    def __init__(self) -> None:
        self.first_s: float | None = None
        self.frames_s: list[float] = []

    def observe(self, cycle_input: CycleInput, cycle_output: CycleOutput) -> None:
        if self.first_s is None:
            self.first_s = cycle_input.t_s
        if cycle_input.frame is not None:
            self.frames_s.append(cycle_input.t_s - self.first_s)


def settings(rig: Path, duration_s: float, *faults: FaultEvent) -> RunSettings:
    return RunSettings(
        load_rig(rig),
        load_scenario(ONE_INJECTED),
        ONE_INJECTED,
        duration_s,
        SEED,
        armed=True,
        faults=faults,
    )


def unused_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


# --- emulate: the real drivers against the emulators -----------------------------------------


async def test_radar_disconnect_at_2_s_is_recovered_and_the_run_succeeds() -> None:
    times = CycleTimes()
    run = settings(EMULATE_RIG, 4.0, FaultEvent(2.0, "radar_disconnect"))
    summary = summarize(await perform_run(run, lambda rig: [times]))
    driver = summary["links"]["radar"]["driver"]
    assert driver["link_losses"] == 1 and driver["reconnects"] == 1, driver
    assert driver["link_state"] == "up"
    assert any(t < 2.0 for t in times.frames_s) and any(t > 2.5 for t in times.frames_s)
    assert summary["devices_lost"] == [] and not summary["links"]["radar"]["lost"]
    (line,) = summary["notes"]
    assert line.startswith("fault radar_disconnect at 2 s: radar link hung up at 2.0"), line


async def test_estop_at_2_s_on_an_armed_run_means_no_launch_and_a_safe_rig() -> None:
    summary = summarize(await perform_run(settings(EMULATE_RIG, 5.0, FaultEvent(2.0, "estop"))))
    assert summary["launches"] == 0 and summary["launch_requests"] == 0
    assert summary["final_launch_count"] == 0
    assert summary["rig_final_state"].startswith("SAFE"), summary["rig_final_state"]
    assert "fault estop at 2 s: e-stop pressed at 2.0" in " ".join(summary["notes"])


async def test_plc_delay_makes_command_delivery_late_only_during_its_window() -> None:
    delay_ms = 60.0
    transactions: list[PlcTransaction] = []
    times = CycleTimes()
    run = settings(EMULATE_RIG, 4.0, FaultEvent(1.0, "plc_delay", 2.0, delay_ms))
    taps = DeviceTaps(plc_transactions=transactions.append)
    summary = summarize(await perform_run(run, lambda rig: [times], taps=taps))
    assert times.first_s is not None
    start = times.first_s
    writes = [(t.t_send_s - start, t.t_receive_s - t.t_send_s) for t in transactions if t.values]
    inside = [rtt for t, rtt in writes if 1.1 < t < 2.9]
    outside = sorted(rtt for t, rtt in writes if t < 0.9 or t > 3.1)
    assert inside and outside
    assert min(inside) >= delay_ms / 1000
    assert outside[len(outside) // 2] < 0.02  # median answer well under the delay
    delivery = summary["links"]["plc"]["command_delivery"]
    assert delivery["max_ms"] >= delay_ms > delivery["p50_ms"], delivery
    assert summary["links"]["plc"]["driver"]["timeouts"] == 0  # 60 ms is inside the 0.2 s timeout


async def test_a_fault_that_cannot_be_taken_is_an_error_naming_it() -> None:
    """The bench panel is not there (nothing listens): the schedule fails naming the fault, and
    asks for the run to stop."""
    stopped: list[bool] = []
    notes: list[str] = []
    actuators = EmulatorActuators(f"tcp://127.0.0.1:{unused_port()}", None)
    schedule = FaultSchedule([FaultEvent(1.0, "estop")], actuators, lambda: 0.0, notes)
    schedule.on_failure = lambda: stopped.append(True)
    schedule.start(0.0)
    await schedule.run()
    assert stopped == [True]
    assert isinstance(schedule.failure, HilError)
    assert str(schedule.failure).startswith("fault estop at 1 s not applied: cannot reach")
    assert notes == [str(schedule.failure)]


async def test_faults_on_real_bench_devices_are_refused_before_anything_starts(
    tmp_path: Path,
) -> None:
    rig = tmp_path / "bench.toml"
    rig.write_text(
        "[rig]\nname = 'bench'\nmode = 'bench'\n\n"
        f"[radar]\nurl = '{tmp_path / 'ttyNOPE'}'\n\n[plc]\nhost = '127.0.0.1'\n"
        f"port = {unused_port()}\n"
    )
    with pytest.raises(ConfigError) as refused:
        await perform_run(settings(rig, 5.0, FaultEvent(1.0, "plc_delay", 1.0, 50.0)))
    assert str(refused.value) == (
        "faults[0] (plc_delay): the plc is the real bench device, faults act only on emulated "
        "devices; run this case on an emulate rig"
    )


async def test_faults_apply_to_a_bench_rigs_fallback_emulators(tmp_path: Path) -> None:
    """Neither bench device is there and the rig allows the fallback: the run goes on in
    emulation (EMULATED in its notes) and the faults act on the emulators."""
    rig = tmp_path / "bench.toml"
    rig.write_text(
        "[rig]\nname = 'bench'\nmode = 'bench'\nallow_emulation_fallback = true\n\n"
        f"[radar]\nurl = '{tmp_path / 'ttyNOPE'}'\n\n[plc]\nhost = '127.0.0.1'\n"
        f"port = {unused_port()}\ntimeout_s = 0.1\nretries = 0\n"
    )
    faults = (FaultEvent(0.5, "radar_stall", 0.8), FaultEvent(1.0, "plc_drop", 0.0, 2.0))
    summary = summarize(await perform_run(settings(rig, 2.5, *faults)))
    assert summary["emulated_devices"] == ["radar", "plc"]
    notes = summary["notes"]
    assert sum("EMULATED" in n for n in notes) == 2, notes
    assert any(n.startswith("fault radar_stall at 0.5 s for 0.8 s: radar stalled") for n in notes)
    assert any(
        n.startswith("fault plc_drop at 1 s (value 2): PLC leaving its next 2") for n in notes
    )
    assert summary["links"]["radar"]["longest_silence_s"] >= 0.7
    assert summary["links"]["plc"]["driver"]["timeouts"] >= 1


# --- the radar emulator's control port -------------------------------------------------------


async def _ask(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, line: str) -> Any:
    writer.write(line.encode() + b"\n")
    async with asyncio.timeout(5.0):
        return json.loads(await reader.readline())


async def test_radar_control_port_switches_faults_and_refuses_bad_commands() -> None:
    stub = await RadarStubProcess.start(
        "--scenario", str(ONE_INJECTED), "--tcp", "127.0.0.1:0", "--control", "127.0.0.1:0"
    )
    try:
        assert stub.control_url is not None and stub.control_url.startswith("tcp://127.0.0.1:")
        port = int(stub.control_url.rsplit(":", 1)[1])
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        try:
            for good in ('{"stall_ms": 200}', '{"hangup": true}', '{"corrupt_byte_rate": 0.5}',
                         '{"corrupt_byte_rate": 0}'):  # fmt: skip
                assert await _ask(reader, writer, good) == {"ok": True}, good
            refused = {
                '{"stall_ms": 0}': "stall_ms 0: use whole milliseconds 1..3600000",
                '{"corrupt_byte_rate": 1.5}': "corrupt_byte_rate 1.5: use a probability in [0, 1]",
                '{"reboot": true}': "unknown command 'reboot'; use corrupt_byte_rate, stall_ms or hangup",  # noqa: E501
                "stall": "not a JSON object; send one object per line",
            }
            for line, error in refused.items():
                assert await _ask(reader, writer, line) == {"ok": False, "error": error}
        finally:
            writer.close()
            await writer.wait_closed()
    finally:
        code, _, err = await stub.stop()
    assert code == 0
    assert "1 hangups, 1 stalls" in err


# --- sim: the in-process models, deterministic -----------------------------------------------


async def test_sim_estop_means_no_launch() -> None:
    baseline = summarize(await perform_run(settings(SIM_RIG, 8.0)))
    assert baseline["launches"] == 1  # what the e-stop prevents
    pressed = summarize(await perform_run(settings(SIM_RIG, 8.0, FaultEvent(2.0, "estop"))))
    assert pressed["launches"] == 0 and pressed["launch_requests"] == 0
    assert pressed["rig_final_state"].startswith("SAFE")
    assert pressed["notes"] == ["fault estop at 2 s: e-stop pressed at 2.000 s"]


async def test_sim_radar_stall_takes_its_frames_away_and_the_loop_sees_the_silence() -> None:
    summary = summarize(
        await perform_run(settings(SIM_RIG, 8.0, FaultEvent(2.0, "radar_stall", 1.5)))
    )
    assert summary["frames"] == 800 - 150  # 10 ms dwells
    radar = summary["links"]["radar"]
    assert radar["outages"] == 1 and 0.9 < radar["longest_outage_s"] < 1.5, radar
    assert summary["launches"] == 1  # the target is tracked again after the stall


async def test_sim_plc_delay_delays_the_launch_by_the_round_trip() -> None:
    log = summarize(
        await perform_run(settings(SIM_RIG, 8.0, FaultEvent(2.0, "plc_delay", 4.0, 300.0)))
    )["engagement_log"]
    launched = [r for r in log if r["outcome"] == "launched"]
    assert len(launched) == 1
    # FIRE reaches the PLC 0.3 s late and its launch is seen 0.3 s late
    assert launched[0]["launched_s"] - launched[0]["fire_requested_s"] >= 0.6


async def test_sim_faults_are_deterministic_by_seed() -> None:
    faults = (
        FaultEvent(1.0, "radar_corrupt", 3.0, 0.005),
        FaultEvent(3.0, "plc_drop", 0.0, 4.0),
        FaultEvent(5.0, "interlock_open", 0.5),
    )
    first, second = [summarize(await perform_run(settings(SIM_RIG, 6.0, *faults))) for _ in "ab"]
    assert first["digest"] == second["digest"] and first["notes"] == second["notes"]
    assert 450 < first["frames"] < 580  # some corrupted frames lost, far from all of them
    assert len(first["notes"]) == 6  # 5 actions and the failed writes of plc_drop
    clean = summarize(await perform_run(settings(SIM_RIG, 6.0)))
    assert clean["digest"] != first["digest"]


# --- validation: one line naming the fault, the key and the fix ------------------------------

BAD_FAULTS = [
    (FaultEvent(-1.0, "estop"), "emulate", "at_s = -1 s lies outside the run; use 0 <= at_s < 10 s"),  # noqa: E501
    (FaultEvent(10.0, "estop"), "sim", "at_s = 10 s lies outside the run; use 0 <= at_s < 10 s"),
    (FaultEvent(float("nan"), "estop"), "sim", "at_s = nan is not a finite number"),
    (FaultEvent(1.0, "estop", float("inf")), "sim", "duration_s = inf is not a finite number"),
    (FaultEvent(1.0, "estop", -2.0), "sim", "duration_s = -2 is negative; use seconds >= 0"),
    (FaultEvent(1.0, "radar_corrupt", 1.0, 0.0), "sim", "value = 0 is not a corruption rate; use a probability per byte in (0, 1]"),  # noqa: E501
    (FaultEvent(1.0, "radar_corrupt", 1.0, 1.5), "emulate", "value = 1.5 is not a corruption rate"),
    (FaultEvent(1.0, "radar_corrupt"), "sim", "duration_s is missing; give how long the fault lasts, in seconds > 0"),  # noqa: E501
    (FaultEvent(1.0, "plc_delay", 1.0, -5.0), "sim", "value = -5 ms is not a response delay; use 0..60000 ms"),  # noqa: E501
    (FaultEvent(1.0, "plc_delay", 1.0, 60_001.0), "emulate", "value = 60001 ms is not a response delay"),  # noqa: E501
    (FaultEvent(1.0, "plc_drop", 0.0, 2.5), "sim", "value = 2.5 is not a request count; use a whole number 1..65535"),  # noqa: E501
    (FaultEvent(1.0, "plc_drop", 0.0, 0.0), "sim", "value = 0 is not a request count"),
    (FaultEvent(1.0, "radar_disconnect", 2.0), "sim", "duration_s = 2: radar_disconnect happens at one moment; leave duration_s out"),  # noqa: E501
    (FaultEvent(1.0, "estop", 0.0, 3.0), "sim", "value = 3 means nothing for estop; leave value out"),  # noqa: E501
    (FaultEvent(1.0, "estop"), "replay", "a replay plays recorded traffic and cannot take faults; use an emulate or sim rig"),  # noqa: E501
    (FaultEvent(1.0, "reboot"), "sim", "unknown fault kind; use one of radar_corrupt, radar_stall, radar_disconnect, plc_delay, plc_drop, estop, interlock_open"),  # type: ignore[arg-type]  # noqa: E501
]  # fmt: skip


@pytest.mark.parametrize(("fault", "mode", "problem"), BAD_FAULTS)
def test_check_faults_names_the_fault_and_the_fix(
    fault: FaultEvent, mode: str, problem: str
) -> None:
    """A good fault first (not mentioned; in replay no fault is good), then the bad one."""
    faults = [fault] if mode == "replay" else [FaultEvent(0.5, "plc_drop", 0.0, 1.0), fault]
    with pytest.raises(ConfigError) as refused:
        check_faults(faults, mode, 10.0, where="cases[2].faults")
    (line,) = refused.value.problems
    assert line.startswith(f"cases[2].faults[{len(faults) - 1}] ({fault.kind}): {problem}"), line


def test_check_faults_refuses_overlapping_windows_and_accepts_a_good_list() -> None:
    good = [
        FaultEvent(1.0, "radar_disconnect"),
        FaultEvent(1.0, "radar_corrupt", 2.0, 0.001),
        FaultEvent(2.0, "estop", 1.0),
        FaultEvent(3.0, "estop"),
        FaultEvent(4.0, "plc_drop", 0.0, 3.0),
    ]
    check_faults(good, "emulate", 10.0)
    with pytest.raises(ConfigError) as refused:
        check_faults([FaultEvent(1.0, "estop"), FaultEvent(5.0, "estop", 1.0)], "sim", 10.0)
    assert refused.value.problems == [
        "faults[1] (estop): starts at 5 s while faults[0] still lasts (to the end); make them "
        "one fault or move one"
    ]
