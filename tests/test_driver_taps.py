"""The drivers' taps (issue 11's recorder seams), over real transports against the stubs.

Radar: ``on_bytes`` sees every received chunk exactly as it came, with the host time every frame
it completes carries. PLC: ``on_transaction`` sees every request that reached the wire, in wire
order, with its answer. A tap that raises breaks nothing.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
import math

import pytest
from plc_support import TRANSPORTS as PLC_TRANSPORTS
from plc_support import emulated_plc, panel_write, plc_driver
from radar_support import TRANSPORTS as RADAR_TRANSPORTS
from radar_support import emulated_radar, raw_device

from drivers.errors import DriverTimeoutError, LinkDownError, PlcExceptionError
from drivers.plc.driver import PlcLinkState, pointing_words
from drivers.plc.transaction import PlcOutcome, PlcTransaction
from drivers.plc.types import Mode
from drivers.radar.driver import LinkState, RadarDriver, RadarFrame
from drivers.radar.framing import StreamDecoder, encode
from drivers.radar.messages import Ping, Status, msg_type_of

Chunk = tuple[bytes, float]


async def frames_until(radar: RadarDriver, count: int) -> list[RadarFrame]:
    frames = []
    async with asyncio.timeout(5.0):
        while len(frames) < count:
            frames.append(await radar.receive())
    return frames


@pytest.mark.parametrize("transport", RADAR_TRANSPORTS)
async def test_radar_tap_redecodes_to_exactly_the_delivered_frames(transport: str) -> None:
    chunks: list[Chunk] = []
    async with (
        emulated_radar(transport, rotate=60.0) as emu,
        RadarDriver(emu.url, on_bytes=lambda data, t: chunks.append((data, t))) as radar,
    ):
        await radar.wait_up(2.0)
        delivered = await frames_until(radar, 40)
        await radar.ping()  # an ACK and a PONG among the detections
        await radar.request_status()
        delivered += await frames_until(radar, 10)
    delivered += radar.drain()  # whatever the closing link still handed over
    health = radar.health()
    assert health.reconnects == 0 and health.bad_payloads == 0 and health.crc_errors == 0
    assert health.tap_errors == 0 and health.queue_drops == 0
    assert {type(f.message) for f in delivered} >= {Status}

    # every chunk re-decoded, in order, gives the delivered frames, each stamped with the host
    # time of the chunk that completed it
    decoder = StreamDecoder()
    redecoded = [(frame, t) for data, t in chunks for frame in decoder.feed(data)]
    assert [(f.seq, f.msg_type, bytes(f.payload), t) for f, t in redecoded] == [
        (f.seq, msg_type_of(f.message), f.message.encode_payload(), f.t_rx_host_s)
        for f in delivered
    ]
    assert sum(len(data) for data, _ in chunks) == health.bytes_received
    times = [t for _, t in chunks]
    assert times == sorted(times)


@pytest.mark.parametrize("transport", RADAR_TRANSPORTS)
async def test_radar_tap_sees_every_byte_garbage_and_corrupt_frames_included(
    transport: str,
) -> None:
    chunks: list[Chunk] = []
    good = encode(Ping(0x1234), 7)
    corrupt = bytearray(encode(Ping(0x5678), 8))
    corrupt[-1] ^= 0xFF  # CRC broken: dropped by the framing, still received bytes
    sent = [b"\x00\x13garbage", good[:5], good[5:] + bytes(corrupt), encode(Ping(9), 9)]
    async with (
        raw_device(transport) as device,
        RadarDriver(device.url, on_bytes=lambda data, t: chunks.append((data, t))) as radar,
    ):
        await radar.wait_up(2.0)
        for part in sent:
            await device.send(part)
        frames = await frames_until(radar, 2)  # the last frame's bytes are the last bytes
        health = radar.health()
    assert b"".join(data for data, _ in chunks) == b"".join(sent)
    assert [f.seq for f in frames] == [7, 9]
    assert health.crc_errors == 1 and health.garbage_bytes > 0


async def test_a_radar_tap_that_raises_is_logged_once_and_the_link_carries_on(
    caplog: pytest.LogCaptureFixture,
) -> None:
    calls = 0

    def broken(data: bytes, t: float) -> None:
        nonlocal calls
        calls += 1
        raise RuntimeError("recorder disk full")

    caplog.set_level(logging.ERROR, logger="drivers.taps")
    async with (
        emulated_radar("pty", rotate=60.0) as emu,
        RadarDriver(emu.url, on_bytes=broken) as radar,
    ):
        await radar.wait_up(2.0)
        await frames_until(radar, 20)
        await radar.ping()
        assert radar.link_state is LinkState.UP
        health = radar.health()
    assert calls >= 2 and health.tap_errors == calls  # every chunk after the first failure too
    records = [r for r in caplog.records if r.name == "drivers.taps"]
    assert len(records) == 1 and "recorder disk full" in (records[0].exc_text or "")


def _wire_order(tapped: list[PlcTransaction]) -> None:
    """One request on the wire at a time: each is sent after the previous one came back."""
    for before, after in itertools.pairwise(tapped):
        assert before.t_send_s <= before.t_receive_s <= after.t_send_s


@pytest.mark.parametrize("transport", PLC_TRANSPORTS)
async def test_plc_tap_sees_every_request_with_its_answer(transport: str) -> None:
    tapped: list[PlcTransaction] = []
    async with (
        emulated_plc(transport) as emu,
        plc_driver(
            emu.url, heartbeat_hz=None, retries=0, timeout_s=0.2, on_transaction=tapped.append
        ) as plc,
    ):
        status = await plc.read_status()
        await plc.point(1.0, 0.2)
        await plc.set_mode(Mode.POINTING)
        await plc.enable_axes(True)
        with pytest.raises(PlcExceptionError):
            await plc._request("AZ_SETPOINT", "write_registers", 1, [0])  # half a float
        await panel_write(emu.panel_url, register=2, value=1)  # drop the next request
        with pytest.raises(DriverTimeoutError):
            await plc.read_status()
        with pytest.raises(LinkDownError):
            await plc.read_status()  # refused before the wire: no transaction
        served = emu.requests
        health = plc.health()

    assert [(t.what, t.function_code, t.address, t.count, t.values, t.outcome) for t in tapped] == [
        ("INPUT_REGISTERS 0-19", 4, 0, 20, (), PlcOutcome.OK),
        ("DISCRETE_INPUTS 0-7", 2, 0, 8, (), PlcOutcome.OK),
        ("AZ_SETPOINT", 16, 0, 4, tuple(pointing_words(plc.map, 1.0, 0.2)), PlcOutcome.OK),
        ("MODE", 16, 6, 1, (int(Mode.POINTING),), PlcOutcome.OK),
        ("AXES_ENABLE", 5, 4, 1, (1,), PlcOutcome.OK),
        ("AZ_SETPOINT", 16, 1, 1, (0,), PlcOutcome.EXCEPTION),
        ("INPUT_REGISTERS 0-19", 4, 0, 20, (), PlcOutcome.TIMEOUT),
    ]
    assert len(tapped) == served == health.requests  # the PLC saw exactly these
    assert all(t.unit_id == 1 for t in tapped)
    registers, bits = tapped[0].response, tapped[1].response
    assert len(registers) == 20 and registers[19] == 1  # ICD_VERSION
    assert (status.status_word, status.launch_count, status.scan_counter) == (
        registers[8],
        registers[11],
        registers[14],
    )
    assert tuple(bool(b) for b in bits) == status.discrete_inputs
    assert status.t_read_s >= tapped[1].t_receive_s
    assert all(t.response == () for t in tapped[2:])
    assert tapped[5].exception_code == 3 and "exception 03" in (tapped[5].error or "")
    assert tapped[6].error is not None and "no answer" in tapped[6].error
    assert all(t.error is None and t.exception_code is None for t in tapped[:5])
    _wire_order(tapped)


@pytest.mark.parametrize("transport", PLC_TRANSPORTS)
async def test_plc_tap_sees_the_heartbeat_interleaved_in_wire_order(transport: str) -> None:
    tapped: list[PlcTransaction] = []
    async with emulated_plc(transport) as emu:
        async with plc_driver(emu.url, heartbeat_hz=20.0, on_transaction=tapped.append) as plc:
            async with asyncio.timeout(5.0):
                while plc.health().heartbeats < 5:
                    await plc.read_status()
            health = plc.health()
        served = emu.requests
    beats = [t for t in tapped if t.what == "HEARTBEAT"]
    assert health.heartbeats <= len(beats) and len(tapped) >= health.requests
    assert [t.values for t in beats[:4]] == [(1,), (0,), (1,), (0,)]  # toggled each beat
    finished = [t for t in tapped if t.outcome is not PlcOutcome.CANCELLED]
    assert all(t.outcome is PlcOutcome.OK for t in finished)
    assert len(finished) <= served <= len(tapped)  # a request cut by close() may not arrive
    assert len(tapped) == plc.health().requests
    _wire_order(tapped)


async def test_a_plc_tap_that_raises_is_logged_once_and_the_link_carries_on(
    caplog: pytest.LogCaptureFixture,
) -> None:
    def broken(transaction: PlcTransaction) -> None:
        raise ValueError(f"cannot record {transaction.what}")

    caplog.set_level(logging.ERROR, logger="drivers.taps")
    async with (
        emulated_plc("tcp") as emu,
        plc_driver(emu.url, heartbeat_hz=None, on_transaction=broken) as plc,
    ):
        for _ in range(3):
            status = await plc.read_status()
        await plc.point(math.radians(30.0), 0.1)
        assert plc.link_state is PlcLinkState.UP and status.icd_version == 1
        health = plc.health()
    assert health.tap_errors == health.requests == 7
    records = [r for r in caplog.records if r.name == "drivers.taps"]
    assert len(records) == 1 and "cannot record INPUT_REGISTERS" in (records[0].exc_text or "")
