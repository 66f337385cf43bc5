"""The emulated radar firmware's logic, without I/O: commands, answers, timing, detections."""

from __future__ import annotations

import math

import numpy as np
import pytest
from conftest import CONFIGS

from drivers.clock_sync import ClockSample, ClockSync
from drivers.radar.framing import Frame, StreamDecoder, encode, encode_frame
from drivers.radar.messages import (
    Ack,
    AckResult,
    Detections,
    Ping,
    Pong,
    RadarMode,
    RequestStatus,
    SetMode,
    SetRpm,
    SetSector,
    Status,
)
from firmware_stubs.radar.faults import FaultInjector, LinkFaults
from firmware_stubs.radar.firmware import RadarFirmware
from hil.config.loader import load_scenario
from hil.rig.emulators import build_radar_firmware
from sim.coordinates import polar_to_enu, wrap_pi


def firmware(scenario: str = "single-cv.toml", rotate: float | None = None) -> RadarFirmware:
    return build_radar_firmware(load_scenario(CONFIGS / "scenarios" / scenario), 0, rotate)


def messages(wire: list[bytes]) -> list[object]:
    decoder = StreamDecoder()
    return [f.message() for f in decoder.feed(b"".join(wire))]


def run_until(fw: RadarFirmware, until_us: int, step_us: int = 10_000) -> list[object]:
    """Tick like the emulator does, once per dwell, and decode everything sent."""
    wire: list[bytes] = []
    for t_us in range(step_us, until_us + 1, step_us):
        wire += fw.tick(t_us)
    return messages(wire)


def host(message: object, seq: int) -> Frame:
    frame = StreamDecoder().feed(encode(message, seq))[0]  # type: ignore[arg-type]
    return frame


def test_powers_on_in_standby_and_sends_only_status() -> None:
    fw = firmware()
    out = messages(fw.tick(3_000_000))
    assert [type(m) for m in out] == [Status]
    assert isinstance(out[0], Status) and out[0].mode is RadarMode.STANDBY


def test_commands_are_acked_with_their_seq_and_replies_follow_the_ack() -> None:
    fw = firmware()
    assert messages(fw.handle(host(SetRpm(1200), 40), 5)) == [Ack(40, 0x11, AckResult.OK)]
    assert messages(fw.handle(host(SetMode(1), 41), 6)) == [Ack(41, 0x10, AckResult.OK)]
    ping = messages(fw.handle(host(Ping(77), 42), 1234))
    assert ping == [Ack(42, 0x13, AckResult.OK), Pong(77, 1234)]
    status = messages(fw.handle(host(RequestStatus(), 43), 2_000_000))
    assert status[0] == Ack(43, 0x14, AckResult.OK)
    assert isinstance(status[1], Status) and status[1].mode is RadarMode.ROTATING
    assert status[1].rpm == 12.0 and status[1].uptime_s == 2


@pytest.mark.parametrize(
    ("frame", "result"),
    [
        (encode_frame(0x7E, 1, b""), AckResult.UNSUPPORTED),
        (encode_frame(0x01, 1, bytes(24)), AckResult.UNSUPPORTED),  # a device→host type
        (encode_frame(0x13, 1, b"\x00\x01"), AckResult.BAD_ARGUMENT),  # PING of the wrong length
        (encode(SetRpm(6001), 1), AckResult.BAD_ARGUMENT),
        (encode(SetMode(3), 1), AckResult.BAD_ARGUMENT),  # FAULT cannot be set
        (encode(SetSector(0, 7_000_000), 1), AckResult.BAD_ARGUMENT),
    ],
)
def test_bad_commands_get_the_icd_result(frame: bytes, result: AckResult) -> None:
    fw = firmware()
    answer = messages(fw.handle(StreamDecoder().feed(frame)[0], 0))
    assert len(answer) == 1 and isinstance(answer[0], Ack)
    assert (answer[0].acked_seq, answer[0].result) == (1, result)
    assert fw.mode is RadarMode.STANDBY and fw.rpm_c == 0


def test_a_firmware_more_than_a_second_behind_skips_dwells() -> None:
    fw = firmware(rotate=12.0)
    out = messages(fw.tick(2_000_000))
    assert len([m for m in out if isinstance(m, Detections)]) == 100
    assert fw.counters.dwells_skipped == 100


