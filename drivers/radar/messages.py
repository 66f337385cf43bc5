"""Typed messages of the turntable radar ICD (version 1), in SI units, with their payload codecs.

Every message knows its ``MSG_TYPE`` and converts to and from its payload bytes (little-endian,
layouts in ``docs/radar-protocol.md``). Device time is kept as the ICD's integer microseconds
(``t_us``) so re-encoding is exact; ``t_device_s`` gives seconds. DETECTIONS records decode
straight into one numpy array per quantity (no per-detection Python objects):
``range_m`` (m, slant), ``az_rad`` (rad, (−π, π], clockwise from the turntable's zero),
``el_rad`` (rad above horizontal), ``vr_mps`` (m/s, + receding), ``snr_db`` (dB), ``flags``.

Decoding checks every device→host payload against the ICD and raises ``PayloadError`` (with its
``PayloadFault``: LENGTH, RANGE or RESERVED) for any breach, so a CRC-valid frame carrying values
the ICD does not allow never becomes a message. Encoding refuses values that do not fit their
wire field and an antenna azimuth outside [0, 2π), nothing more (tests build out-of-ICD frames
with it).
"""

from __future__ import annotations

import enum
import math
import struct
from dataclasses import dataclass, field, fields
from typing import ClassVar, Self

import numpy as np
import numpy.typing as npt

from drivers.errors import PayloadError, PayloadFault, ProtocolError

FloatArray = npt.NDArray[np.float64]
UInt16Array = npt.NDArray[np.uint16]

MAX_PAYLOAD = 4096
DETECTION_RECORD = np.dtype(
    [
        ("range_mm", "<u4"),
        ("az_urad", "<i4"),
        ("el_urad", "<i4"),
        ("vr_mmps", "<i4"),
        ("snr_cdb", "<i2"),
        ("flags", "<u2"),
    ]
)
DETECTIONS_HEADER = struct.Struct("<QIIiHH")
MAX_DETECTIONS = (MAX_PAYLOAD - DETECTIONS_HEADER.size) // DETECTION_RECORD.itemsize  # 203
TWO_PI_URAD = 2.0 * math.pi * 1e6
MAX_ANTENNA_AZ_URAD = math.ceil(TWO_PI_URAD) - 1  # 6 283 185: antenna_az_urad in [0, 2π·10⁶)
MAX_ABS_AZ_URAD = round(math.pi * 1e6)  # 3 141 593: az_urad in (−π, π], up to µrad rounding
MAX_ABS_EL_URAD = round(math.pi / 2 * 1e6)  # 1 570 796: an elevation lies in [−π/2, π/2]
DEFINED_DETECTION_FLAGS = 0b11  # bit 0 saturated, bit 1 multipath suspect; others 0


class MsgType(enum.IntEnum):
    DETECTIONS = 0x01
    STATUS = 0x02
    ACK = 0x03
    PONG = 0x04
    SET_MODE = 0x10
    SET_RPM = 0x11
    SET_SECTOR = 0x12
    PING = 0x13
    REQUEST_STATUS = 0x14


class RadarMode(enum.IntEnum):
    STANDBY = 0
    ROTATING = 1
    SECTOR = 2
    FAULT = 3


class AckResult(enum.IntEnum):
    OK = 0
    BAD_ARGUMENT = 1
    BAD_STATE = 2
    UNSUPPORTED = 3


class FaultBits(enum.IntFlag):
    MOTOR = 1 << 0
    ENCODER = 1 << 1
    OVER_TEMPERATURE = 1 << 2
    RF = 1 << 3


def _check_length(payload: bytes, expected: int, name: str) -> None:
    if len(payload) != expected:
        raise PayloadError(
            f"{name} payload must be {expected} bytes, got {len(payload)}", PayloadFault.LENGTH
        )


def _out_of_range(what: str, value: int, allowed: str) -> PayloadError:
    return PayloadError(f"{what} {value} is outside the ICD's {allowed}", PayloadFault.RANGE)


def _pack(layout: struct.Struct, name: str, *values: int) -> bytes:
    try:
        return layout.pack(*values)
    except struct.error as error:
        raise ProtocolError(f"{name}: value out of range for the ICD field: {error}") from error


