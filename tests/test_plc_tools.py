"""`hil plc status | watch | command` against the emulated PLC over loopback TCP and RTU on a pty.

The PLC tools never arm or fire: argparse has no such subcommand, the one write path refuses
anything outside its allowed set (a hypothesis test), and a tap on the emulated PLC's request
handler records every write that reached it while each subcommand runs.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import math
import re
import signal
import sys
from collections.abc import AsyncIterator, Sequence

import pytest
from cli_support import hil_async as hil
from hypothesis import given
from hypothesis import strategies as st
from plc_support import TRANSPORTS, emulated_plc
from pty_support import hil_on_a_terminal
from rich.console import Console

from drivers.plc.driver import PlcDriver, PlcEndpoint
from drivers.plc.register_map import Table, as_float32, load_register_map
from drivers.plc.types import ArmState, Coil, FaultCode, Mode
from firmware_stubs.plc.server import PlcEmulator
from hil.cli import main
from hil.cli.plc_cmd import command, read_once
from hil.errors import ConfigError, HilError
from hil.plc_tools.link import open_plc
from hil.plc_tools.maintenance import (
    ALLOWED_WRITES,
    VERBS,
    ForbiddenWriteError,
    MaintenanceWrite,
    send,
)
from hil.plc_tools.snapshot import read_snapshot, snapshot_json
from hil.plc_tools.watch_view import WatchState, watch_view
from hil.rig.emulators import PlcStubProcess

MAP = load_register_map()
ARM_OR_FIRE = {MAP["ARM_REQUEST"].address, MAP["FIRE"].address}
WRITE_TABLES = {
    5: Table.COILS,
    15: Table.COILS,
    6: Table.HOLDING_REGISTERS,
    16: Table.HOLDING_REGISTERS,
}


def tap_writes(emulator: PlcEmulator) -> list[tuple[Table, int, list[int]]]:
    """Every write that reaches the emulated PLC (unit 1) from now on: (table, first address,
    values), in arrival order — a tap on the PLC side of the wire."""
    writes: list[tuple[Table, int, list[int]]] = []
    handle = emulator.handle

    async def tapped(
        unit: int, func_code: int, address: int, count: int, values: list[int] | list[bool] | None
    ) -> object:
        if unit == emulator.unit_id and values is not None:
            writes.append((WRITE_TABLES[func_code], address, [int(v) for v in values]))
        return await handle(unit, func_code, address, count, values)

    emulator.handle = tapped  # type: ignore[method-assign, assignment]
    return writes


async def latched(emulator: PlcEmulator, fault: FaultCode) -> None:
    """Until the emulator's next scan has latched ``fault`` (its scan task offers no event)."""
    async with asyncio.timeout(2.0):
        while emulator.model.latched_fault is not fault:  # noqa: ASYNC110
            await asyncio.sleep(0.01)  # pacing the look at the model: one scan is 10 ms


@pytest.mark.parametrize("transport", TRANSPORTS)
async def test_status_reports_what_the_emulator_holds_in_si_units(transport: str) -> None:
    async with emulated_plc(transport) as emulator:
        m = emulator.model
        m.az.position_rad, m.el.position_rad = 1.25, 0.5  # axes disabled: they hold there
        m.az_setpoint_rad, m.el_setpoint_rad = 2.0, 0.75
        m.az_rate_limit_mrad_s, m.el_rate_limit_mrad_s = 321, 123
        m.mode = Mode.POINTING
        m.rounds_ready, m.launch_count, m.last_launch_ms, m.fire_reject_count = 3, 7, 4567, 2
        m.estop_pressed = True
        await latched(emulator, FaultCode.ESTOP)
        status = snapshot_json(await read_once(emulator.url, 5.0))
        assert status["icd_version"] == 1 and status["url"] == str(PlcEndpoint.parse(emulator.url))
        az, el = status["axes"]["az"], status["axes"]["el"]
        assert az["actual_rad"] == as_float32(1.25) and el["actual_rad"] == as_float32(0.5)
        assert az["actual_deg"] == pytest.approx(math.degrees(1.25), rel=1e-6)
        assert (az["setpoint_rad"], el["setpoint_rad"]) == (2.0, 0.75)
        assert el["setpoint_deg"] == pytest.approx(math.degrees(0.75))
        assert az["rate_limit_rad_s"] == pytest.approx(0.321)
        assert el["rate_limit_rad_s"] == pytest.approx(0.123)
        assert (az["rate_rad_s"], el["rate_rad_s"]) == (0.0, 0.0)
        assert status["mode"] == "POINTING" and status["arm_state"] == "SAFE"
        assert status["fault_code"] == "ESTOP"
        assert status["flags"] == {
            "estop_ok": False,
            "interlock_chain_ok": True,
            "axes_enabled": False,
            "in_position": False,
            "armed": False,
            "ready_to_fire": False,
            "watchdog_tripped": False,
            "fault": True,
        }
        assert (status["rounds_ready"], status["launch_count"]) == (3, 7)
        assert status["last_launch_s"] == pytest.approx(4.567)
        assert status["fire_reject_count"] == 2
        assert status["host_requests"] == dict.fromkeys(
            ("heartbeat", "arm_request", "fire", "fault_reset", "axes_enable"), False
        )
        assert status["uptime_s"] == pytest.approx(m.time_ms / 1000, abs=1.0)
        assert not m.heartbeat_seen  # status only reads


