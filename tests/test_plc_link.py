"""The PLC driver against the emulated PLC over real transports: loopback TCP and RTU on ptys."""

from __future__ import annotations

import asyncio
import math
import time
from pathlib import Path

import pytest
from debian_tools import require_tool
from plc_support import (
    ALL_SOURCES,
    TRANSPORTS,
    emulated_plc,
    panel_write,
    plc_driver,
    plc_under_test,
)

from drivers.errors import DriverTimeoutError, LifecycleError, LinkDownError, PlcExceptionError
from drivers.plc.driver import PlcDriver, PlcEndpoint, PlcLinkState, PlcStatus
from drivers.plc.types import ArmState, Coil, FaultCode, Mode
from firmware_stubs.plc.model import FIRING_MS, SCAN_MS
from hil.rig.emulators import PlcStubProcess


async def wait_for_status(plc: PlcDriver, condition: object, timeout_s: float) -> object:
    async with asyncio.timeout(timeout_s):
        while True:
            status = await plc.read_status()
            if condition(status):  # type: ignore[operator]
                return status


async def recover(plc: PlcDriver, timeout_s: float = 10.0) -> None:
    """Wait until the driver has reconnected by itself and a status read succeeds."""
    async with asyncio.timeout(timeout_s):
        while True:
            try:
                await plc.wait_up(timeout_s)
                await plc.read_status()
                return
            except (DriverTimeoutError, LinkDownError):
                continue


async def read_until_refused(plc: PlcDriver) -> None:
    """Read the status until the link refuses (timeout, or already marked failed)."""
    async with asyncio.timeout(5.0):
        while True:
            try:
                await plc.read_status()
            except (DriverTimeoutError, LinkDownError):
                return


@pytest.mark.parametrize("source", ALL_SOURCES)
async def test_status_and_heartbeat(source: str, request: pytest.FixtureRequest) -> None:
    """Shared by the emulated runs and the bench (``--rig``): reads only, plus the heartbeat —
    nothing that moves, arms or fires the rig."""
    async with plc_under_test(source, request) as url, plc_driver(url) as plc:
        first = await plc.read_status()
        assert first.icd_version == 1
        later = await wait_for_status(plc, lambda s: s.uptime_s >= first.uptime_s + 1.0, 3.0)
        assert not later.watchdog_tripped  # type: ignore[attr-defined]
        assert later.scan_counter != first.scan_counter  # type: ignore[attr-defined]
        health = plc.health()
        assert health.heartbeats >= 9 and health.timeouts == 0 and health.exceptions == 0


@pytest.mark.parametrize("transport", TRANSPORTS)
async def test_point_arm_and_fire(transport: str) -> None:
    async with emulated_plc(transport) as emu, plc_driver(emu.url) as plc:
        status = await plc.read_status()
        assert (status.arm_state, status.icd_version, status.rounds_ready) == (ArmState.SAFE, 1, 4)
        assert status.estop_ok and not status.armed
        await plc.request_fire()  # not armed: refused, nothing launched
        status = await wait_for_status(plc, lambda s: s.fire_reject_count == 1, 1.0)
        assert status.launch_count == 0  # type: ignore[attr-defined]

        await plc.set_rate_limits(1.0, 0.5)
        await plc.enable_axes(True)
        await plc.set_mode(Mode.POINTING)
        started = time.monotonic()
        await plc.point(1.2, 0.4)
        status = await wait_for_status(plc, lambda s: s.in_position, 5.0)
        # 1.2 rad at 1 rad/s with 2 rad/s² ramps: ≥ 1.7 s; ample margin for the wall clock
        assert 1.6 <= time.monotonic() - started <= 3.0
        assert status.az_rad == pytest.approx(1.2, abs=0.002)  # type: ignore[attr-defined]
        assert status.el_rad == pytest.approx(0.4, abs=0.002)  # type: ignore[attr-defined]

        armed_from = (await plc.read_status()).uptime_s
        await plc.request_arm(True)
        status = await wait_for_status(plc, lambda s: s.arm_state is ArmState.ARMED, 3.0)
        assert 1.0 <= status.uptime_s - armed_from <= 1.2  # type: ignore[attr-defined]

        await wait_for_status(plc, lambda s: s.ready_to_fire, 1.0)
        await plc.request_fire()
        status = await wait_for_status(plc, lambda s: s.launch_count == 1, 1.0)
        assert status.rounds_ready == 3 and status.fire_reject_count == 1  # type: ignore[attr-defined]
        assert status.last_launch_s > armed_from  # type: ignore[attr-defined]
        await plc.request_arm(False)
        status = await wait_for_status(plc, lambda s: s.arm_state is ArmState.SAFE, 1.0)
        health = plc.health()
        assert health.timeouts == 0 and health.exceptions == 0 and health.heartbeats > 10
        assert health.rtt_p50_ms is not None and health.rtt_p50_ms < 50