@dataclass(frozen=True, slots=True, eq=False)
class Detections:
    """0x01 DETECTIONS: one dwell's detections and the antenna pose at the dwell centre."""

    MSG_TYPE: ClassVar[MsgType] = MsgType.DETECTIONS
    t_us: int
    scan_id: int
    antenna_az_rad: float
    """[0, 2π), clockwise from the turntable's zero."""
    antenna_el_rad: float
    range_m: FloatArray = field(default_factory=lambda: np.empty(0))
    az_rad: FloatArray = field(default_factory=lambda: np.empty(0))
    el_rad: FloatArray = field(default_factory=lambda: np.empty(0))
    vr_mps: FloatArray = field(default_factory=lambda: np.empty(0))
    snr_db: FloatArray = field(default_factory=lambda: np.empty(0))
    flags: UInt16Array = field(default_factory=lambda: np.empty(0, np.uint16))

    @property
    def t_device_s(self) -> float:
        return self.t_us / 1e6

    @property
    def count(self) -> int:
        return len(self.range_m)

    def encode_payload(self) -> bytes:
        n = self.count
        if n > MAX_DETECTIONS:
            raise ProtocolError(f"DETECTIONS holds at most {MAX_DETECTIONS} records, got {n}")
        az_urad = round(self.antenna_az_rad * 1e6)
        if not 0 <= az_urad < TWO_PI_URAD:
            raise ProtocolError(f"antenna azimuth {self.antenna_az_rad} rad is outside [0, 2π)")
        header = _pack(
            DETECTIONS_HEADER,
            "DETECTIONS",
            self.t_us,
            self.scan_id,
            az_urad,
            round(self.antenna_el_rad * 1e6),
            n,
            0,
        )
        records = np.empty(n, DETECTION_RECORD)
        columns = (
            ("range_mm", self.range_m, 1e3),
            ("az_urad", self.az_rad, 1e6),
            ("el_urad", self.el_rad, 1e6),
            ("vr_mmps", self.vr_mps, 1e3),
            ("snr_cdb", self.snr_db, 1e2),
        )
        for name, values, scale in columns:
            scaled = np.rint(np.asarray(values, dtype=np.float64) * scale)
            info = np.iinfo(DETECTION_RECORD[name])
            if n and (scaled.min() < info.min or scaled.max() > info.max):
                raise ProtocolError(f"DETECTIONS {name} out of range for its ICD field")
            records[name] = scaled
        records["flags"] = self.flags
        return header + records.tobytes()

    @classmethod
    def decode_payload(cls, payload: bytes) -> Detections:
        """Raises ``PayloadError`` for any value the ICD does not allow (see ``_check_icd``)."""
        if len(payload) < DETECTIONS_HEADER.size:
            raise PayloadError(
                f"DETECTIONS payload shorter than its {DETECTIONS_HEADER.size}-"
                f"byte header: {len(payload)} bytes",
                PayloadFault.LENGTH,
            )
        t_us, scan_id, az_urad, el_urad, count, reserved = DETECTIONS_HEADER.unpack_from(payload)
        if count > MAX_DETECTIONS:
            raise PayloadError(
                f"DETECTIONS count {count} exceeds the ICD's {MAX_DETECTIONS}", PayloadFault.LENGTH
            )
        _check_length(
            payload,
            DETECTIONS_HEADER.size + count * DETECTION_RECORD.itemsize,
            f"DETECTIONS with {count} records",
        )
        if reserved:
            raise PayloadError(
                f"DETECTIONS reserved field is {reserved:#06x}, the ICD says 0",
                PayloadFault.RESERVED,
            )
        if az_urad > MAX_ANTENNA_AZ_URAD:
            raise _out_of_range("DETECTIONS antenna_az_urad", az_urad, "[0, 2π·10⁶)")
        if abs(el_urad) > MAX_ABS_EL_URAD:
            raise _out_of_range("DETECTIONS antenna_el_urad", el_urad, "[−π/2, π/2]·10⁶")
        records = np.frombuffer(payload, DETECTION_RECORD, count, DETECTIONS_HEADER.size)
        if count:
            _check_records(records)
        # division (not multiplication by 1e-6) gives the correctly rounded SI value
        return cls(
            t_us,
            scan_id,
            az_urad / 1e6,
            el_urad / 1e6,
            records["range_mm"] / 1e3,
            records["az_urad"] / 1e6,
            records["el_urad"] / 1e6,
            records["vr_mmps"] / 1e3,
            records["snr_cdb"] / 1e2,
            records["flags"].copy(),
        )