@pytest.mark.parametrize("transport", TRANSPORTS)
async def test_every_command_reads_back_and_none_writes_arm_or_fire(transport: str) -> None:
    async with emulated_plc(transport) as emulator:
        writes = tap_writes(emulator)
        m = emulator.model
        outcome = await command(emulator.url, "axes on", 5.0)
        assert outcome.ok and "AXES_ENABLED 0 → 1" in outcome.changes and m.axes_enabled
        m.az_setpoint_rad = 0.5
        # the axes sit at the stow pointing: IN_POSITION may settle (after its 50 ms of scans)
        # while the command reads back, on a loaded machine, and drop again once IDLE holds
        # them; nothing else may change
        outcome = await command(emulator.url, "stow", 5.0)
        assert outcome.ok and m.mode is Mode.STOW
        assert outcome.changes in (["MODE IDLE → STOW"], ["MODE IDLE → STOW", "IN_POSITION 0 → 1"])
        outcome = await command(emulator.url, "idle", 5.0)
        assert outcome.ok and m.mode is Mode.IDLE
        assert outcome.changes in (["MODE STOW → IDLE"], ["MODE STOW → IDLE", "IN_POSITION 1 → 0"])
        outcome = await command(emulator.url, "axes off", 5.0)
        assert outcome.ok and "AXES_ENABLE 1 → 0" in outcome.changes and not m.axes_enabled
        m.estop_pressed = True  # pressed and released: ESTOP stays latched
        await latched(emulator, FaultCode.ESTOP)
        m.estop_pressed = False
        outcome = await command(emulator.url, "fault-reset", 5.0)
        assert outcome.ok, outcome.problem
        assert "FAULT 1 → 0" in outcome.changes and "FAULT_CODE ESTOP → NONE" in outcome.changes
        assert m.latched_fault is FaultCode.NONE
        assert m.arm_state is ArmState.SAFE and m.launch_count == 0
    written = {(table, address) for table, address, _ in writes}
    coils = {address for table, address in written if table is Table.COILS}
    assert not coils & ARM_OR_FIRE, writes
    assert written == {
        (Table.COILS, Coil.AXES_ENABLE),
        (Table.HOLDING_REGISTERS, MAP["MODE"].address),
        (Table.COILS, Coil.FAULT_RESET),
        (Table.COILS, Coil.HEARTBEAT),  # fault-reset needs a live heartbeat (ICD rule 2)
    }


async def test_fault_reset_with_the_estop_pressed_says_why_it_did_not_clear() -> None:
    async with emulated_plc("tcp") as emulator:
        emulator.model.estop_pressed = True
        outcome = await command(emulator.url, "fault-reset", 5.0)
        assert not outcome.ok
        assert "fault ESTOP still latched (E-STOP PRESSED" in outcome.problem
        outcome = await command(emulator.url, "axes on", 5.0)
        assert not outcome.ok and "AXES_ENABLED stays 0: E-STOP PRESSED" in outcome.problem