async def point_and_arm(plc: PlcDriver) -> PlcStatus:
    """Point outside the no-fire sectors, arm, and return the first status read showing ARMED."""
    await plc.set_rate_limits(1.0, 0.5)
    await plc.enable_axes(True)
    await plc.set_mode(Mode.POINTING)
    await plc.point(1.2, 0.4)
    await wait_for_status(plc, lambda s: s.in_position, 5.0)
    await plc.request_arm(True)
    return await wait_for_status(plc, lambda s: s.arm_state is ArmState.ARMED, 3.0)  # type: ignore[return-value]


@pytest.mark.parametrize("transport", TRANSPORTS)
async def test_fire_written_when_armed_is_published_launches(transport: str) -> None:
    """ICD v1.1 rule 5 does not make the rig unable to fire: FIRE written as soon as a status
    shows ARMED and READY_TO_FIRE launches, with no refusal."""
    async with emulated_plc(transport) as emu, plc_driver(emu.url) as plc:
        armed = await point_and_arm(plc)
        assert armed.ready_to_fire and armed.launch_count == 0
        await plc.request_fire()
        launched = await wait_for_status(plc, lambda s: s.launch_count == 1, 1.0)
        assert launched.fire_reject_count == 0  # type: ignore[attr-defined]
        assert launched.last_launch_s > armed.uptime_s  # type: ignore[attr-defined]


@pytest.mark.parametrize("transport", TRANSPORTS)
async def test_fire_written_during_firing_is_refused_and_counted(transport: str) -> None:
    """ICD v1.1 rule 5 over the wire: FIRE written in the last FIRING scan (READY_TO_FIRE
    published 0) is refused and counted by the scan that ends FIRING, and never launches once
    ARMED and READY_TO_FIRE are published again. The write is aimed at that scan; an attempt
    whose write arrives after it (a slow machine) proves nothing and is repeated."""
    async with emulated_plc(transport) as emu, plc_driver(emu.url) as plc:
        await panel_write(emu.panel_url, register=0, value=30)  # RELOAD_ROUNDS: room to retry
        status = await point_and_arm(plc)
        for _ in range(12):
            status = await wait_for_status(plc, lambda s: s.ready_to_fire, 2.0)  # type: ignore[assignment]
            launches = status.launch_count
            await plc.request_fire()
            firing: PlcStatus = await wait_for_status(  # type: ignore[assignment]
                plc, lambda s, n=launches: s.launch_count == n + 1, 1.0
            )
            firing_ends_ms = round(firing.last_launch_s * 1000) + FIRING_MS
            last: PlcStatus = await wait_for_status(  # type: ignore[assignment]
                plc, lambda s, t=firing_ends_ms: s.uptime_s * 1000 >= t - SCAN_MS - 0.5, 1.0
            )
            if last.arm_state is not ArmState.FIRING:
                continue  # read after FIRING ended: aim at the next launch
            await plc.request_fire()
            if emu.model.time_ms >= firing_ends_ms:
                continue  # the write may have come after the scan that ended FIRING
            refused = await wait_for_status(
                plc, lambda s, n=last.fire_reject_count: s.fire_reject_count == n + 1, 1.0
            )
            assert refused.launch_count == launches + 1  # type: ignore[attr-defined]
            ready = await wait_for_status(plc, lambda s: s.ready_to_fire, 1.0)
            # ARMED and READY_TO_FIRE published again: the refused request was not kept
            assert ready.arm_state is ArmState.ARMED  # type: ignore[attr-defined]
            assert ready.launch_count == launches + 1  # type: ignore[attr-defined]
            assert emu.model.launch_count == launches + 1 and not emu.model.coils[Coil.FIRE]
            return
        pytest.fail("no FIRE write reached the PLC within its last FIRING scan in 12 tries")


