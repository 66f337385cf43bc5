"""The launcher PLC's program as a pure model: host writes between scans, one ``scan()`` per 10 ms.

This is the emulator's scan logic, and the in-process PLC of ``sim`` runs; the Modbus server only
maps requests onto it. Time is PLC time in milliseconds since power-on, advanced by ``scan``.
Angles in radians (azimuth clockwise from north, [0, 2π)), rates in rad/s.

Scan order (ICD "PLC behaviour", revision 1.1): inputs → watchdog and fault reset → axes →
arming → fire → outputs. Rule 5: a FIRE launches only if READY_TO_FIRE was published 1 at the
end of the previous scan and still holds; otherwise it is refused (never queued across a state
change). Rule 6: inhibit sectors are closed intervals, tested on the actual pointing. Choices
where the ICD is silent, all on the safe side:

- READY_TO_FIRE needs arm state ARMED (not FIRING): one launch per 200 ms FIRING window at most.
- A heartbeat is *live* when the host has toggled it and the last change is ≤ 500 ms old; a
  FAULT_RESET is refused unless it is live (as the ICD says) — so a host that never heartbeats
  cannot reset faults.
- A write that covers only one register of a two-register value is refused with exception 03.
- Power-on rate limits: azimuth 500 mrad/s, elevation 250 mrad/s.
- AXIS_LIMIT and FOLLOWING_ERROR cannot occur in the ideal emulated axes; the codes exist for the
  bench PLC.
"""

from __future__ import annotations

import enum
import math
from dataclasses import dataclass, field

from drivers.plc.register_map import RegisterMap, Table, decode_words, encode_words
from drivers.plc.types import ArmState, Coil, FaultCode, Mode
from firmware_stubs.errors import StubError
from sim.sectors import InhibitSector as InhibitSector
from sim.sectors import wrap

SCAN_MS = 10
WATCHDOG_MS = 500
ARMING_MS = 1000
FIRING_MS = 200
IN_POSITION_MS = 50
IN_POSITION_ERROR_RAD = 0.002
IN_POSITION_RATE_RAD_S = 0.005
AXIS_ACCELERATION_RAD_S2 = 2.0
EL_MIN_RAD = -0.0873
EL_MAX_RAD = 1.4835
TWO_PI = 2.0 * math.pi
ICD_VERSION = 1


class ExceptionCode(enum.IntEnum):
    """The Modbus exception codes the emulated PLC answers a refused write with."""

    ILLEGAL_ADDRESS = 0x02
    ILLEGAL_VALUE = 0x03


DEFAULT_INHIBIT_SECTORS = (
    InhibitSector(math.radians(170.0), math.radians(190.0)),
    InhibitSector(0.0, 0.0, -math.pi / 2, math.radians(3.0)),  # any azimuth below 3°
)
"""The emulator's power-on no-fire sectors (ICD rule 6), as in
``configs/plc/emulator-default.toml``. The emulator's own: the software interlocks keep their
copy in the rig's fire-control config."""


@dataclass(frozen=True, slots=True)
class PlcSettings:
    """The PLC's own configuration (the host cannot change it)."""

    rounds_at_power_on: int = 4
    inhibit_sectors: tuple[InhibitSector, ...] = DEFAULT_INHIBIT_SECTORS
    az_rate_limit_mrad_s: int = 500
    el_rate_limit_mrad_s: int = 250


@dataclass(slots=True)
class ScanRecord:
    """What happened in the last scan, for tests and logs."""

    ready_to_fire: bool = False
    published_ready_to_fire: bool = False
    """READY_TO_FIRE as published at the end of the previous scan (what the host could see)."""
    fire_requested: bool = False
    launched: bool = False
    fire_rejected: bool = False


@dataclass(slots=True)
class Axis:
    position_rad: float = 0.0
    rate_rad_s: float = 0.0


