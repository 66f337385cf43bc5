"""Async driver for the launcher PLC on Modbus TCP or RTU (pymodbus 3.16 async clients).

Lifecycle (explicit, checked)::

    CLOSED --open()--> OPEN --close()--> CLOSED        close() is safe twice

While OPEN a supervisor keeps the link: it connects, runs the heartbeat (HEARTBEAT toggled at
10 Hz, as the PLC's 500 ms watchdog needs; ``heartbeat_hz=None`` is for listen-only tools,
which must not arm or command anything), and when a request or heartbeat fails for lack of an
answer or a connection, it marks the link FAILED at once, drops the connection and reconnects with
bounded backoff (0.1 s doubling to 2 s). Requests on a failed link raise ``LinkDownError`` at
once; a status is only ever returned from a read that just succeeded, stamped with its host time.

Writes go only to what the register map marks writable and are range-checked before sending
(``ValueError`` naming the register); exception responses raise ``PlcExceptionError`` naming
the register. Requests go on the wire one at a time, in the order they were made. A FIRE request
is sent once (never retried: a repeated FIRE is a second launch request) and, given a deadline,
not at all once the deadline has passed while it waited for the wire (``RequestExpiredError``).
Health: requests, timeouts, exceptions, late answers, link failures, reconnects, round-trip
p50/p99. Each change of link state is logged (INFO).

One request path: every read and write — typed calls, FIRE and the heartbeat — goes through
``_request`` (queue for the wire, deadline) and ``_on_wire`` (the one place a pymodbus client
is called). Transaction tap (for recording): ``on_transaction(PlcTransaction)`` is called there
once per request that reached the wire, in wire order, with function code, unit, address,
count, the values written, the outcome (ok, exception, timeout, link_lost, mismatch,
cancelled), what an OK read returned, the exception code or error, and send and receive host
times (the driver's ``clock``, default ``time.monotonic``, s); see ``drivers.plc.transaction``.
pymodbus's own retries of a request are one transaction. Requests refused before the wire
(link down; a deadline passed, counted as ``expired_requests``) are not transactions. The tap
runs inline on the event loop: keep it cheap and non-blocking. A tap that raises is logged
once and counted (``tap_errors``); the request and the link carry on (``drivers.taps``).
Unset, a request pays one call that returns at once (no record is built).
"""

from __future__ import annotations

import asyncio
import enum
import logging
import math
import statistics
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs, urlsplit

from pymodbus.client import AsyncModbusSerialClient, AsyncModbusTcpClient
from pymodbus.exceptions import ConnectionException, ModbusException
from pymodbus.framer import FramerType
from pymodbus.pdu import ExceptionResponse

from drivers.errors import (
    DriverError,
    DriverTimeoutError,
    LinkDownError,
    PlcExceptionError,
    RequestExpiredError,
)
from drivers.lifecycle import Lifecycle, SupervisedDriver
from drivers.plc.register_map import RegisterMap, Table, as_float32, load_register_map
from drivers.plc.transaction import PlcOutcome, PlcTransaction, TransactionTap
from drivers.plc.types import ArmState, Coil, DiscreteInput, FaultCode, Mode
from drivers.serial_transport import HungUpPtys, PtyRoute
from drivers.taps import GuardedTap

log = logging.getLogger(__name__)
TWO_PI = 2.0 * math.pi
STATUS_REGISTERS = 20
STATUS_BITS = 8


REQUESTS: dict[str, tuple[int, Table]] = {
    "read_input_registers": (4, Table.INPUT_REGISTERS),
    "read_discrete_inputs": (2, Table.DISCRETE_INPUTS),
    "read_holding_registers": (3, Table.HOLDING_REGISTERS),
    "read_coils": (1, Table.COILS),
    "write_registers": (16, Table.HOLDING_REGISTERS),
    "write_coil": (5, Table.COILS),
}
"""pymodbus client method → (function code its answer must carry, table it addresses)."""
REGISTER_READS = ("read_input_registers", "read_holding_registers")


def _complete(method: str, response: Any, kwargs: dict[str, Any]) -> bool:
    """A read answer carries as many values as were asked for."""
    if isinstance(response, ExceptionResponse):
        return True
    if method in REGISTER_READS:
        return bool(len(response.registers) == kwargs["count"])
    if method in ("read_discrete_inputs", "read_coils"):
        return bool(len(response.bits) >= kwargs["count"])
    return True