@pytest.mark.parametrize("transport", TRANSPORTS)
async def test_writes_are_checked_and_exceptions_name_the_register(transport: str) -> None:
    async with emulated_plc(transport) as emu, plc_driver(emu.url) as plc:
        with pytest.raises(ValueError, match="EL_SETPOINT"):
            await plc.point(1.0, 1.6)  # above 85°: refused before sending
        with pytest.raises(ValueError, match="AZ_RATE_LIMIT"):
            await plc.set_rate_limits(2.0, 0.1)
        requests = plc.health().requests
        with pytest.raises(PlcExceptionError, match=r"AZ_SETPOINT.*exception 03") as refused:
            await plc._request("AZ_SETPOINT", "write_registers", 1, [0])  # half a float
        assert refused.value.exception_code == 3
        with pytest.raises(PlcExceptionError, match="exception 02"):
            await plc._request("coil 9", "write_coil", 9, True)
        assert plc.health().exceptions == 2 and plc.health().requests > requests
        assert plc.link_state is PlcLinkState.UP  # an exception answer is not a link failure
        await plc.point(2 * math.pi - 1e-9, 0.0)  # rounds to 2π in float32: sent as 0
        assert emu.model.az_setpoint_rad == 0.0


@pytest.mark.parametrize("transport", TRANSPORTS)
async def test_watchdog_trips_when_the_heartbeat_stops(transport: str) -> None:
    async with emulated_plc(transport) as emu:
        async with plc_driver(emu.url) as plc:
            await wait_for_status(plc, lambda s: s.uptime_s > 0.3, 2.0)
        async with plc_driver(emu.url, heartbeat_hz=None) as observer:
            status = await wait_for_status(observer, lambda s: s.watchdog_tripped, 2.0)
            assert status.fault_code is FaultCode.WATCHDOG  # type: ignore[attr-defined]
            assert status.arm_state is ArmState.SAFE  # type: ignore[attr-defined]
        model = emu.model
        assert model.watchdog_trip_ms is not None
        assert 500 < model.watchdog_trip_ms - model.heartbeat_changed_ms <= 510
        tripped_at_s = model.time_ms / 1000
        async with plc_driver(emu.url) as plc:  # a live heartbeat again: faults can be reset
            await wait_for_status(plc, lambda s: s.uptime_s > tripped_at_s + 0.2, 2.0)
            await plc.reset_faults()
            await wait_for_status(plc, lambda s: not s.fault, 1.0)


@pytest.mark.parametrize("transport", TRANSPORTS)
async def test_panel_estop_makes_the_rig_safe(transport: str) -> None:
    async with emulated_plc(transport) as emu, plc_driver(emu.url) as plc:
        await plc.enable_axes(True)
        await plc.request_arm(True)
        await wait_for_status(plc, lambda s: s.arm_state is ArmState.ARMING, 1.0)
        await panel_write(emu.panel_url, coil=0, value=True)
        status = await wait_for_status(plc, lambda s: not s.estop_ok, 1.0)
        assert status.arm_state is ArmState.SAFE and status.fault  # type: ignore[attr-defined]
        assert status.fault_code is FaultCode.ESTOP  # type: ignore[attr-defined]
        await panel_write(emu.panel_url, register=0, value=1)  # reload one round
        assert (await plc.read_status()).rounds_ready == 1


@pytest.mark.parametrize("transport", TRANSPORTS)
async def test_response_delay_and_dropped_requests_time_out_and_recover(transport: str) -> None:
    async with (
        emulated_plc(transport) as emu,
        plc_driver(emu.url, timeout_s=0.1, retries=1, backoff_min_s=0.05) as plc,
    ):
        await panel_write(emu.panel_url, register=2, value=8)  # drop the next 8 unit-1 requests
        await read_until_refused(plc)
        assert plc.health().timeouts >= 1
        assert plc.link_state is not PlcLinkState.UP
        with pytest.raises(LinkDownError):
            await plc.read_status()  # failed link: refused at once, never a stale status
        await recover(plc)
        assert emu.dropped == 8 and plc.health().reconnects >= 1

        await panel_write(emu.panel_url, register=1, value=300)  # answer 300 ms late
        await read_until_refused(plc)
        timeouts = plc.health().timeouts
        assert timeouts >= 2
        await panel_write(emu.panel_url, register=1, value=0)
        await recover(plc)
        status = await plc.read_status()
        assert status.icd_version == 1 and plc.link_state is PlcLinkState.UP