@pytest.mark.parametrize("verb", ["arm", "fire", "FIRE"])
def test_arm_and_fire_are_no_subcommands(verb: str, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_:
        main(["plc", "command", "tcp://127.0.0.1:502", verb])
    assert exit_.value.code == 2
    err = capsys.readouterr().err
    assert f"error: {verb}: this tool never arms or fires" in err


def test_the_allowed_writes_hold_no_arm_or_fire_and_only_writable_entries() -> None:
    assert set(VERBS.values()) == ALLOWED_WRITES
    for write in ALLOWED_WRITES:
        spec = MAP[write.register]
        assert spec.writable and write.register not in ("ARM_REQUEST", "FIRE")
        table = MAP.table_of(write.register)
        assert not (table is Table.COILS and spec.address in ARM_OR_FIRE)
        assert spec.check_wire(write.value) is None


UNOPENED = PlcDriver(PlcEndpoint.parse("tcp://127.0.0.1:9"), register_map=MAP)
NAMES = [entry.name for entries in MAP.tables.values() for entry in entries]


@given(
    register=st.one_of(st.sampled_from(NAMES), st.text(max_size=12)),
    value=st.integers(-(2**16), 2**16),
)
def test_send_refuses_every_write_outside_the_allowed_set(register: str, value: int) -> None:
    write = MaintenanceWrite(register, value)
    if write in ALLOWED_WRITES:
        assert register not in ("ARM_REQUEST", "FIRE")
        return
    # refused in send's first step, before its first await: the driver (never opened) is not
    # reached, so the coroutine is stepped by hand instead of paying an event loop per example
    step = send(UNOPENED, write)
    with pytest.raises(ForbiddenWriteError, match="never arms or fires"):
        step.send(None)


async def test_an_unreachable_plc_is_one_line_naming_its_url() -> None:
    async with emulated_plc("tcp") as emulator:
        url = emulator.url
    with pytest.raises(HilError, match=rf"^PLC {url}: not connected after 0.3 s") as error:
        await read_once(url, 0.3)
    assert "\n" not in str(error.value)
    with pytest.raises(ConfigError, match="expected tcp://host:port or rtu://"):
        await read_once("http://plc", 0.3)


async def test_watch_json_reads_at_the_asked_rate_and_writes_nothing() -> None:
    async with emulated_plc("tcp") as emulator:
        writes = tap_writes(emulator)
        code, out, err = await hil(
            "plc", "watch", emulator.url, "--rate", "10", "--seconds", "1", "--json"
        )
        assert code == 0, err
        assert not writes and not emulator.model.heartbeat_seen
    reads = [json.loads(line) for line in out.splitlines()]
    assert len(reads) == 10
    assert all(r["heartbeat_kept"] is False and r["mode"] == "IDLE" for r in reads)
    scans = [r["scan_counter"] for r in reads]
    assert scans == sorted(scans) and scans[-1] - scans[0] >= 60  # ~0.9 s of 10 ms scans
    assert json.loads(err.splitlines()[0])["health"]["link_state"] == "up"


async def test_watch_with_heartbeat_over_rtu_keeps_the_watchdog_fed_and_ends_on_sigterm() -> None:
    async with emulated_plc("rtu") as emulator:
        process = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "hil",
            "plc",
            "watch",
            emulator.url,
            "--heartbeat",
            "--rate",
            "5",
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        assert process.stdout is not None
        try:
            async with asyncio.timeout(20.0):
                header = (await process.stdout.readline()).decode()
                lines = [(await process.stdout.readline()).decode() for _ in range(6)]
                assert emulator.model.heartbeat_seen and not emulator.model.watchdog_tripped
                process.send_signal(signal.SIGTERM)
                _, err = await process.communicate()
        finally:
            if process.returncode is None:
                process.kill()
                await process.communicate()
    assert process.returncode == 143, err
    assert "heartbeat KEPT by this tool (10 Hz)" in header
    assert all("mode IDLE arm SAFE" in line and "fault NONE" in line for line in lines)
    assert "heartbeats=" in err.decode() and "watchdog latches 0.5 s later" in err.decode()


async def test_status_command_line_over_rtu() -> None:
    async with emulated_plc("rtu") as emulator:
        emulator.model.rounds_ready = 2
        code, out, err = await hil("plc", "status", emulator.url)
    assert code == 0, err
    assert out.splitlines()[0].startswith(f"PLC {emulator.url}  ICD version 1")
    assert "rounds ready 2  launches 0" in out
    assert "mode IDLE  arm state SAFE" in out


async def test_watch_view_says_what_it_shows() -> None:
    async with emulated_plc("tcp") as emulator:
        emulator.model.az.position_rad = math.radians(90.0)
        async with open_plc(emulator.url, 5.0) as plc:
            snapshot = await read_snapshot(plc)
            views: Sequence[WatchState] = [
                WatchState(emulator.url, snapshot, plc.health(), "", 1, 4.0, heartbeat)
                for heartbeat in (False, True)
            ]
            console = Console(record=True, width=120)
            for state in views:
                console.print(watch_view(state))
    text = console.export_text()
    assert "heartbeat NOT sent" in text and "heartbeat KEPT by this tool" in text
    assert "azimuth" in text and "90.000°" in text and "SAFE" in text and "released" in text


async def test_watch_on_a_terminal_is_a_live_view_that_refreshes() -> None:
    async with emulated_plc("tcp") as emulator:
        code, text, err = await hil_on_a_terminal(
            "plc", "watch", emulator.url, "--rate", "5", "--seconds", "1"
        )
        assert not emulator.model.heartbeat_seen
    assert code == 0, err
    assert f"PLC {emulator.url}  every 0.2 s  heartbeat NOT sent (listen-only" in text
    assert "azimuth" in text and "elevation" in text and "interlock chain  closed" in text
    scans = [int(n) for n in re.findall(r"scan / uptime\s+(\d+) /", text)]
    assert len(scans) >= 5 and scans == sorted(scans) and scans[0] < scans[-1]  # one per read
    assert "health: link_state=up" in err


@contextlib.asynccontextmanager
async def plc_stub_process() -> AsyncIterator[PlcStubProcess]:
    """`hil stub plc --tcp` in a child process (so a test can SIGSTOP it), stopped at the end
    (SIGCONT first, should the test have left it stopped)."""
    stub = await PlcStubProcess.start("--tcp", "127.0.0.1:0")
    try:
        yield stub
    finally:
        stub.process.send_signal(signal.SIGCONT)
        await stub.stop()


def error_lines(err: str) -> list[str]:
    return [line for line in err.splitlines() if line.startswith("error:")]


async def test_watch_of_a_stopped_plc_exits_1_saying_no_read_succeeded() -> None:
    """A SIGSTOPped PLC accepts the TCP connection (the kernel does) but never answers."""
    async with plc_stub_process() as stub:
        stub.process.send_signal(signal.SIGSTOP)
        code, out, err = await hil("plc", "watch", stub.url, "--seconds", "1", "--json")
    assert code == 1, err
    (line,) = error_lines(err)
    assert line.startswith(f"error: PLC {stub.url}: no read succeeded: ")
    assert "no answer" in line
    assert all("error" in json.loads(read) for read in out.splitlines())


async def test_watch_of_a_plc_that_stops_answering_exits_1_saying_so() -> None:
    """Good reads first, then the PLC stops (SIGSTOP) and never answers again."""
    async with plc_stub_process() as stub:
        watch = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "hil", "plc", "watch", stub.url, "--rate", "10",
            "--seconds", "2", "--json",
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
        )  # fmt: skip
        assert watch.stdout is not None
        try:
            async with asyncio.timeout(30.0):
                first = json.loads(await watch.stdout.readline())
                stub.process.send_signal(signal.SIGSTOP)
                rest, err_bytes = await watch.communicate()
        finally:
            if watch.returncode is None:
                watch.kill()
                await watch.communicate()
    err = err_bytes.decode()
    assert "error" not in first and first["mode"] == "IDLE"
    assert watch.returncode == 1, err
    (line,) = error_lines(err)
    assert line.startswith(f"error: PLC {stub.url}: stopped answering: the last ")
    assert "good one" in line
    assert "error" in json.loads(rest.decode().splitlines()[-1])