def _check_records(records: npt.NDArray[np.void]) -> None:
    """Every DETECTIONS record inside the ICD: az (−π, π], el [−π/2, π/2], undefined flags 0.
    (min/max first: the common, valid case costs a few µs.)"""
    for name, limit, allowed in (
        ("az_urad", MAX_ABS_AZ_URAD, "(−π, π]·10⁶"),
        ("el_urad", MAX_ABS_EL_URAD, "[−π/2, π/2]·10⁶"),
    ):
        values = records[name]
        if values.min() < -limit or values.max() > limit:
            first = int(np.flatnonzero((values < -limit) | (values > limit))[0])
            raise _out_of_range(f"DETECTIONS record {first} {name}", int(values[first]), allowed)
    undefined = records["flags"] & np.uint16(0xFFFF ^ DEFINED_DETECTION_FLAGS)
    if undefined.any():
        first = int(np.flatnonzero(undefined)[0])
        raise PayloadError(
            f"DETECTIONS record {first} flags {int(records['flags'][first]):#06x} set bits the "
            "ICD reserves (only bits 0 and 1 are defined)",
            PayloadFault.RESERVED,
        )


_STATUS = struct.Struct("<QBBHhhIII")


@dataclass(frozen=True, slots=True)
class Status:
    """0x02 STATUS: device health, every second and on request."""

    MSG_TYPE: ClassVar[MsgType] = MsgType.STATUS
    t_us: int
    mode: RadarMode
    fault_bits: int
    rpm: float
    """Turntable speed, rpm (ICD: centi-rpm), positive clockwise."""
    temp_c: float
    frames_sent: int
    crc_errors: int
    uptime_s: int

    @property
    def t_device_s(self) -> float:
        return self.t_us / 1e6

    def encode_payload(self) -> bytes:
        return _pack(
            _STATUS,
            "STATUS",
            self.t_us,
            int(self.mode),
            0,
            self.fault_bits,
            round(self.rpm * 100),
            round(self.temp_c * 100),
            self.frames_sent,
            self.crc_errors,
            self.uptime_s,
        )

    @classmethod
    def decode_payload(cls, payload: bytes) -> Status:
        _check_length(payload, _STATUS.size, "STATUS")
        t_us, mode, reserved, faults, rpm_c, temp_cc, sent, crc, uptime = _STATUS.unpack(payload)
        try:
            radar_mode = RadarMode(mode)
        except ValueError as error:
            raise _out_of_range("STATUS mode", mode, "0..3") from error
        if reserved:
            raise PayloadError(
                f"STATUS reserved byte is {reserved:#04x}, the ICD says 0", PayloadFault.RESERVED
            )
        return cls(t_us, radar_mode, faults, rpm_c / 100, temp_cc / 100, sent, crc, uptime)


class _Packed:
    """Messages whose payload is their fields, in order, packed with one ``struct`` layout."""

    __slots__ = ()
    MSG_TYPE: ClassVar[MsgType]
    LAYOUT: ClassVar[struct.Struct]

    def encode_payload(self) -> bytes:
        values = [getattr(self, f.name) for f in fields(self)]  # type: ignore[arg-type]
        return _pack(self.LAYOUT, self.MSG_TYPE.name, *values)

    @classmethod
    def decode_payload(cls, payload: bytes) -> Self:
        _check_length(payload, cls.LAYOUT.size, cls.MSG_TYPE.name)
        message = cls(*cls.LAYOUT.unpack(payload))
        message.check_icd()
        return message

    def check_icd(self) -> None:
        """Raise ``PayloadError`` if a field breaks the ICD (every value fits, by default)."""


