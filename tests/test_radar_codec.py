"""Radar ICD codec: golden frames, round trips, a stream decoder that lets no bad frame by."""

from __future__ import annotations

import json
import random

import numpy as np
import pytest
from conftest import DATA
from hypothesis import given, settings
from hypothesis import strategies as st
from numpy.testing import assert_array_equal

from drivers.errors import PayloadError, PayloadFault, ProtocolError
from drivers.radar.framing import (
    StreamDecoder,
    crc16,
    decode,
    encode,
    encode_frame,
)
from drivers.radar.messages import (
    DETECTION_RECORD,
    DETECTIONS_HEADER,
    Ack,
    Detections,
    Ping,
    Pong,
    RadarMode,
    RequestStatus,
    SetMode,
    SetRpm,
    SetSector,
    Status,
    Unknown,
    decode_message,
)

GOLDEN = json.loads((DATA / "radar_golden_frames.json").read_text())["frames"]


def golden(name: str) -> tuple[int, bytes, dict]:  # type: ignore[type-arg]
    entry = next(f for f in GOLDEN if f["name"] == name)
    return entry["seq"], bytes.fromhex(entry["hex"]), entry["fields"]


def test_crc_check_value() -> None:
    assert crc16(b"123456789") == 0x29B1


@pytest.mark.parametrize("entry", GOLDEN, ids=lambda e: e["name"])
def test_golden_frame_decodes_and_reencodes_to_the_same_bytes(entry: dict) -> None:  # type: ignore[type-arg]
    wire = bytes.fromhex(entry["hex"])
    used, frame, rejection = decode(wire)
    assert (used, rejection) == (len(wire), None)
    assert frame is not None and frame.seq == entry["seq"]
    message = frame.message()
    assert encode(message, frame.seq) == wire


def test_golden_values() -> None:
    _, wire, f = golden("DETECTIONS")
    d = decode(wire)[1].message()  # type: ignore[union-attr]
    assert isinstance(d, Detections)
    assert (d.t_us, d.scan_id, d.t_device_s) == (f["t_us"], f["scan_id"], 1.5)
    assert d.antenna_az_rad == pytest.approx(1.570796)
    assert d.antenna_el_rad == 0.0
    assert_array_equal(d.range_m, np.array(f["range_mm"]) / 1e3)
    assert_array_equal(d.az_rad, np.array(f["az_urad"]) / 1e6)
    assert_array_equal(d.el_rad, np.array(f["el_urad"]) / 1e6)
    assert_array_equal(d.vr_mps, np.array(f["vr_mmps"]) / 1e3)
    assert_array_equal(d.snr_db, np.array(f["snr_cdb"]) / 1e2)
    assert_array_equal(d.flags, f["flags"])
    assert d.range_m.dtype == np.float64 and d.flags.dtype == np.uint16

    status = decode(golden("STATUS")[1])[1].message()  # type: ignore[union-attr]
    assert status == Status(2_000_000, RadarMode.ROTATING, 0, 12.0, 21.5, 1234, 0, 2)
    assert decode(golden("ACK")[1])[1].message() == Ack(8, 0x11, 0)  # type: ignore[union-attr]
    assert decode(golden("PONG")[1])[1].message() == Pong(0xDEADBEEF, 1_600_000)  # type: ignore[union-attr]
    assert decode(golden("PING")[1])[1].message() == Ping(0xDEADBEEF)  # type: ignore[union-attr]
    assert decode(golden("SET_RPM")[1])[1].message() == SetRpm(1200)  # type: ignore[union-attr]


def test_wrong_payload_lengths_are_protocol_errors() -> None:
    with pytest.raises(ProtocolError, match="PING payload must be 4 bytes, got 3"):
        decode_message(0x13, b"\x00\x01\x02")
    with pytest.raises(ProtocolError, match="DETECTIONS with 2 records"):
        decode_message(0x01, bytes(20) + b"\x02\x00\x00\x00" + bytes(20))
    assert decode_message(0x7E, b"\x01") == Unknown(0x7E, b"\x01")