def pointing_words(register_map: RegisterMap, az_rad: float, el_rad: float) -> list[int]:
    """AZ_SETPOINT and EL_SETPOINT as one block of words: azimuth wrapped into [0, 2π) (an
    azimuth that float32 would round up to 2π is sent as 0), elevation as given (rad)."""
    az = az_rad % TWO_PI
    az_spec, el_spec = register_map["AZ_SETPOINT"], register_map["EL_SETPOINT"]
    return az_spec.to_words(az if as_float32(az) < TWO_PI else 0.0) + el_spec.to_words(el_rad)


class PlcLinkState(enum.Enum):
    DOWN = "down"
    """Connecting, or never connected."""
    UP = "up"
    FAILED = "failed"
    """A request or the heartbeat just failed; reconnecting."""


SERIAL_BAUD_RATES = (
    300, 600, 1200, 1800, 2400, 4800, 9600, 19200, 38400, 57600, 115200, 230400, 460800, 500000,
    576000, 921600,
)  # fmt: skip
"""Baud rates an RTU URL may ask for: the standard rates of termios and pyserial
(``serial.Serial.BAUDRATES``) from 300 to 921600. Anything else (``baud=12``) is a typo that
would otherwise surface only as a PLC that never answers."""
SERIAL_PARITIES = ("N", "E", "O", "M", "S")
"""Parity letters of pyserial (none, even, odd, mark, space)."""


@dataclass(frozen=True, slots=True)
class PlcEndpoint:
    """Where the PLC is: Modbus TCP (host, port) or RTU (serial URL, baud, parity)."""

    transport: str
    host: str = "127.0.0.1"
    port: int = 502
    serial_url: str = ""
    baud: int = 115200
    parity: str = "E"

    @classmethod
    def parse(cls, url: str) -> PlcEndpoint:
        """``tcp://host:port`` or ``rtu://<serial path>[?baud=115200&parity=E]``."""
        parts = urlsplit(url)
        if parts.scheme == "tcp" and parts.hostname:
            return cls("tcp", parts.hostname, parts.port or 502)
        if parts.scheme == "rtu" and (parts.netloc or parts.path):
            query = parse_qs(parts.query)
            baud_text = query.get("baud", ["115200"])[0]
            baud = int(baud_text) if baud_text.isdigit() else None
            if baud not in SERIAL_BAUD_RATES:
                raise ValueError(
                    f"PLC URL {url!r}: baud {baud_text!r} is not a rate a serial port runs at; "
                    f"allowed: {', '.join(map(str, SERIAL_BAUD_RATES))}"
                )
            parity = query.get("parity", ["E"])[0]
            if parity not in SERIAL_PARITIES:
                raise ValueError(
                    f"PLC URL {url!r}: parity {parity!r} is not one of "
                    f"{', '.join(SERIAL_PARITIES)} (none, even, odd, mark, space)"
                )
            return cls("rtu", serial_url=parts.netloc + parts.path, baud=baud, parity=parity)
        raise ValueError(
            f"PLC URL {url!r}: expected tcp://host:port or rtu://<serial port>, e.g. "
            "tcp://192.168.0.10:502 or rtu:///dev/ttyUSB0?baud=115200&parity=E"
        )

    def __str__(self) -> str:
        if self.transport == "tcp":
            host = f"[{self.host}]" if ":" in self.host else self.host
            return f"tcp://{host}:{self.port}"
        return f"rtu://{self.serial_url}?baud={self.baud}&parity={self.parity}"


@dataclass(frozen=True, slots=True)
class PlcStatus:
    """The whole PLC state from one FC 04 read of input registers 0–19 (one scan's snapshot,
    flags from STATUS_WORD) and one FC 02 read of discrete inputs 0–7. Angles in rad (azimuth
    clockwise from north), rates in rad/s, times in s.
    ``t_read_s`` is the host monotonic time at which the reads completed."""

    t_read_s: float
    az_rad: float
    el_rad: float
    az_rate_rad_s: float
    el_rate_rad_s: float
    status_word: int
    fault_code: FaultCode
    rounds_ready: int
    launch_count: int
    last_launch_s: float
    scan_counter: int
    arm_state: ArmState
    uptime_s: float
    fire_reject_count: int
    icd_version: int
    estop_ok: bool
    interlock_chain_ok: bool
    axes_enabled: bool
    in_position: bool
    armed: bool
    ready_to_fire: bool
    watchdog_tripped: bool
    fault: bool
    discrete_inputs: tuple[bool, ...]
    """The FC 02 read, a moment after the registers (possibly one scan later)."""

    def age_s(self, now_s: float) -> float:
        return now_s - self.t_read_s


