"""The radar driver against the emulated radar over real transports: a pty and loopback TCP."""

from __future__ import annotations

import asyncio
import contextlib
import math
import os
import pty
import time
import tty
from pathlib import Path

import numpy as np
import pytest
from radar_support import ALL_SOURCES, TRANSPORTS, emulated_radar, radar_under_test

from drivers.errors import (
    CommandRejectedError,
    DriverTimeoutError,
    LifecycleError,
    LinkDownError,
)
from drivers.radar.driver import LinkState, RadarDriver, RadarFrame
from drivers.radar.framing import encode
from drivers.radar.messages import AckResult, Detections, RadarMode, Status, Unknown
from drivers.serial_transport import SerialTransport
from firmware_stubs.radar.faults import LinkFaults
from hil.stub_process import RadarStubProcess as StubProcess
from sim.frames import polar_to_enu


async def detections_for(radar: RadarDriver, seconds: float) -> list[RadarFrame]:
    frames = []
    async with asyncio.timeout(seconds + 2.0):
        end = time.monotonic() + seconds
        while time.monotonic() < end:
            frame = await radar.receive(1.0)
            if isinstance(frame.message, Detections):
                frames.append(frame)
    return frames


@pytest.mark.parametrize("source", ALL_SOURCES)
async def test_commands_and_acks(source: str, request: pytest.FixtureRequest) -> None:
    """Shared by the emulated runs and the bench (``--rig``): only turntable commands, which are
    safe on the rig; it leaves the radar in STANDBY."""
    async with radar_under_test(source, request) as url, RadarDriver(url) as radar:
        await radar.wait_up(2.0)
        await radar.set_rpm(15.5)
        await radar.set_sector(math.radians(30.0), math.radians(60.0))
        await radar.set_mode(RadarMode.ROTATING)
        status = await radar.request_status()
        assert (status.mode, status.rpm) == (RadarMode.ROTATING, 15.5)
        with pytest.raises(CommandRejectedError) as rejected:
            await radar.set_rpm(61.0)
        assert rejected.value.result == AckResult.BAD_ARGUMENT
        with pytest.raises(CommandRejectedError, match="UNSUPPORTED"):
            await radar.command(Unknown(0x7E, b""))
        ping = await radar.ping()
        assert 0 < ping.rtt_s < 0.05  # the ICD allows 50 ms for an ACK
        await radar.set_mode(RadarMode.STANDBY)
        health = radar.health()
        assert health.commands == 8 and health.command_timeouts == 0
        assert health.clock_offset_s is not None


@pytest.mark.parametrize("transport", TRANSPORTS)
async def test_detections_appear_where_the_scenario_puts_them(transport: str) -> None:
    async with (
        emulated_radar(transport, rotate=60.0) as emu,
        RadarDriver(emu.url, clock_sync_interval_s=0.2) as radar,
    ):
        await radar.wait_up(2.0)
        frames = await detections_for(radar, 2.2)  # two revolutions at 60 rpm
    assert len(frames) >= 180  # 100 frames/s
    assert all(f.clock_synced for f in frames[-50:])
    hits = [f for f in frames if f.message.count]  # type: ignore[union-attr]
    assert len(hits) >= 2
    for frame in hits:
        d = frame.message
        assert isinstance(d, Detections)
        truth = emu.firmware.targets.state_at(d.t_device_s).position_enu_m[0]
        measured = polar_to_enu(d.range_m, d.az_rad, d.el_rad)
        assert np.all(np.linalg.norm(measured - truth, axis=1) < 60.0)
    t_device = np.array([f.t_device_s for f in frames])
    assert np.all(np.diff(t_device) > 0)
    # once synchronised, device time mapped to host time tracks arrival within a few ms
    late = frames[-50:]
    lag = np.array([f.t_rx_host_s - f.t_host_s for f in late])
    assert np.all(lag > -0.002) and np.median(lag) < 0.02


@pytest.mark.parametrize("transport", TRANSPORTS)
async def test_one_percent_byte_corruption(transport: str) -> None:
    faults = LinkFaults(corrupt_byte_rate=0.01, garbage_burst_rate=0.02)
    async with (
        emulated_radar(
            transport, "raid-100.toml", rotate=20.0, faults=faults, keep_originals=True
        ) as emu,
        RadarDriver(emu.url) as radar,
    ):
        await radar.wait_up(2.0)
        frames = await detections_for(radar, 3.0)
        intact = emu.injector.counters.frames_intact
        originals = set(emu.injector.originals or [])
    assert emu.injector.counters.bytes_corrupted > 50
    for frame in frames:  # no bad frame delivered: each is byte for byte what the firmware sent
        assert encode(frame.message, frame.seq) in originals
    health = radar.health()
    assert health.crc_errors > 0 and health.resyncs > 0 and health.lost_frames > 0
    assert intact > 100
    assert health.frames >= 0.95 * intact, (health.frames, intact)