@dataclass(frozen=True, slots=True)
class Ack(_Packed):
    """0x03 ACK: the device's answer to a host command."""

    MSG_TYPE: ClassVar[MsgType] = MsgType.ACK
    LAYOUT: ClassVar[struct.Struct] = struct.Struct("<HBB")
    acked_seq: int
    acked_type: int
    result: int

    def check_icd(self) -> None:
        try:
            AckResult(self.result)
        except ValueError as error:
            raise _out_of_range("ACK result", self.result, "0..3") from error

    @property
    def result_name(self) -> str:
        try:
            return AckResult(self.result).name
        except ValueError:
            return f"UNKNOWN_RESULT_{self.result}"


@dataclass(frozen=True, slots=True)
class Pong(_Packed):
    """0x04 PONG: the device time at which a PING arrived."""

    MSG_TYPE: ClassVar[MsgType] = MsgType.PONG
    LAYOUT: ClassVar[struct.Struct] = struct.Struct("<IQ")
    nonce: int
    t_us: int

    @property
    def t_device_s(self) -> float:
        return self.t_us / 1e6


@dataclass(frozen=True, slots=True)
class SetMode(_Packed):
    """0x10 SET_MODE (host → device). FAULT cannot be set."""

    MSG_TYPE: ClassVar[MsgType] = MsgType.SET_MODE
    LAYOUT: ClassVar[struct.Struct] = struct.Struct("<B")
    mode: int


@dataclass(frozen=True, slots=True)
class SetRpm(_Packed):
    """0x11 SET_RPM (host → device): centi-rpm, −6000..6000, positive clockwise."""

    MSG_TYPE: ClassVar[MsgType] = MsgType.SET_RPM
    LAYOUT: ClassVar[struct.Struct] = struct.Struct("<h")
    rpm_c: int


@dataclass(frozen=True, slots=True)
class SetSector(_Packed):
    """0x12 SET_SECTOR (host → device): centre and width in µrad."""

    MSG_TYPE: ClassVar[MsgType] = MsgType.SET_SECTOR
    LAYOUT: ClassVar[struct.Struct] = struct.Struct("<iI")
    centre_urad: int
    width_urad: int


@dataclass(frozen=True, slots=True)
class Ping(_Packed):
    """0x13 PING (host → device): answered by ACK then PONG."""

    MSG_TYPE: ClassVar[MsgType] = MsgType.PING
    LAYOUT: ClassVar[struct.Struct] = struct.Struct("<I")
    nonce: int


@dataclass(frozen=True, slots=True)
class RequestStatus(_Packed):
    """0x14 REQUEST_STATUS (host → device): answered by ACK then STATUS."""

    MSG_TYPE: ClassVar[MsgType] = MsgType.REQUEST_STATUS
    LAYOUT: ClassVar[struct.Struct] = struct.Struct("<")


@dataclass(frozen=True, slots=True)
class Unknown:
    """A frame with a msg_type the ICD does not define (kept so a device can answer it)."""

    msg_type: int
    payload: bytes

    def encode_payload(self) -> bytes:
        return self.payload


Message = (
    Detections | Status | Ack | Pong | SetMode | SetRpm | SetSector | Ping | RequestStatus | Unknown
)

MESSAGE_CLASSES: dict[
    int,
    type[Detections | Status | Ack | Pong | SetMode | SetRpm | SetSector | Ping | RequestStatus],
] = {
    cls.MSG_TYPE: cls
    for cls in (Detections, Status, Ack, Pong, SetMode, SetRpm, SetSector, Ping, RequestStatus)
}
"""msg_type → message class (a constant table, never mutated)."""


def msg_type_of(message: Message) -> int:
    return message.msg_type if isinstance(message, Unknown) else int(message.MSG_TYPE)


def decode_message(msg_type: int, payload: bytes) -> Message:
    """Payload bytes of a frame → typed message; raises ``PayloadError`` on a payload outside
    the ICD. A msg_type the ICD does not define decodes as ``Unknown``."""
    cls = MESSAGE_CLASSES.get(msg_type)
    if cls is None:
        return Unknown(msg_type, bytes(payload))
    return cls.decode_payload(bytes(payload))
