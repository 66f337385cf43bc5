"""Faults applied at their times during a run on emulated devices (``RunSettings.faults``).

A run's faults become a timeline of actions (:func:`timeline`): each fault is applied at
``at_s`` seconds after the loop starts and, when it lasts, undone ``duration_s`` later. On
``emulate`` rigs (and a bench rig's fallback emulators) a :class:`FaultSchedule` runs beside the
loop and acts on the emulators as a bench engineer would: the PLC through its bench panel (unit
247 over Modbus: e-stop, interlock chain, response delay, dropped requests), the radar through
its emulator-only control port (``firmware_stubs.radar.control``: corruption, stall, hang-up).
``sim`` runs apply the same timeline in process (``hil.rig.sim_faults``).

Every action taken is logged and added to the run's notes; one that cannot be taken is an
error naming the fault: the run is stopped (the launcher made safe) and fails with that line.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Protocol
from urllib.parse import urlsplit

from pymodbus.client import AsyncModbusTcpClient
from pymodbus.exceptions import ModbusException
from pymodbus.pdu import ModbusPDU

from hil.errors import HilError
from hil.rig.faults import RADAR_FAULTS, FaultEvent, describe

log = logging.getLogger(__name__)
PANEL_UNIT = 247
PANEL_ESTOP_COIL = 0
PANEL_INTERLOCK_COIL = 1
PANEL_DELAY_REGISTER = 1
PANEL_DROP_REGISTER = 2
"""The emulated PLC's bench panel (docs/plc-protocol.md)."""
ANSWER_TIMEOUT_S = 2.0
"""How long a panel write or a control command may take before the fault counts as failed."""


@dataclass(frozen=True, slots=True)
class FaultAction:
    """One step of a timeline: ``fault`` applied (``undo`` False) or undone at ``t_s``
    (s after the loop's start)."""

    t_s: float
    fault: FaultEvent
    undo: bool = False


def timeline(faults: Sequence[FaultEvent]) -> list[FaultAction]:
    """The actions of ``faults`` in time order (an undo before an apply at the same time)."""
    actions: list[FaultAction] = []
    for fault in faults:
        actions.append(FaultAction(fault.at_s, fault))
        if fault.duration_s > 0:
            actions.append(FaultAction(fault.at_s + fault.duration_s, fault, undo=True))
    return sorted(actions, key=lambda action: (action.t_s, not action.undo))


def note(action: FaultAction, t_s: float, what: str) -> str:
    """The run-notes line of an action taken at ``t_s`` (s after the loop's start)."""
    return f"fault {describe(action.fault)}: {what} at {t_s:.3f} s"


class FaultActuators(Protocol):
    """Takes a timeline's actions on a rig's devices."""

    def open(self) -> contextlib.AbstractAsyncContextManager[None]:
        """Connections the actions need, held for the run."""
        ...

    async def take(self, action: FaultAction) -> str:
        """Take ``action``; what was done, in a few words. Raises ``HilError``."""
        ...


class EmulatorActuators:
    """Actions on the emulators: the PLC's bench panel at ``panel_url`` (``tcp://host:port``;
    None: no PLC fault) and the radar's control port at ``radar_control_url`` (None: no radar
    fault)."""

    def __init__(self, panel_url: str | None, radar_control_url: str | None) -> None:
        self.panel_url = panel_url
        self.radar_control_url = radar_control_url
        self._panel: AsyncModbusTcpClient | None = None
        self._control: tuple[asyncio.StreamReader, asyncio.StreamWriter] | None = None

    @contextlib.asynccontextmanager
    async def open(self) -> AsyncIterator[None]:
        try:
            if self.panel_url is not None:
                self._panel = await _panel_client(self.panel_url)
            if self.radar_control_url is not None:
                self._control = await _control_connection(self.radar_control_url)
            yield
        finally:
            if self._panel is not None:
                self._panel.close()
                self._panel = None
            if self._control is not None:
                writer = self._control[1]
                self._control = None
                writer.close()
                with contextlib.suppress(ConnectionError):
                    await writer.wait_closed()

    async def take(self, action: FaultAction) -> str:
        fault, undo = action.fault, action.undo
        kind = fault.kind
        if kind == "radar_corrupt":
            rate = 0.0 if undo else fault.value
            await self._command({"corrupt_byte_rate": rate})
            return "radar corruption ended" if undo else f"radar corrupting {rate:g} per byte"
        if kind == "radar_stall":
            if undo:  # the emulator timed the stall itself
                return "radar stall over"
            await self._command({"stall_ms": max(1, round(fault.duration_s * 1000))})
            return f"radar stalled for {fault.duration_s:g} s"
        if kind == "radar_disconnect":
            await self._command({"hangup": True})
            return "radar link hung up"
        if kind == "plc_delay":
            ms = 0 if undo else round(fault.value)
            await self._panel_register(PANEL_DELAY_REGISTER, ms)
            return "PLC answers on time again" if undo else f"PLC answering {ms} ms late"
        if kind == "plc_drop":
            count = round(fault.value)
            await self._panel_register(PANEL_DROP_REGISTER, count)
            return f"PLC leaving its next {count} requests unanswered"
        if kind == "estop":
            await self._panel_coil(PANEL_ESTOP_COIL, not undo)
            return "e-stop released" if undo else "e-stop pressed"
        await self._panel_coil(PANEL_INTERLOCK_COIL, not undo)
        return "interlock chain closed" if undo else "interlock chain opened"

    async def _command(self, command: dict[str, object]) -> None:
        if self._control is None:
            raise HilError("the emulated radar has no control port (started without --control)")
        reader, writer = self._control
        try:
            async with asyncio.timeout(ANSWER_TIMEOUT_S):
                writer.write(json.dumps(command).encode() + b"\n")
                await writer.drain()
                line = await reader.readline()
        except (TimeoutError, ConnectionError) as error:
            raise HilError(
                f"the emulated radar's control port gave no answer ({error!r})"
            ) from error
        try:
            answer = json.loads(line)
        except json.JSONDecodeError as error:
            raise HilError(f"the emulated radar's control port answered {line!r}") from error
        if not answer.get("ok"):
            raise HilError(f"the emulated radar refused it: {answer.get('error')}")

    async def _panel_coil(self, coil: int, value: bool) -> None:
        panel = self._panel_ready()
        await self._panel_write(
            f"coil {coil}", lambda: panel.write_coil(coil, value, device_id=PANEL_UNIT)
        )

    async def _panel_register(self, register: int, value: int) -> None:
        panel = self._panel_ready()
        await self._panel_write(
            f"register {register}",
            lambda: panel.write_register(register, value, device_id=PANEL_UNIT),
        )

    async def _panel_write(self, what: str, write: Callable[[], Awaitable[ModbusPDU]]) -> None:
        """One write to the bench panel, answered within ``ANSWER_TIMEOUT_S`` and accepted."""
        try:
            async with asyncio.timeout(ANSWER_TIMEOUT_S):
                response = await write()
        except (TimeoutError, ModbusException) as error:
            raise HilError(f"the bench panel gave no answer ({error!r})") from error
        if response.isError():
            raise HilError(f"the bench panel refused {what}: {response}")

    def _panel_ready(self) -> AsyncModbusTcpClient:
        if self._panel is None:
            raise HilError("no bench panel: the PLC is not emulated")
        return self._panel