def detections_payload(
    *, antenna_az_urad: int = 1_570_796, antenna_el_urad: int = 0, reserved: int = 0, **record: int
) -> bytes:
    """A DETECTIONS payload with one record, built field by field (no encoder checks)."""
    fields = {"range_mm": 12_345_678, "az_urad": 785_398, "el_urad": 52_360, "flags": 2} | record
    count = fields.pop("count", 1)
    header = DETECTIONS_HEADER.pack(1_500_000, 3, antenna_az_urad, antenna_el_urad, count, reserved)
    row = np.zeros(1, DETECTION_RECORD)
    for name, value in fields.items():
        row[name] = value
    return header + row.tobytes()


OUT_OF_ICD_PAYLOADS = {
    "antenna azimuth 246,083 deg": (
        0x01,
        detections_payload(antenna_az_urad=0xFFFF_FFFF),
        PayloadFault.RANGE,
        "antenna_az_urad 4294967295",
    ),
    "antenna azimuth exactly 2 pi": (
        0x01,
        detections_payload(antenna_az_urad=6_283_186),
        PayloadFault.RANGE,
        "antenna_az_urad",
    ),
    "antenna elevation beyond 90 deg": (
        0x01,
        detections_payload(antenna_el_urad=-1_570_797),
        PayloadFault.RANGE,
        "antenna_el_urad",
    ),
    "reserved field set": (
        0x01,
        detections_payload(reserved=0x8000),
        PayloadFault.RESERVED,
        "reserved field is 0x8000",
    ),
    "count above 203": (0x01, detections_payload(count=204), PayloadFault.LENGTH, "count 204"),
    "count not matching the length": (
        0x01,
        detections_payload(count=2),
        PayloadFault.LENGTH,
        "DETECTIONS with 2 records",
    ),
    "shorter than the header": (0x01, bytes(23), PayloadFault.LENGTH, "shorter"),
    "detection azimuth beyond pi": (
        0x01,
        detections_payload(az_urad=3_141_594),
        PayloadFault.RANGE,
        "record 0 az_urad 3141594",
    ),
    "detection azimuth beyond -pi": (
        0x01,
        detections_payload(az_urad=-3_141_594),
        PayloadFault.RANGE,
        "az_urad",
    ),
    "detection elevation beyond 90 deg": (
        0x01,
        detections_payload(el_urad=1_570_797),
        PayloadFault.RANGE,
        "el_urad",
    ),
    "undefined detection flag": (
        0x01,
        detections_payload(flags=0x0004),
        PayloadFault.RESERVED,
        "flags 0x0004",
    ),
    "STATUS mode 7": (
        0x02,
        bytes.fromhex("80841e00000000000700000000000000000000000000000000000000"),
        PayloadFault.RANGE,
        "STATUS mode 7",
    ),
    "STATUS reserved byte": (
        0x02,
        bytes.fromhex("80841e00000000000101000000000000000000000000000000000000"),
        PayloadFault.RESERVED,
        "STATUS reserved",
    ),
    "STATUS one byte short": (0x02, bytes(27), PayloadFault.LENGTH, "28 bytes"),
    "ACK result 9": (0x03, bytes([8, 0, 0x11, 9]), PayloadFault.RANGE, "ACK result 9"),
    "PONG one byte long": (0x04, bytes(13), PayloadFault.LENGTH, "PONG payload"),
}


@pytest.mark.parametrize(
    ("msg_type", "payload", "fault", "says"),
    OUT_OF_ICD_PAYLOADS.values(),
    ids=OUT_OF_ICD_PAYLOADS.keys(),
)
def test_payloads_outside_the_icd_are_refused_with_their_fault(
    msg_type: int, payload: bytes, fault: PayloadFault, says: str
) -> None:
    with pytest.raises(PayloadError, match=says) as refused:
        decode_message(msg_type, payload)
    assert refused.value.fault is fault


def test_payloads_at_the_icd_limits_decode() -> None:
    limits = detections_payload(
        antenna_az_urad=6_283_185, antenna_el_urad=-1_570_796, az_urad=-3_141_593, flags=3
    )
    d = decode_message(0x01, limits)
    assert isinstance(d, Detections) and d.antenna_az_rad < 2 * np.pi
    d = decode_message(0x01, detections_payload(az_urad=3_141_593, el_urad=1_570_796))
    assert isinstance(d, Detections) and d.el_rad[0] <= np.pi / 2
    golden_ack = decode_message(0x03, bytes([8, 0, 0x11, 3]))
    assert golden_ack == Ack(8, 0x11, 3)