def test_one_detections_frame_per_dwell_and_status_every_second() -> None:
    fw = firmware(rotate=12.0)
    out = run_until(fw, 2_000_000)
    detections = [m for m in out if isinstance(m, Detections)]
    assert len(detections) == 200
    assert [d.t_us for d in detections[:2]] == [5000, 15000]
    assert [m.t_us for m in out if isinstance(m, Status)] == [1_000_000, 2_000_000]
    assert fw.counters.frames_sent == 200
    out = messages(fw.tick(2_004_000))
    assert out == []


def test_seq_counts_every_frame_sent() -> None:
    fw = firmware(rotate=12.0)
    decoder = StreamDecoder()
    wire = [w for t in range(10_000, 500_001, 10_000) for w in fw.tick(t)]
    wire += fw.handle(host(Ping(1), 0), 500_000)
    wire += [w for t in range(510_000, 1_500_001, 10_000) for w in fw.tick(t)]
    decoder.feed(b"".join(wire))
    assert decoder.counters.frames == 150 + 2 + 1 and decoder.counters.lost_frames == 0


def test_detections_put_the_target_where_the_scenario_does() -> None:
    fw = firmware(rotate=30.0)
    out = [m for m in run_until(fw, 8_000_000) if isinstance(m, Detections)]
    hits = [d for d in out if d.count]
    assert len(hits) >= 3  # four revolutions, P_d ≈ 1 at 6.7 km
    for d in hits:
        truth = fw.targets.state_at(d.t_device_s).position_enu_m[0]
        position = polar_to_enu(d.range_m, d.az_rad, d.el_rad)
        assert np.all(np.linalg.norm(position - truth, axis=1) < 60.0)


def test_sector_scan_stays_in_the_commanded_sector() -> None:
    fw = firmware()
    for message, seq in (
        (SetSector(round(math.radians(40) * 1e6), round(math.radians(30) * 1e6)), 1),
        (SetRpm(1000), 2),
        (SetMode(2), 3),
    ):
        fw.handle(host(message, seq), 0)
    out = [m for m in run_until(fw, 5_000_000) if isinstance(m, Detections)]
    az = np.degrees(wrap_pi(np.array([d.antenna_az_rad for d in out])))
    assert az.min() >= 25.0 - 1e-6 and az.max() <= 55.0 + 1e-6


def test_mode_change_continues_from_the_current_azimuth() -> None:
    fw = firmware(rotate=12.0)
    before = fw.pose_at(1.0).az_rad
    fw.handle(host(SetRpm(-1200), 1), 1_000_000)
    assert fw.pose_at(1.0).az_rad == pytest.approx(before)
    assert fw.pose_at(1.5).az_rad == pytest.approx(before - math.radians(36.0))


def test_fault_injector_counts_intact_frames() -> None:
    frames = [bytes(100)] * 200
    injector = FaultInjector(LinkFaults(corrupt_byte_rate=0.01), np.random.default_rng(0))
    data = injector.apply(frames)
    assert len(data) == 20_000
    damaged = sum(data[i * 100 : (i + 1) * 100] != frames[0] for i in range(200))
    assert injector.counters.frames_intact == 200 - damaged
    assert 200 * 0.99**100 * 0.7 < injector.counters.frames_intact < 200 * 0.99**100 * 1.3


def test_clock_sync_recovers_offset_and_drift() -> None:
    sync = ClockSync()
    rng = np.random.default_rng(0)
    offset, drift = 1234.5, 100e-6
    for k in range(40):
        device = 1.0 * k
        true_host = offset + (1 + drift) * device
        rtt = 0.0004 + rng.exponential(0.002)  # queueing makes some round trips slow
        early = rng.uniform(0, rtt)
        sync.add(ClockSample(true_host - early, device, true_host - early + rtt))
    assert sync.drift == pytest.approx(drift, abs=30e-6)
    assert sync.to_host(5.0) == pytest.approx(offset + (1 + drift) * 5.0, abs=1e-3)


@pytest.mark.parametrize("rpm", [60.01, -61.0, 1000.0, math.nan, math.inf])
def test_power_on_rotation_outside_the_icd_range_is_refused(rpm: float) -> None:
    """``--rotate 1000`` used to print READY and then kill the dwell loop (i16 overflow)."""
    with pytest.raises(ValueError, match="outside the ICD's ±60 rpm"):
        firmware(rotate=rpm)


@pytest.mark.parametrize("rpm", [60.0, -60.0, 0.0])
def test_power_on_rotation_at_the_icd_limits_is_accepted(rpm: float) -> None:
    fw = firmware(rotate=rpm)
    assert fw.mode is RadarMode.ROTATING and fw.rpm_c == round(rpm * 100)