@dataclass(frozen=True, slots=True)
class PlcSetpoints:
    """The host setpoints the PLC holds (holding registers): angles in rad (azimuth clockwise
    from north), rate limits in rad/s, the MODE, and the registers as read."""

    az_rad: float
    el_rad: float
    az_rate_limit_rad_s: float
    el_rate_limit_rad_s: float
    mode: Mode
    words: tuple[int, ...]


@dataclass(frozen=True, slots=True)
class PlcRequests:
    """What the host side has asked of the PLC, read back: the coils (FC 01) and the holding
    registers (FC 03), as the PLC holds them now. Angles in rad (azimuth clockwise from north),
    rate limits in rad/s. ``t_read_s``: host monotonic time the reads completed."""

    t_read_s: float
    heartbeat: bool
    arm_request: bool
    fire: bool
    fault_reset: bool
    axes_enable: bool
    az_setpoint_rad: float
    el_setpoint_rad: float
    az_rate_limit_rad_s: float
    el_rate_limit_rad_s: float
    mode: Mode


@dataclass(frozen=True, slots=True)
class PlcHealth:
    link_state: PlcLinkState
    requests: int
    timeouts: int
    exceptions: int
    protocol_errors: int
    """Answers that did not match their request (a late RTU answer), each followed by a
    reconnect."""
    reconnects: int
    heartbeats: int
    late_answers: int
    """Answers that came more than ``late_after_s`` after their request went on the wire, or
    only to a retry."""
    link_failures: int
    """Times the link went from UP to FAILED (a timeout, a lost connection, a mismatched
    answer)."""
    expired_requests: int
    """Requests with a deadline that passed before they could be sent (never sent)."""
    rtt_p50_ms: float | None
    rtt_p99_ms: float | None
    last_error: str | None
    tap_errors: int = 0
    """Times the ``on_transaction`` tap raised (the link carried on; the first was logged)."""