@dataclass(slots=True)
class PlcModel:
    """The whole PLC state. Mutated only by ``write_*``, panel methods and ``scan``."""

    settings: PlcSettings = field(default_factory=PlcSettings)
    time_ms: int = 0
    scan_counter: int = 0
    coils: list[bool] = field(default_factory=lambda: [False] * 5)
    az_setpoint_rad: float = 0.0
    el_setpoint_rad: float = 0.0
    az_rate_limit_mrad_s: int = 500
    el_rate_limit_mrad_s: int = 250
    mode: Mode = Mode.IDLE
    az: Axis = field(default_factory=Axis)
    el: Axis = field(default_factory=Axis)
    estop_pressed: bool = False
    interlock_open: bool = False
    estop_ok_input: bool = True
    """ESTOP_OK as read in step 1 of the last scan (what the PLC publishes)."""
    chain_ok_input: bool = True
    arm_state: ArmState = ArmState.SAFE
    arming_since_ms: int = 0
    firing_until_ms: int = 0
    latched_fault: FaultCode = FaultCode.NONE
    watchdog_tripped: bool = False
    watchdog_trip_ms: int | None = None
    fault_code: FaultCode = FaultCode.NONE
    heartbeat_seen: bool = False
    heartbeat_changed_ms: int = 0
    in_position_since_ms: int | None = None
    in_position: bool = False
    axes_enabled: bool = False
    ready_to_fire: bool = False
    rounds_ready: int = 4
    launch_count: int = 0
    last_launch_ms: int = 0
    fire_reject_count: int = 0
    last_scan: ScanRecord = field(default_factory=ScanRecord)

    def __post_init__(self) -> None:
        self.rounds_ready = self.settings.rounds_at_power_on
        self.az_rate_limit_mrad_s = self.settings.az_rate_limit_mrad_s
        self.el_rate_limit_mrad_s = self.settings.el_rate_limit_mrad_s

    # --- derived inputs ------------------------------------------------------------------

    @property
    def estop_ok(self) -> bool:
        return not self.estop_pressed

    @property
    def chain_ok(self) -> bool:
        return not self.interlock_open

    @property
    def fault(self) -> bool:
        return self.latched_fault is not FaultCode.NONE

    @property
    def heartbeat_live(self) -> bool:
        return self.heartbeat_seen and self.time_ms - self.heartbeat_changed_ms <= WATCHDOG_MS

    def in_inhibit_sector(self) -> bool:
        return any(
            s.contains(self.az.position_rad, self.el.position_rad)
            for s in self.settings.inhibit_sectors
        )

    # --- host writes (between scans) -----------------------------------------------------

    def write_coil(self, address: int, value: bool) -> None:
        if not 0 <= address < len(self.coils):
            raise PlcWriteError(ExceptionCode.ILLEGAL_ADDRESS, f"no coil at {address}")
        if address == Coil.HEARTBEAT and value != self.coils[Coil.HEARTBEAT]:
            self.heartbeat_seen = True
            self.heartbeat_changed_ms = self.time_ms
        self.coils[address] = bool(value)

    def write_holding(self, register_map: RegisterMap, address: int, words: list[int]) -> None:
        """Apply a holding-register write atomically: every value checked before any is set."""
        updates: list[tuple[str, float]] = []
        position = address
        end = address + len(words)
        while position < end:
            entry = register_map.entry_at(Table.HOLDING_REGISTERS, position)
            if entry is None:
                raise PlcWriteError(
                    ExceptionCode.ILLEGAL_ADDRESS, f"no holding register at {position}"
                )
            if entry.address != position or entry.address + entry.width > end:
                raise PlcWriteError(
                    ExceptionCode.ILLEGAL_VALUE,
                    f"{entry.name} must be written whole ({entry.width} registers)",
                )
            chunk = words[position - address : position - address + entry.width]
            wire = decode_words(entry.type, chunk)
            problem = entry.check_wire(wire)
            if problem:
                raise PlcWriteError(ExceptionCode.ILLEGAL_VALUE, problem)
            updates.append((entry.name, wire * entry.scale if entry.type == "float32" else wire))
            position += entry.width
        for name, value in updates:
            if name == "AZ_SETPOINT":
                self.az_setpoint_rad = value
            elif name == "EL_SETPOINT":
                self.el_setpoint_rad = value
            elif name == "AZ_RATE_LIMIT":
                self.az_rate_limit_mrad_s = int(value)
            elif name == "EL_RATE_LIMIT":
                self.el_rate_limit_mrad_s = int(value)
            elif name == "MODE":
                self.mode = Mode(int(value))

    # --- bench panel ---------------------------------------------------------------------

    def reload(self, rounds: int) -> None:
        self.rounds_ready = max(0, min(int(rounds), 0xFFFF))

    # --- the scan ------------------------------------------------------------------------

    def scan(self) -> ScanRecord:
        """One 10 ms PLC scan."""
        self.time_ms += SCAN_MS
        self.scan_counter = (self.scan_counter + 1) & 0xFFFF
        record = ScanRecord()
        published_ready = self.ready_to_fire  # as published at the end of the previous scan
        self.fault_code = self.latched_fault  # FIRE_REJECTED shows for one scan only
        # 1. inputs
        self.estop_ok_input = self.estop_ok
        self.chain_ok_input = self.chain_ok
        if not self.estop_ok:
            self._latch(FaultCode.ESTOP)
        if not self.chain_ok:
            self._latch(FaultCode.INTERLOCK_OPEN)
        # 2. watchdog and fault reset
        expired = self.heartbeat_seen and self.time_ms - self.heartbeat_changed_ms > WATCHDOG_MS
        if expired and not self.watchdog_tripped:
            self.watchdog_tripped = True
            self.watchdog_trip_ms = self.time_ms
            self._latch(FaultCode.WATCHDOG)
        if self.coils[Coil.FAULT_RESET]:
            self.coils[Coil.FAULT_RESET] = False
            if self.estop_ok and self.chain_ok and self.heartbeat_live:
                self.latched_fault = FaultCode.NONE
                self.watchdog_tripped = False
        if self.fault:
            self.arm_state = ArmState.SAFE
        self.fault_code = self.latched_fault
        # 3. axes
        self.axes_enabled = (
            self.coils[Coil.AXES_ENABLE] and self.estop_ok and self.chain_ok and not self.fault
        )
        self._move_axes()
        # 4. arming
        may_arm = (
            self.coils[Coil.ARM_REQUEST]
            and self.estop_ok
            and self.chain_ok
            and self.axes_enabled
            and not self.fault
        )
        if not may_arm:
            self.arm_state = ArmState.SAFE
        elif self.arm_state is ArmState.SAFE:
            self.arm_state = ArmState.ARMING
            self.arming_since_ms = self.time_ms
        elif self.arm_state is ArmState.ARMING and self.time_ms - self.arming_since_ms >= ARMING_MS:
            self.arm_state = ArmState.ARMED
        elif self.arm_state is ArmState.FIRING and self.time_ms >= self.firing_until_ms:
            self.arm_state = ArmState.ARMED if self.rounds_ready > 0 else ArmState.SAFE
            if self.arm_state is ArmState.SAFE:
                self.coils[Coil.ARM_REQUEST] = False  # nothing left to arm for
        # 5. fire: honoured only if READY_TO_FIRE was published at the end of the previous scan
        # (what the host could see when it wrote FIRE) and still holds now; a FIRE written while
        # it was published 0 is refused, never queued across a state change (ICD v1.1)
        self.ready_to_fire = self._ready()
        record.ready_to_fire = self.ready_to_fire
        record.published_ready_to_fire = published_ready
        if self.coils[Coil.FIRE]:
            self.coils[Coil.FIRE] = False
            record.fire_requested = True
            if published_ready and self.ready_to_fire:
                record.launched = True
                self.launch_count = (self.launch_count + 1) & 0xFFFF
                self.rounds_ready -= 1
                self.last_launch_ms = self.time_ms
                self.arm_state = ArmState.FIRING
                self.firing_until_ms = self.time_ms + FIRING_MS
                self.ready_to_fire = False
            else:
                record.fire_rejected = True
                self.fire_reject_count = (self.fire_reject_count + 1) & 0xFFFF
                self.fault_code = FaultCode.FIRE_REJECTED
        # 6./7. inhibit sectors are evaluated in _ready; outputs are read through the image
        self.last_scan = record
        return record

    def _ready(self) -> bool:
        return (
            self.arm_state is ArmState.ARMED
            and self.in_position
            and self.rounds_ready > 0
            and not self.fault
            and self.estop_ok
            and self.chain_ok
            and not self.in_inhibit_sector()
        )

    def _latch(self, code: FaultCode) -> None:
        self.latched_fault = code
        self.arm_state = ArmState.SAFE
        self.axes_enabled = False

    def _move_axes(self) -> None:
        dt = SCAN_MS / 1000
        hold = not self.axes_enabled or self.mode is Mode.IDLE
        if self.mode is Mode.STOW:
            az_target, el_target = 0.0, 0.0
        else:
            az_target, el_target = self.az_setpoint_rad, self.el_setpoint_rad
        el_target = min(max(el_target, EL_MIN_RAD), EL_MAX_RAD)
        az_error = (az_target - self.az.position_rad + math.pi) % TWO_PI - math.pi
        el_error = el_target - self.el.position_rad
        _step(self.az, 0.0 if hold else az_error, self.az_rate_limit_mrad_s / 1000, dt, hold)
        _step(self.el, 0.0 if hold else el_error, self.el_rate_limit_mrad_s / 1000, dt, hold)
        self.az.position_rad = wrap(self.az.position_rad)
        self.el.position_rad = min(max(self.el.position_rad, EL_MIN_RAD), EL_MAX_RAD)
        settled = (
            not hold
            and self.mode is not Mode.IDLE
            and abs((az_target - self.az.position_rad + math.pi) % TWO_PI - math.pi)
            < IN_POSITION_ERROR_RAD
            and abs(el_target - self.el.position_rad) < IN_POSITION_ERROR_RAD
            and abs(self.az.rate_rad_s) < IN_POSITION_RATE_RAD_S
            and abs(self.el.rate_rad_s) < IN_POSITION_RATE_RAD_S
        )
        if not settled:
            self.in_position_since_ms = None
        elif self.in_position_since_ms is None:
            self.in_position_since_ms = self.time_ms
        self.in_position = (
            self.in_position_since_ms is not None
            and self.time_ms - self.in_position_since_ms >= IN_POSITION_MS
        )

    # --- the register image --------------------------------------------------------------

    def discrete_inputs(self) -> list[bool]:
        return [
            self.estop_ok_input,
            self.chain_ok_input,
            self.axes_enabled,
            self.in_position,
            self.arm_state in (ArmState.ARMED, ArmState.FIRING),
            self.ready_to_fire,
            self.watchdog_tripped,
            self.fault,
        ]

    def input_registers(self) -> list[int]:
        status_word = sum(1 << i for i, bit in enumerate(self.discrete_inputs()) if bit)
        words: list[int] = []
        for value in (
            self.az.position_rad,
            self.el.position_rad,
            self.az.rate_rad_s,
            self.el.rate_rad_s,
        ):
            words += encode_words("float32", value)
        words += [status_word, int(self.fault_code), self.rounds_ready, self.launch_count]
        words += encode_words("u32", self.last_launch_ms & 0xFFFF_FFFF)
        words += [self.scan_counter, int(self.arm_state)]
        words += encode_words("u32", self.time_ms & 0xFFFF_FFFF)
        words += [self.fire_reject_count, ICD_VERSION]
        return words

    def holding_registers(self) -> list[int]:
        return (
            encode_words("float32", self.az_setpoint_rad)
            + encode_words("float32", self.el_setpoint_rad)
            + [self.az_rate_limit_mrad_s, self.el_rate_limit_mrad_s, int(self.mode)]
        )


class PlcWriteError(StubError):
    """A host write the PLC refuses; ``code`` is the Modbus exception code to answer (in
    ``firmware_stubs.errors``' tree; defined here beside the ``ExceptionCode`` it carries)."""

    def __init__(self, code: ExceptionCode, message: str) -> None:
        super().__init__(message)
        self.code = code


def _step(axis: Axis, error: float, rate_limit: float, dt: float, hold: bool) -> None:
    """Move one axis a scan towards ``error`` (rad) under rate and acceleration limits;
    ``hold`` decelerates to a stop."""
    a = AXIS_ACCELERATION_RAD_S2
    if hold:
        desired = 0.0
    else:
        # fastest rate from which the axis can still stop at the target, never overshooting
        desired = math.copysign(
            min(rate_limit, math.sqrt(2 * a * abs(error)), abs(error) / dt), error
        )
    change = min(max(desired - axis.rate_rad_s, -a * dt), a * dt)
    axis.rate_rad_s += change
    axis.position_rad += axis.rate_rad_s * dt