def test_out_of_range_values_are_refused_when_encoding() -> None:
    with pytest.raises(ProtocolError, match="SET_RPM"):
        SetRpm(40_000).encode_payload()
    with pytest.raises(ProtocolError, match="snr_cdb out of range"):
        Detections(
            0,
            0,
            0.0,
            0.0,
            np.array([1.0]),
            np.zeros(1),
            np.zeros(1),
            np.zeros(1),
            np.array([400.0]),
            np.zeros(1, np.uint16),
        ).encode_payload()
    with pytest.raises(ValueError, match="exceeds"):
        encode_frame(0x01, 0, bytes(4097))


u16 = st.integers(0, 0xFFFF)
u32 = st.integers(0, 0xFFFF_FFFF)


def detections_strategy() -> st.SearchStrategy[Detections]:
    def build(t_us: int, scan: int, az: int, el: int, records: list[tuple[int, ...]]) -> Detections:
        r = np.array(records, dtype=np.int64).reshape(-1, 6)
        return Detections(
            t_us,
            scan,
            az * 1e-6,
            el * 1e-6,
            r[:, 0] / 1e3,
            r[:, 1] / 1e6,
            r[:, 2] / 1e6,
            r[:, 3] / 1e3,
            r[:, 4] / 1e2,
            r[:, 5].astype(np.uint16),
        )

    i32 = st.integers(-(2**31), 2**31 - 1)
    elevation = st.integers(-1_570_796, 1_570_796)  # [−π/2, π/2] µrad
    record = st.tuples(
        u32,
        st.integers(-3_141_593, 3_141_593),  # (−π, π] µrad, up to the µrad rounding
        elevation,
        i32,
        st.integers(-32768, 32767),
        st.integers(0, 3),  # only flag bits 0 and 1 are defined
    )
    return st.builds(
        build,
        st.integers(0, 2**53),
        u32,
        st.integers(0, 6_283_185),  # [0, 2π) µrad
        elevation,
        st.lists(record, max_size=203),
    )


messages = st.one_of(
    detections_strategy(),
    st.builds(
        Status,
        st.integers(0, 2**64 - 1),
        st.sampled_from(list(RadarMode)),
        u16,
        st.integers(-6000, 6000).map(lambda c: c / 100),
        st.integers(-32768, 32767).map(lambda c: c / 100),
        u32,
        u32,
        u32,
    ),
    st.builds(Ack, u16, st.integers(0, 255), st.integers(0, 3)),
    st.builds(Pong, u32, st.integers(0, 2**64 - 1)),
    st.builds(SetMode, st.integers(0, 255)),
    st.builds(SetRpm, st.integers(-32768, 32767)),
    st.builds(SetSector, st.integers(-(2**31), 2**31 - 1), u32),
    st.builds(Ping, u32),
    st.just(RequestStatus()),
)


def same(a: object, b: object) -> bool:
    if isinstance(a, Detections) and isinstance(b, Detections):
        return a.encode_payload() == b.encode_payload()
    return a == b


@given(messages, u16)
def test_round_trip(message: object, seq: int) -> None:
    wire = encode(message, seq)  # type: ignore[arg-type]
    used, frame, _ = decode(wire)
    assert frame is not None and used == len(wire) and frame.seq == seq
    decoded = frame.message()
    assert same(decoded, message)
    assert encode(decoded, seq) == wire


def stream_of(count: int, seed: int) -> list[bytes]:
    rng = random.Random(seed)
    frames = []
    for seq in range(count):
        n = rng.randrange(0, 12)
        d = Detections(
            seq * 10_000,
            seq // 50,
            1.0,
            0.0,
            np.full(n, 1234.5),
            np.zeros(n),
            np.zeros(n),
            np.zeros(n),
            np.full(n, 12.5),
            np.zeros(n, np.uint16),
        )
        frames.append(encode(d if seq % 7 else Ping(seq), seq))
    return frames