class PlcDriver(SupervisedDriver):
    """The PLC link. ``async with PlcDriver(PlcEndpoint.parse(url)) as plc: ...``"""

    def __init__(
        self,
        endpoint: PlcEndpoint,
        *,
        unit_id: int = 1,
        timeout_s: float = 0.2,
        retries: int = 2,
        heartbeat_hz: float | None = 10.0,
        backoff_min_s: float = 0.1,
        backoff_max_s: float = 2.0,
        late_after_s: float = 0.1,
        register_map: RegisterMap | None = None,
        on_transaction: TransactionTap | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        """``on_transaction`` is the transaction tap (module docstring)."""
        super().__init__(f"PLC {endpoint}")
        self._transaction_tap = (
            None
            if on_transaction is None
            else GuardedTap(f"{self.name} on_transaction", on_transaction)
        )
        self.endpoint = endpoint
        self._hung_up_ptys = HungUpPtys()
        self._route: PtyRoute | None = None
        """How the RTU path led to the pty of the current connection."""
        """RTU over a pty: ptys this driver saw hang up, never reopened (their /dev/pts number
        may be another program's by then; ``drivers/serial_transport.py``)."""
        self.unit_id = unit_id
        self.timeout_s = timeout_s
        self.retries = retries
        self.heartbeat_hz = heartbeat_hz
        self.backoff_min_s = backoff_min_s
        self.backoff_max_s = backoff_max_s
        self.late_after_s = late_after_s
        """An answer slower than this (s, default one heartbeat period) counts as late."""
        self.map = register_map or load_register_map()
        self._clock = clock
        self._state = PlcLinkState.DOWN
        self._client: AsyncModbusTcpClient | AsyncModbusSerialClient | None = None
        self._failed = asyncio.Event()
        self._heartbeat_value = False
        self._rtts: deque[float] = deque(maxlen=2000)
        self._requests = 0
        self._timeouts = 0
        self._exceptions = 0
        self._protocol_errors = 0
        self._reconnects = 0
        self._heartbeats = 0
        self._late_answers = 0
        self._link_failures = 0
        self._expired_requests = 0
        self._wire = asyncio.Lock()
        """Held while a request is on the wire: requests queue here, in the order made."""
        self._down_since: float | None = None

    @property
    def link_state(self) -> PlcLinkState:
        return self._state

    def health(self) -> PlcHealth:
        rtts = sorted(self._rtts)
        p50 = statistics.median(rtts) * 1e3 if rtts else None
        p99 = rtts[min(len(rtts) - 1, int(0.99 * len(rtts)))] * 1e3 if rtts else None
        return PlcHealth(
            self._state,
            self._requests,
            self._timeouts,
            self._exceptions,
            self._protocol_errors,
            self._reconnects,
            self._heartbeats,
            self._late_answers,
            self._link_failures,
            self._expired_requests,
            p50,
            p99,
            self._last_error,
            0 if self._transaction_tap is None else self._transaction_tap.errors,
        )

    # --- typed API --------------------------------------------------------------------------

    async def read_status(self) -> PlcStatus:
        """The PLC state now: one FC 04 and one FC 02 request."""
        words = await self._request(
            "INPUT_REGISTERS 0-19", "read_input_registers", 0, count=STATUS_REGISTERS
        )
        bits = await self._request(
            "DISCRETE_INPUTS 0-7", "read_discrete_inputs", 0, count=STATUS_BITS
        )
        registers: list[int] = words.registers
        flags: list[bool] = bits.bits[:STATUS_BITS]
        m = self.map

        def value(name: str) -> float:
            spec = m[name]
            return spec.from_words(registers[spec.address : spec.address + spec.width])

        # The flags come from STATUS_WORD, published in the same scan as every other input
        # register; the FC 02 read that follows may already see the next scan, so it is kept
        # as ``discrete_inputs`` but never mixed into the snapshot.
        status_word = int(value("STATUS_WORD"))

        def bit(index: int) -> bool:
            return bool(status_word >> index & 1)

        return PlcStatus(
            t_read_s=self._clock(),
            az_rad=value("AZ_ACTUAL"),
            el_rad=value("EL_ACTUAL"),
            az_rate_rad_s=value("AZ_RATE"),
            el_rate_rad_s=value("EL_RATE"),
            status_word=status_word,
            fault_code=FaultCode(int(value("FAULT_CODE"))),
            rounds_ready=int(value("ROUNDS_READY")),
            launch_count=int(value("LAUNCH_COUNT")),
            last_launch_s=value("LAST_LAUNCH_MS"),
            scan_counter=int(value("SCAN_COUNTER")),
            arm_state=ArmState(int(value("ARM_STATE"))),
            uptime_s=value("UPTIME_MS"),
            fire_reject_count=int(value("FIRE_REJECT_COUNT")),
            icd_version=int(value("ICD_VERSION")),
            estop_ok=bit(DiscreteInput.ESTOP_OK),
            interlock_chain_ok=bit(DiscreteInput.INTERLOCK_CHAIN_OK),
            axes_enabled=bit(DiscreteInput.AXES_ENABLED),
            in_position=bit(DiscreteInput.IN_POSITION),
            armed=bit(DiscreteInput.ARMED),
            ready_to_fire=bit(DiscreteInput.READY_TO_FIRE),
            watchdog_tripped=bit(DiscreteInput.WATCHDOG_TRIPPED),
            fault=bit(DiscreteInput.FAULT),
            discrete_inputs=tuple(flags),
        )

    async def read_setpoints(self) -> PlcSetpoints:
        """The host setpoints as the PLC holds them: one FC 03 read of the holding registers."""
        size = self.map.size(Table.HOLDING_REGISTERS)
        answer = await self._request(
            f"HOLDING_REGISTERS 0-{size - 1}", "read_holding_registers", 0, count=size
        )
        registers: list[int] = answer.registers
        m = self.map

        def value(name: str) -> float:
            spec = m[name]
            return spec.from_words(registers[spec.address : spec.address + spec.width])

        return PlcSetpoints(
            az_rad=value("AZ_SETPOINT"),
            el_rad=value("EL_SETPOINT"),
            az_rate_limit_rad_s=value("AZ_RATE_LIMIT"),
            el_rate_limit_rad_s=value("EL_RATE_LIMIT"),
            mode=Mode(int(value("MODE"))),
            words=tuple(registers),
        )

    async def read_requests(self) -> PlcRequests:
        """The host-request tables as the PLC holds them: one FC 01 read of the coils and one
        FC 03 read of the holding registers (for tools; the loop never needs them)."""
        coils = self.map.size(Table.COILS)
        bits = await self._request(f"COILS 0-{coils - 1}", "read_coils", 0, count=coils)
        flags: list[bool] = bits.bits[:coils]
        setpoints = await self.read_setpoints()
        return PlcRequests(
            t_read_s=self._clock(),
            heartbeat=bool(flags[Coil.HEARTBEAT]),
            arm_request=bool(flags[Coil.ARM_REQUEST]),
            fire=bool(flags[Coil.FIRE]),
            fault_reset=bool(flags[Coil.FAULT_RESET]),
            axes_enable=bool(flags[Coil.AXES_ENABLE]),
            az_setpoint_rad=setpoints.az_rad,
            el_setpoint_rad=setpoints.el_rad,
            az_rate_limit_rad_s=setpoints.az_rate_limit_rad_s,
            el_rate_limit_rad_s=setpoints.el_rate_limit_rad_s,
            mode=setpoints.mode,
        )

    async def point(self, az_rad: float, el_rad: float) -> None:
        """Azimuth (rad, clockwise from north; wrapped into [0, 2π)) and elevation setpoints,
        both float32 pairs in one FC 16 request."""
        await self._write_registers("AZ_SETPOINT", pointing_words(self.map, az_rad, el_rad))

    async def set_rate_limits(self, az_rad_s: float, el_rad_s: float) -> None:
        """Axis rate limits in rad/s (sent in mrad/s)."""
        words = self._words("AZ_RATE_LIMIT", az_rad_s) + self._words("EL_RATE_LIMIT", el_rad_s)
        await self._write_registers("AZ_RATE_LIMIT", words)

    async def set_mode(self, mode: Mode) -> None:
        await self._write_registers("MODE", self._words("MODE", int(mode)))

    async def enable_axes(self, enabled: bool) -> None:
        await self._write_coil(Coil.AXES_ENABLE, enabled)

    async def request_arm(self, armed: bool) -> None:
        """Request ARMED (True) or drop to SAFE now (False). The PLC decides."""
        await self._write_coil(Coil.ARM_REQUEST, armed)

    async def request_fire(self, not_after_s: float | None = None) -> None:
        """Request one launch; the PLC launches only if READY_TO_FIRE holds in the next scan.
        Sent once, never retried. ``not_after_s`` (driver clock, s): if the request cannot go on
        the wire by then (others ahead of it, a slow PLC), ``RequestExpiredError`` and nothing is
        sent."""
        await self._write_coil(Coil.FIRE, True, not_after_s=not_after_s, retries=0)

    async def reset_faults(self) -> None:
        await self._write_coil(Coil.FAULT_RESET, True)

    # --- internals --------------------------------------------------------------------------

    def _words(self, name: str, value: float) -> list[int]:
        spec = self.map[name]
        if not spec.writable:
            raise ValueError(f"{name} is read-only")
        return spec.to_words(value)

    async def _write_registers(self, first: str, words: list[int]) -> None:
        await self._request(first, "write_registers", self.map[first].address, words)

    async def _write_coil(
        self,
        coil: Coil,
        value: bool,
        *,
        not_after_s: float | None = None,
        retries: int | None = None,
    ) -> None:
        spec = self.map.tables[Table.COILS][coil]
        if not spec.writable:
            raise ValueError(f"{spec.name} is read-only")
        await self._request(
            spec.name,
            "write_coil",
            spec.address,
            value,
            not_after_s=not_after_s,
            retries=retries,
        )

    async def _request(
        self,
        what: str,
        method: str,
        *args: Any,
        not_after_s: float | None = None,
        retries: int | None = None,
        **kwargs: Any,
    ) -> Any:
        """One request on the wire (queued behind any other). ``not_after_s``: give up, sending
        nothing, if it cannot be sent by then; ``retries``: this request's retries instead of
        the driver's."""
        self._require_open()
        self._check_up(what)
        try:
            wait_s = None if not_after_s is None else max(0.0, not_after_s - self._clock())
            async with asyncio.timeout(wait_s):
                await self._wire.acquire()
        except TimeoutError:
            self._expired_requests += 1
            raise RequestExpiredError(
                f"{self.name}: {what} not sent: the link was busy past its deadline"
            ) from None
        try:
            if not_after_s is not None and self._clock() > not_after_s:
                self._expired_requests += 1
                raise RequestExpiredError(f"{self.name}: {what} not sent: deadline passed")
            return await self._on_wire(what, method, args, kwargs, retries)
        finally:
            self._wire.release()

    def _check_up(self, what: str) -> None:
        if self._client is None or self._state is not PlcLinkState.UP:
            raise LinkDownError(
                f"{self.name}: link {self._state.value}, {what} not sent"
                + (f" ({self._last_error})" if self._last_error else "")
            )

    async def _on_wire(
        self,
        what: str,
        method: str,
        args: tuple[Any, ...],
        kwargs: dict[str, Any],
        retries: int | None,
    ) -> Any:
        self._check_up(what)
        client = self._client
        assert client is not None
        self._requests += 1
        started = self._clock()
        if retries is not None:
            client.ctx.retries = retries  # only this request is on the wire (``_wire``)
        try:
            response = await getattr(client, method)(*args, device_id=self.unit_id, **kwargs)
        except (ConnectionException, ModbusException, OSError) as error:
            timed_out = "No response" in str(error) or isinstance(error, TimeoutError)
            if timed_out:
                self._timeouts += 1
                attempts = (self.retries if retries is None else retries) + 1
                reason = f"no answer to {what} after {attempts} attempts"
                self._tap(what, method, args, kwargs, started, PlcOutcome.TIMEOUT, error=reason)
                self._fail(reason)
                raise DriverTimeoutError(f"{self.name}: {reason}") from error
            self._tap(what, method, args, kwargs, started, PlcOutcome.LINK_LOST, error=str(error))
            self._fail(f"{what}: {error}")
            raise LinkDownError(f"{self.name}: {what}: {error}") from error
        except asyncio.CancelledError:
            self._tap(what, method, args, kwargs, started, PlcOutcome.CANCELLED, error="cancelled")
            raise
        finally:
            if retries is not None:
                client.ctx.retries = self.retries
        rtt = self._clock() - started
        self._rtts.append(rtt)
        retried: int = getattr(response, "retries", 0)
        if rtt > self.late_after_s or retried > 0:
            self._late_answers += 1
        expected, table = REQUESTS[method]
        if response.function_code & 0x7F != expected or not _complete(method, response, kwargs):
            # Modbus RTU has no transaction ids: a late answer to an earlier request can be
            # taken for this one's. Never pass it on; resynchronise by reconnecting.
            self._protocol_errors += 1
            self._tap(
                what,
                method,
                args,
                kwargs,
                started,
                PlcOutcome.MISMATCH,
                error=f"answer with FC {response.function_code} to FC {expected}",
            )
            self._fail(f"{what}: answer to another request (FC {response.function_code})")
            raise LinkDownError(
                f"{self.name}: {what}: the answer did not match the "
                "request; reconnecting to resynchronise"
            )
        if isinstance(response, ExceptionResponse) or response.isError():
            self._exceptions += 1
            address = args[0] if args else 0
            spec = self.map.entry_at(table, address)
            entry = spec.name if spec else f"address {address}"
            refusal = PlcExceptionError(
                entry, response.function_code & 0x7F, getattr(response, "exception_code", 0)
            )
            self._tap(
                what,
                method,
                args,
                kwargs,
                started,
                PlcOutcome.EXCEPTION,
                exception_code=refusal.exception_code,
                error=str(refusal),
            )
            raise refusal
        self._tap(what, method, args, kwargs, started, PlcOutcome.OK, response=response)
        return response

    def _tap(
        self,
        what: str,
        method: str,
        args: tuple[Any, ...],
        kwargs: dict[str, Any],
        t_send_s: float,
        outcome: PlcOutcome,
        *,
        response: Any = None,
        exception_code: int | None = None,
        error: str | None = None,
    ) -> None:
        """Hand one finished request to the transaction tap, if there is one."""
        tap = self._transaction_tap
        if tap is None:
            return
        t_receive_s = self._clock()
        values: tuple[int, ...] = ()
        answer: tuple[int, ...] = ()
        if method == "write_registers":
            values = tuple(args[1])
            count = len(values)
        elif method == "write_coil":
            values = (int(args[1]),)
            count = 1
        else:
            count = kwargs["count"]
            if response is not None and method in REGISTER_READS:
                answer = tuple(response.registers)
            elif response is not None:
                answer = tuple(int(bit) for bit in response.bits[:count])
        tap(
            PlcTransaction(
                what,
                REQUESTS[method][0],
                self.unit_id,
                args[0],
                count,
                values,
                outcome,
                answer,
                exception_code,
                error,
                t_send_s,
                t_receive_s,
            )
        )

    def _after_close(self) -> None:
        self._state = PlcLinkState.DOWN

    def _fail(self, reason: str) -> None:
        self._last_error = reason
        if self._state is PlcLinkState.UP:
            self._state = PlcLinkState.FAILED
            self._link_failures += 1
            self._down_since = self._clock()
            route = self._route
            if route is not None and route.device_gone():  # asked at once: not reused yet
                self._hung_up_ptys.add(self.endpoint.serial_url, route)
            log.info("%s: link failed: %s", self.name, reason)
            self._up.clear()
            self._failed.set()

    def _pty_route(self) -> PtyRoute | None:
        """How an RTU path leads to the pty just connected (None for TCP, URLs, real ports)."""
        if self.endpoint.transport != "rtu" or "://" in self.endpoint.serial_url:
            return None
        return PtyRoute.of(self.endpoint.serial_url)

    def _hung_up_pty(self) -> str | None:
        """Why the RTU path must not be opened now (it still leads to a pty that hung up)."""
        if self.endpoint.transport != "rtu":
            return None
        route = self._hung_up_ptys.still_leads_there(self.endpoint.serial_url)
        if route is None:
            return None
        return (
            f"{self.endpoint.serial_url}: not reopened: it still leads to {route.device}, the "
            "pty that hung up, and that number may now be another program's terminal; waiting "
            "for the device to re-point the link"
        )

    def _new_client(self) -> AsyncModbusTcpClient | AsyncModbusSerialClient:
        e = self.endpoint
        common: dict[str, Any] = {
            "timeout": self.timeout_s,
            "retries": self.retries,
            "reconnect_delay": 0.0,
        }
        if e.transport == "tcp":
            return AsyncModbusTcpClient(e.host, port=e.port, **common)
        return AsyncModbusSerialClient(
            e.serial_url,
            framer=FramerType.RTU,
            baudrate=e.baud,
            bytesize=8,
            parity=e.parity,
            stopbits=1,
            **common,
        )

    async def _supervise(self) -> None:
        backoff = self.backoff_min_s
        connected_before = False
        try:
            while self.lifecycle is Lifecycle.OPEN:  # a lost cancel: close() cancels again
                refusal = self._hung_up_pty()
                client = self._new_client()
                try:
                    ok = refusal is None and await client.connect()
                except (ConnectionException, OSError) as error:
                    ok = False
                    self._last_error = f"connect: {error}"
                if refusal is not None:
                    self._last_error = refusal
                if not ok:
                    client.close()
                    self._last_error = self._last_error or "cannot connect"
                    await asyncio.sleep(backoff)  # pacing the retries
                    backoff = min(2 * backoff, self.backoff_max_s)
                    continue
                if connected_before:
                    self._reconnects += 1
                    down_s = self._clock() - (self._down_since or self._clock())
                    log.info("%s: link up again (reconnect after %.2f s)", self.name, down_s)
                connected_before = True
                backoff = self.backoff_min_s
                self._client = client
                self._route = self._pty_route()
                self._failed.clear()
                self._state = PlcLinkState.UP
                self._up.set()
                try:
                    async with asyncio.TaskGroup() as group:
                        heartbeat = (
                            group.create_task(self._heartbeat(self.heartbeat_hz))
                            if self.heartbeat_hz
                            else None
                        )
                        await self._failed.wait()
                        if heartbeat is not None:
                            heartbeat.cancel()
                finally:
                    self._up.clear()
                    self._client = None
                    client.close()
                if self._state is PlcLinkState.UP:
                    self._state = PlcLinkState.FAILED
        finally:
            self._up.clear()
            if self._client is not None:
                self._client.close()
                self._client = None

    async def _heartbeat(self, rate_hz: float) -> None:
        period = 1.0 / rate_hz
        loop = asyncio.get_running_loop()
        next_beat = loop.time()
        while self.lifecycle is Lifecycle.OPEN:  # ends by itself if its cancel was lost
            self._heartbeat_value = not self._heartbeat_value
            try:
                await self._write_coil(Coil.HEARTBEAT, self._heartbeat_value)
                self._heartbeats += 1
            except DriverError:
                return  # the request already marked the link FAILED
            next_beat += period
            await asyncio.sleep(max(0.0, next_beat - loop.time()))  # pacing the heartbeat