async def _panel_client(url: str) -> AsyncModbusTcpClient:
    parts = urlsplit(url)
    if parts.scheme != "tcp" or parts.hostname is None or parts.port is None:
        raise HilError(f"the bench panel needs a tcp://host:port URL, got {url!r}")
    client = AsyncModbusTcpClient(
        parts.hostname, port=parts.port, timeout=ANSWER_TIMEOUT_S, retries=1
    )
    if not await client.connect():
        client.close()
        raise HilError(f"cannot reach the emulated PLC's bench panel at {url}")
    return client


async def _control_connection(url: str) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    parts = urlsplit(url)
    if parts.scheme != "tcp" or parts.hostname is None or parts.port is None:
        raise HilError(f"the radar's control port needs a tcp://host:port URL, got {url!r}")
    try:
        async with asyncio.timeout(ANSWER_TIMEOUT_S):
            return await asyncio.open_connection(parts.hostname, parts.port)
    except (TimeoutError, OSError) as error:
        raise HilError(f"cannot reach the emulated radar's control port at {url}") from error


class FaultSchedule:
    """Takes ``faults``' actions at their times on the loop clock ``clock`` (s), beside the loop:
    :meth:`run` is the task, :meth:`start` gives it the loop's start time. Each action is logged
    and noted in ``notes``; the first one that fails is kept in ``failure`` and ``on_failure``
    is called (it stops the run)."""

    def __init__(
        self,
        faults: Sequence[FaultEvent],
        actuators: FaultActuators,
        clock: Callable[[], float],
        notes: list[str],
    ) -> None:
        self.actions = timeline(faults)
        self.actuators = actuators
        self.clock = clock
        self.notes = notes
        self.failure: HilError | None = None
        self.on_failure: Callable[[], None] = lambda: None
        self.taken = 0
        self._origin: asyncio.Future[float] | None = None

    def start(self, origin_s: float) -> None:
        """The loop starts now, at ``origin_s`` on its clock: fault times count from here."""
        self._started().set_result(origin_s)

    async def run(self) -> None:
        """Connect, wait for the loop's start, then take every action at its time (until
        cancelled when the run ends)."""
        try:
            async with self.actuators.open():
                origin = await self._started()
                for action in self.actions:
                    await asyncio.sleep(max(0.0, origin + action.t_s - self.clock()))  # due time
                    what = await self.actuators.take(action)
                    line = note(action, self.clock() - origin, what)
                    log.info("%s", line)
                    self.notes.append(line)
                    self.taken += 1
        except HilError as error:
            self.failure = HilError(f"fault {describe(self._failed())} not applied: {error}")
            log.error("%s", self.failure)
            self.notes.append(str(self.failure))
            self.on_failure()

    def _failed(self) -> FaultEvent:
        """The fault whose action failed: the next one not taken (the first, when connecting
        failed)."""
        return self.actions[min(self.taken, len(self.actions) - 1)].fault

    def _started(self) -> asyncio.Future[float]:
        if self._origin is None:
            self._origin = asyncio.get_running_loop().create_future()
        return self._origin


def radar_faults(faults: Sequence[FaultEvent]) -> bool:
    return any(fault.kind in RADAR_FAULTS for fault in faults)


def plc_faults(faults: Sequence[FaultEvent]) -> bool:
    return any(fault.kind not in RADAR_FAULTS for fault in faults)
