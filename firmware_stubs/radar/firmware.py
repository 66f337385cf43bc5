"""The turntable radar's firmware logic, without I/O: commands in, frames out, on a device clock.

The device clock counts microseconds since boot; scenario time 0 is boot. Detections come from the
``sim`` sensor model run against the scenario's targets at each dwell centre, with the antenna
driven by the commanded mode and speed. Behaviour follows the ICD: power-on STANDBY at 0 rpm
(unless started rotating), DETECTIONS per dwell while ROTATING or SECTOR, STATUS every second,
an ACK for every host frame, PONG after the ACK of a PING, STATUS after the ACK of
REQUEST_STATUS, UNSUPPORTED for unknown types, BAD_ARGUMENT for bad payloads or values.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from drivers.errors import ProtocolError
from drivers.radar.framing import Frame, encode
from drivers.radar.messages import (
    MAX_DETECTIONS,
    Ack,
    AckResult,
    Detections,
    Message,
    Ping,
    Pong,
    RadarMode,
    RequestStatus,
    SetMode,
    SetRpm,
    SetSector,
    Status,
    Unknown,
)
from sim.coordinates import TWO_PI
from sim.scan import AntennaPose, ScanMode, ScanPattern
from sim.sensor import Dwell, RadarSensor
from sim.targets import TargetSet

STATUS_PERIOD_US = 1_000_000
MAX_CATCH_UP_DWELLS = 100
SNR_FIELD_MAX_DB = 327.67
RPM_C_LIMIT = 6000


@dataclass(slots=True)
class FirmwareCounters:
    frames_sent: int = 0
    """DETECTIONS frames produced since boot (the ICD's ``frames_sent``)."""
    crc_errors: int = 0
    """Host frames rejected for CRC since boot."""
    dwells_skipped: int = 0
    """Dwells not produced because the firmware fell more than a second behind."""


class RadarFirmware:
    """Device state and behaviour. Feed it host frames and the time; it returns frame bytes."""

    def __init__(
        self,
        sensor: RadarSensor,
        targets: TargetSet,
        rng: np.random.Generator,
        *,
        dwell_s: float = 0.01,
        sector_centre_rad: float = 0.0,
        sector_width_rad: float = math.pi / 2,
        boresight_el_rad: float = 0.0,
        temperature_c: float = 21.5,
    ) -> None:
        self.sensor = sensor
        self.targets = targets
        self.rng = rng
        self.dwell_us = round(dwell_s * 1e6)
        self.temperature_c = temperature_c
        self.boresight_el_rad = boresight_el_rad
        self.mode = RadarMode.STANDBY
        self.rpm_c = 0
        self.sector_centre_rad = sector_centre_rad
        self.sector_width_rad = sector_width_rad
        self.fault_bits = 0
        self.counters = FirmwareCounters()
        self._seq = 0
        self._pattern = self._make_pattern(0.0)
        self._pattern_t0_s = 0.0
        self._scan_base = 0
        self._next_dwell = 0
        self._next_status_us = STATUS_PERIOD_US

    # --- host side -----------------------------------------------------------------------

    def handle(self, frame: Frame, t_us: int) -> list[bytes]:
        """Answer one host frame received at device time ``t_us``: ACK first, then any reply."""
        try:
            message = frame.message()
        except ProtocolError:
            return [self._ack(frame, AckResult.BAD_ARGUMENT)]
        if isinstance(message, Unknown) or not isinstance(
            message, SetMode | SetRpm | SetSector | Ping | RequestStatus
        ):
            return [self._ack(frame, AckResult.UNSUPPORTED)]
        if isinstance(message, Ping):
            return [self._ack(frame, AckResult.OK), self._send(Pong(message.nonce, t_us))]
        if isinstance(message, RequestStatus):
            return [self._ack(frame, AckResult.OK), self._send(self.status(t_us))]
        result = self._apply(message, t_us)
        return [self._ack(frame, result)]

    def count_crc_errors(self, count: int) -> None:
        self.counters.crc_errors += count

    def start_rotating(self, rpm: float, t_us: int = 0) -> None:
        """Power on already rotating (the emulator's ``--rotate`` option) at ``rpm`` (positive
        clockwise); the ICD's SET_RPM range applies (±60 rpm)."""
        if not (math.isfinite(rpm) and abs(round(rpm * 100)) <= RPM_C_LIMIT):
            raise ValueError(f"{rpm} rpm is outside the ICD's ±{RPM_C_LIMIT / 100:g} rpm")
        self._change(t_us, RadarMode.ROTATING, round(rpm * 100))

    def _apply(self, message: SetMode | SetRpm | SetSector, t_us: int) -> AckResult:
        if isinstance(message, SetMode):
            if message.mode not in (RadarMode.STANDBY, RadarMode.ROTATING, RadarMode.SECTOR):
                return AckResult.BAD_ARGUMENT
            if self.mode is RadarMode.FAULT:
                return AckResult.BAD_STATE
            self._change(t_us, RadarMode(message.mode), self.rpm_c)
        elif isinstance(message, SetRpm):
            if abs(message.rpm_c) > RPM_C_LIMIT:
                return AckResult.BAD_ARGUMENT
            self._change(t_us, self.mode, message.rpm_c)
        else:
            if message.width_urad > TWO_PI * 1e6:
                return AckResult.BAD_ARGUMENT
            self.sector_centre_rad = message.centre_urad / 1e6
            self.sector_width_rad = message.width_urad / 1e6
            self._change(t_us, self.mode, self.rpm_c)
        return AckResult.OK

    # --- device side ---------------------------------------------------------------------

    def tick(self, t_us: int) -> list[bytes]:
        """Every frame due by device time ``t_us``: DETECTIONS of finished dwells, then STATUS."""
        out: list[bytes] = []
        due = t_us // self.dwell_us  # dwells that have ended by t_us
        if due - self._next_dwell > MAX_CATCH_UP_DWELLS:
            self.counters.dwells_skipped += due - MAX_CATCH_UP_DWELLS - self._next_dwell
            self._next_dwell = due - MAX_CATCH_UP_DWELLS
        while self._next_dwell < due:
            centre_us = self._next_dwell * self.dwell_us + self.dwell_us // 2
            self._next_dwell += 1
            if self.mode in (RadarMode.ROTATING, RadarMode.SECTOR):
                out.append(self._send(self.detections(centre_us)))
                self.counters.frames_sent += 1
        if t_us >= self._next_status_us:
            out.append(self._send(self.status(t_us)))
            self._next_status_us = (t_us // STATUS_PERIOD_US + 1) * STATUS_PERIOD_US
        return out

    def skip_to(self, t_us: int) -> None:
        """Drop every dwell before ``t_us`` (a stalled device produces nothing meanwhile)."""
        self._next_dwell = max(self._next_dwell, t_us // self.dwell_us)

    def pose_at(self, t_s: float) -> AntennaPose:
        pose = self._pattern.pose_at(t_s - self._pattern_t0_s)
        return AntennaPose(
            t_s, self._scan_base + pose.scan_id, pose.az_rad, pose.el_rad, pose.sweep_rad
        )

    def observe(self, centre_us: int) -> Dwell:
        t_s = centre_us / 1e6
        return self.sensor.observe(self.pose_at(t_s), self.targets.state_at(t_s), self.rng)

    def detections(self, centre_us: int) -> Detections:
        """The DETECTIONS message of the dwell centred at ``centre_us``."""
        dwell = self.observe(centre_us)
        keep = slice(0, MAX_DETECTIONS)
        return Detections(
            centre_us,
            dwell.pose.scan_id & 0xFFFF_FFFF,
            dwell.pose.az_rad,
            dwell.pose.el_rad,
            dwell.range_m[keep],
            dwell.az_rad[keep],
            dwell.el_rad[keep],
            dwell.vr_mps[keep],
            np.clip(dwell.snr_db[keep], -SNR_FIELD_MAX_DB, SNR_FIELD_MAX_DB),
            dwell.flags[keep],
        )

    def status(self, t_us: int) -> Status:
        return Status(
            t_us,
            self.mode,
            self.fault_bits,
            self.rpm_c / 100 if self.mode is not RadarMode.STANDBY else 0.0,
            self.temperature_c,
            self.counters.frames_sent & 0xFFFF_FFFF,
            self.counters.crc_errors & 0xFFFF_FFFF,
            t_us // 1_000_000,
        )

    # --- internals -----------------------------------------------------------------------

    def _send(self, message: Message) -> bytes:
        wire = encode(message, self._seq)
        self._seq = (self._seq + 1) & 0xFFFF
        return wire

    def _ack(self, frame: Frame, result: AckResult) -> bytes:
        return self._send(Ack(frame.seq, frame.msg_type, int(result)))

    def _make_pattern(self, start_az_rad: float) -> ScanPattern:
        mode = {RadarMode.ROTATING: ScanMode.ROTATING, RadarMode.SECTOR: ScanMode.SECTOR}.get(
            self.mode, ScanMode.STANDBY
        )
        return ScanPattern.from_rpm(
            mode,
            self.rpm_c / 100,
            dwell_s=self.dwell_us / 1e6,
            start_az_rad=start_az_rad,
            sector_centre_rad=self.sector_centre_rad,
            sector_width_rad=min(self.sector_width_rad, TWO_PI),
            boresight_el_rad=self.boresight_el_rad,
        )

    def _change(self, t_us: int, mode: RadarMode, rpm_c: int) -> None:
        """Switch mode/speed at ``t_us``, continuing from the antenna's current azimuth."""
        t_s = t_us / 1e6
        current = self.pose_at(t_s)
        self.mode = mode
        self.rpm_c = rpm_c
        self._scan_base = current.scan_id
        self._pattern = self._make_pattern(current.az_rad)
        self._pattern_t0_s = t_s