def test_every_split_point_of_a_frame_stream() -> None:
    frames = stream_of(6, 0)
    wire = b"".join(frames)
    for split in range(len(wire) + 1):
        decoder = StreamDecoder()
        got = decoder.feed(wire[:split]) + decoder.feed(wire[split:])
        assert [encode_frame(f.msg_type, f.seq, f.payload) for f in got] == frames, split
        assert decoder.counters.resyncs == 0 and decoder.buffered == 0


@settings(max_examples=200)
@given(st.integers(0, 2**32 - 1), st.lists(st.integers(1, 64), min_size=1, max_size=40))
def test_arbitrary_chunking(seed: int, chunk_sizes: list[int]) -> None:
    wire = b"".join(stream_of(20, seed))
    decoder = StreamDecoder()
    got, position, i = [], 0, 0
    while position < len(wire):
        size = chunk_sizes[i % len(chunk_sizes)]
        got += decoder.feed(wire[position : position + size])
        position, i = position + size, i + 1
    assert len(got) == 20 and decoder.counters.lost_frames == 0


@settings(max_examples=300)
@given(st.integers(0, 2**32 - 1), st.data())
def test_garbage_and_bit_flips_never_deliver_a_corrupted_frame(
    seed: int, data: st.DataObject
) -> None:
    frames = stream_of(30, seed)
    corrupted: set[int] = set()
    pieces = []
    for index, frame in enumerate(frames):
        garbage = data.draw(st.binary(max_size=24), label="garbage")
        pieces.append(garbage)
        raw = bytearray(frame)
        flips = data.draw(
            st.lists(st.integers(0, len(raw) * 8 - 1), max_size=3, unique=True),
            label=f"flips{index}",
        )
        for bit in flips:
            raw[bit // 8] ^= 1 << (bit % 8)
        if flips:
            corrupted.add(index)
        pieces.append(bytes(raw))
    pieces.append(bytes(4200))  # flush a frame whose corrupted length field asks for more bytes
    decoder = StreamDecoder()
    got = decoder.feed(b"".join(pieces))
    delivered = [encode_frame(f.msg_type, f.seq, f.payload) for f in got]
    originals = set(frames)
    assert all(frame in originals for frame in delivered), "a corrupted frame got through"
    intact = [frame for i, frame in enumerate(frames) if i not in corrupted]
    assert [frame for frame in delivered if frame in intact] == intact
    if corrupted:
        assert decoder.counters.resyncs >= 1


def test_rejections_are_counted_by_kind() -> None:
    good = encode(Ping(1), 0)
    bad_crc = bytearray(encode(Ping(2), 1))
    bad_crc[-1] ^= 0xFF
    bad_version = bytearray(encode(Ping(3), 2))
    bad_version[2] = 2
    oversize = b"\xa5\x5a\x01\x01\x00\x00\x01\x10"  # length 4097
    decoder = StreamDecoder()
    got = decoder.feed(
        b"junk" + bytes(bad_crc) + bytes(bad_version) + oversize + good + encode(Ping(5), 5)
    )
    assert [f.seq for f in got] == [0, 5]
    c = decoder.counters
    assert (c.crc_errors, c.bad_version, c.oversize) == (1, 1, 1)
    # 4 bytes of junk, then each rejected frame's bytes after its first: 13 + 13 + 7
    assert c.garbage_bytes == 4 + 13 + 13 + 7
    assert c.resyncs == 1  # one hunt, from the junk to the good frame
    assert (c.frames, c.seq_gaps, c.lost_frames) == (2, 1, 4)


def test_seq_wrap_is_not_a_loss_and_restart_is_not_counted_as_loss() -> None:
    decoder = StreamDecoder()
    decoder.feed(encode(Ping(0), 0xFFFE) + encode(Ping(0), 0xFFFF) + encode(Ping(0), 0))
    assert decoder.counters.lost_frames == 0
    decoder.feed(encode(Ping(0), 3))
    assert decoder.counters.lost_frames == 2
    decoder.feed(encode(Ping(0), 0))
    assert (decoder.counters.lost_frames, decoder.counters.seq_restarts) == (2, 1)