async def test_queue_overflow_drops_the_oldest() -> None:
    async with (
        emulated_radar("pty", rotate=12.0) as emu,
        RadarDriver(emu.url, queue_size=8) as radar,
    ):
        await radar.wait_up(2.0)
        first = await radar.receive(1.0)
        await asyncio.sleep(0.3)  # consumer busy: ~30 frames arrive meanwhile
        newest = radar.drain()
    assert len(newest) == 8
    assert radar.health().queue_drops >= 15
    seqs = [f.seq for f in newest]
    assert seqs == sorted(seqs) and seqs[0] - first.seq > 15


async def test_link_goes_stale_when_the_device_is_quiet() -> None:
    async with (
        emulated_radar("tcp") as emu,
        RadarDriver(emu.url, stale_after_s=0.3) as radar,
    ):  # STANDBY: one STATUS a second
        await radar.wait_up(2.0)
        status = await radar.receive(2.0)
        assert isinstance(status.message, Status)
        assert radar.link_state is LinkState.UP
        await asyncio.sleep(0.5)
        assert radar.link_state is LinkState.STALE


@pytest.mark.parametrize("transport", TRANSPORTS)
async def test_hangup_reconnects_by_itself(transport: str) -> None:
    faults = LinkFaults(hangup_every_s=0.6)
    async with (
        emulated_radar(transport, rotate=12.0, faults=faults) as emu,
        RadarDriver(emu.url, backoff_min_s=0.05) as radar,
    ):
        await radar.wait_up(2.0)
        frames = await detections_for(radar, 2.0)
        assert emu.hangups >= 2
    assert radar.health().reconnects >= 2
    gaps = np.diff([f.t_rx_host_s for f in frames])
    assert len(frames) > 120 and gaps.max() < 0.5


@pytest.mark.parametrize("transport", TRANSPORTS)
async def test_emulator_killed_and_restarted(transport: str, tmp_path: Path) -> None:
    scenario = str(Path(__file__).parents[1] / "configs" / "scenarios" / "single-cv.toml")
    common = ["--scenario", scenario, "--rotate", "30"]
    where = (
        ["--pty", "--pty-link", str(tmp_path / "radar")]
        if transport == "pty"
        else ["--tcp", "127.0.0.1:0"]
    )
    stub = await StubProcess.start(*common, *where)
    try:
        async with RadarDriver(stub.url, backoff_min_s=0.05, backoff_max_s=0.5) as radar:
            await radar.wait_up(5.0)
            await radar.receive(2.0)
            await stub.stop(kill=True)
            async with asyncio.timeout(5.0):
                while radar.link_state is not LinkState.DOWN:
                    with contextlib.suppress(DriverTimeoutError):  # drain what was in flight
                        await radar.receive(0.2)
            with pytest.raises(LinkDownError):
                await radar.set_rpm(1.0)
            if transport == "tcp":
                where = ["--tcp", stub.url.removeprefix("socket://")]
            stub = await StubProcess.start(*common, *where)
            restarted = time.monotonic()
            radar.drain()
            async with asyncio.timeout(2.0):  # frames flow again within 2 s
                while not isinstance((await radar.receive()).message, Detections):
                    pass
            assert time.monotonic() - restarted < 2.0
            assert radar.health().reconnects == 1
    finally:
        await stub.stop()


async def test_driver_lifecycle_is_explicit() -> None:
    radar = RadarDriver("socket://127.0.0.1:9")
    with pytest.raises(LifecycleError):
        await radar.receive(0.1)
    async with radar:
        with pytest.raises(LifecycleError):
            await radar.open()
        with pytest.raises(DriverTimeoutError, match="cannot open"):
            await radar.wait_up(0.3)
        with pytest.raises(LinkDownError):
            await radar.set_mode(RadarMode.STANDBY)
        assert radar.link_state is LinkState.DOWN
    await radar.close()  # a second close is harmless
    with pytest.raises(LifecycleError):
        await radar.set_mode(RadarMode.STANDBY)


async def test_large_writes_complete_without_spinning_a_core() -> None:
    master, slave = pty.openpty()
    tty.setraw(slave)
    os.set_blocking(master, False)
    received = bytearray()
    payload = os.urandom(1 << 20)
    all_arrived = asyncio.Event()
    loop = asyncio.get_running_loop()

    def drain() -> None:
        with contextlib.suppress(BlockingIOError):
            received.extend(os.read(master, 1 << 16))
        if len(received) >= len(payload):
            all_arrived.set()

    loop.add_reader(master, drain)
    transport = await SerialTransport.open(os.ttyname(slave), 921600, lambda _: None)
    try:
        async with asyncio.timeout(20.0):
            await transport.write(payload)
            await all_arrived.wait()
        assert bytes(received) == payload
        cpu_before = time.process_time()
        await asyncio.sleep(0.5)  # idle with the link open: the threads must be blocked
        assert time.process_time() - cpu_before < 0.15
    finally:
        loop.remove_reader(master)
        await transport.close()
        os.close(master)
        os.close(slave)