@pytest.mark.parametrize("transport", TRANSPORTS)
async def test_emulator_killed_and_restarted(transport: str, tmp_path: Path) -> None:
    where = (
        ["--rtu-pty", "--pty-link", str(tmp_path / "plc")]
        if transport == "rtu"
        else ["--tcp", "127.0.0.1:0"]
    )
    stub = await PlcStubProcess.start(*where)
    try:
        async with plc_driver(stub.url, backoff_min_s=0.05, backoff_max_s=0.5) as plc:
            await plc.read_status()
            await stub.stop(kill=True)
            async with asyncio.timeout(5.0):
                while plc.link_state is PlcLinkState.UP:
                    try:
                        await plc.read_status()
                    except (DriverTimeoutError, LinkDownError):
                        break
            assert plc.link_state is not PlcLinkState.UP
            if transport == "tcp":
                where = ["--tcp", stub.url.removeprefix("tcp://")]
            stub = await PlcStubProcess.start(*where)
            await plc.wait_up(5.0)
            status = await wait_for_status(plc, lambda s: s.icd_version == 1, 5.0)
            assert status.uptime_s < 5.0  # type: ignore[attr-defined]  # the new PLC
            assert plc.health().reconnects >= 1
    finally:
        await stub.stop()


async def test_lifecycle_is_explicit() -> None:
    plc = PlcDriver(PlcEndpoint.parse("tcp://127.0.0.1:9"))
    with pytest.raises(LifecycleError):
        await plc.read_status()
    async with plc:
        with pytest.raises(DriverTimeoutError, match="not connected"):
            await plc.wait_up(0.3)
        with pytest.raises(LinkDownError):
            await plc.enable_axes(True)
    await plc.close()


def test_endpoint_urls() -> None:
    assert PlcEndpoint.parse("tcp://10.0.0.5:1502") == PlcEndpoint("tcp", "10.0.0.5", 1502)
    rtu = PlcEndpoint.parse("rtu:///dev/ttyUSB1?baud=57600&parity=N")
    assert (rtu.serial_url, rtu.baud, rtu.parity) == ("/dev/ttyUSB1", 57600, "N")
    assert PlcEndpoint.parse("rtu:///dev/ttyUSB0").parity == "E"  # the ICD's 8E1
    with pytest.raises(ValueError, match="expected tcp://"):
        PlcEndpoint.parse("modbus://x")


async def mbpoll(tool: str, port: int, *args: str) -> str:
    """One mbpoll run against unit 1 on loopback: PDU addresses, one poll, big-endian words."""
    process = await asyncio.create_subprocess_exec(
        tool,
        "-m",
        "tcp",
        "-a",
        "1",
        "-0",
        "-1",
        "-B",
        "-p",
        str(port),
        *args,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await process.communicate()
    assert process.returncode == 0, err.decode()
    return out.decode()


async def test_a_non_pymodbus_client_reads_and_writes_floats_high_word_first() -> None:
    tool = require_tool("mbpoll")
    async with emulated_plc("tcp") as emu, plc_driver(emu.url) as plc:
        await plc.point(1.25, 0.5)
        out = await mbpoll(tool, emu.port, "-t", "4:float", "-r", "0", "-c", "2", "127.0.0.1")
        assert "[0]: \t1.25" in out and "[2]: \t0.5" in out, out
        await mbpoll(tool, emu.port, "-t", "4:float", "-r", "0", "127.0.0.1", "2.5", "0.25")
        assert emu.model.az_setpoint_rad == 2.5 and emu.model.el_setpoint_rad == 0.25
        out = await mbpoll(tool, emu.port, "-t", "3", "-r", "19", "127.0.0.1")
        assert "[19]: \t1" in out
