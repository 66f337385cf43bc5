"""The emulated launcher PLC on Modbus: the scan model behind a pymodbus server (TCP or RTU).

Why a ``ModbusServerContext`` subclass and not ``SimDevice`` tables: in pymodbus 3.16 coils and
discrete inputs live in 16-bit words and the access hook only sees word counts, so a read of coil
10 (outside the ICD's five coils) could not be refused with exception 02. The server calls its
context's ``async_getValues``/``async_setValues`` with the exact unit, function code, address and
count; this context answers them from the PLC model, so the model stays the single source of
truth and the ICD's exceptions are exact. (Its base ``__init__`` only builds SimDevice tables, so
it is not called.)

Unit 1 is the PLC; unit 247 is the emulator-only bench panel. Requests to any other unit get no
answer, like a missing slave on an RS-485 line. The panel's response delay and dropped-request
count apply to unit-1 requests.

Transports: Modbus TCP on a given address (port 0 = any free port, read back; an IPv6 host is
bracketed in the URL, ``tcp://[::1]:port``), or Modbus RTU over a pty pair: the server owns one
pty, clients open the other through a symlink, and a relay copies bytes between the two masters.
Where it cannot serve (port in use, bad link path), ``start`` raises ``EndpointError`` and leaves
nothing behind; ``close`` removes the link however the emulator ends.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import os
from collections.abc import Sequence
from pathlib import Path

from pymodbus.constants import ExcCodes
from pymodbus.datastore import ModbusServerContext
from pymodbus.exceptions import NoSuchIdException
from pymodbus.framer import FramerType
from pymodbus.server import ModbusSerialServer, ModbusTcpServer

from drivers.plc.register_map import RegisterMap, Table
from firmware_stubs.errors import EndpointError
from firmware_stubs.listen import check_listen, listen_error, url_host
from firmware_stubs.plc.model import SCAN_MS, PlcModel, PlcSettings, PlcWriteError
from firmware_stubs.ptys import PtyLink, open_raw_pty

READ_TABLE = {
    1: Table.COILS,
    2: Table.DISCRETE_INPUTS,
    3: Table.HOLDING_REGISTERS,
    4: Table.INPUT_REGISTERS,
    5: Table.COILS,
    15: Table.COILS,
    6: Table.HOLDING_REGISTERS,
    16: Table.HOLDING_REGISTERS,
}
PANEL_COILS = ("ESTOP_PRESSED", "INTERLOCK_OPEN")
PANEL_REGISTERS = ("RELOAD_ROUNDS", "RESPONSE_DELAY_MS", "DROP_NEXT_N")


class PlcContext(ModbusServerContext):
    """Answers the server's datastore calls from a ``PlcEmulator``."""

    def __init__(self, emulator: PlcEmulator) -> None:  # base __init__ builds SimDevice tables
        self._emulator = emulator
        self.simdevices = []
        self.old_simulator = True  # tells the server to call this context directly

    def device_ids(self) -> list[int]:
        return [self._emulator.unit_id, self._emulator.panel_unit_id]

    async def async_getValues(  # noqa: N802 (pymodbus names it)
        self, device_id: int, func_code: int, address: int, count: int = 1
    ) -> list[int] | list[bool] | ExcCodes:
        return await self._emulator.handle(device_id, func_code, address, count, None)

    async def async_setValues(  # noqa: N802 (pymodbus names it)
        self, device_id: int, func_code: int, address: int, values: Sequence[int] | Sequence[bool]
    ) -> ExcCodes | None:
        result = await self._emulator.handle(
            device_id, func_code, address, len(values), list(values)
        )
        return result if isinstance(result, ExcCodes) else None


class PlcEmulator:
    """The PLC model, its 10 ms scan task and its Modbus server. Use as an async context
    manager; ``url`` is ``tcp://host:port`` or ``rtu://<pty path>``."""

    def __init__(
        self,
        register_map: RegisterMap,
        settings: PlcSettings | None = None,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        rtu_pty: bool = False,
        pty_link: Path | None = None,
    ) -> None:
        self.register_map = register_map
        self.model = PlcModel(settings or PlcSettings())
        self.unit_id = register_map.info.unit_id
        self.panel_unit_id = register_map.info.panel_unit_id
        self.host = host
        self.port = port
        self.rtu_pty = rtu_pty
        self.url = ""
        self.panel_url = ""
        """The bench panel (unit 247). On TCP it is the PLC's own port; with RTU it is a
        loopback TCP port, since the panel stands for the bench's physical inputs, not for a
        second master on the RS-485 line."""
        self.response_delay_ms = 0
        self.drop_next = 0
        self.requests = 0
        self.dropped = 0
        self.scans_late = 0
        self._pty_link = pty_link
        self._server: ModbusTcpServer | ModbusSerialServer | None = None
        self._panel_server: ModbusTcpServer | None = None
        self._delayed: set[asyncio.Task[object]] = set()
        self._scan_task: asyncio.Task[None] | None = None
        self._relay: _PtyRelay | None = None

    async def __aenter__(self) -> PlcEmulator:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    @property
    def serving(self) -> asyncio.Task[None]:
        """The scan task; it runs until ``close()`` unless it fails."""
        if self._scan_task is None:
            raise RuntimeError("the emulator is not started")
        return self._scan_task

    async def start(self) -> str:
        try:
            return await self._start()
        except BaseException:
            await self.close()
            raise

    async def _start(self) -> str:
        context = PlcContext(self)
        if self.rtu_pty:
            self._relay = _PtyRelay(self._pty_link)
            server_side = await self._relay.start()
            # a pty carries bytes, not parity bits: Linux refuses PARENB on a pty, so the
            # emulated RTU line is 8N1 (the bench PLC's 8E1 is set in the rig config)
            self._server = ModbusSerialServer(
                context,
                framer=FramerType.RTU,
                port=server_side,
                baudrate=115200,
                parity="N",
                ignore_missing_devices=True,
            )
            self.url = f"rtu://{self._relay.client_path}?baud=115200&parity=N"
        else:
            self.host = check_listen(self.host, self.port)
            self._server = ModbusTcpServer(
                context, address=(self.host, self.port), ignore_missing_devices=True
            )
        try:
            await self._server.serve_forever(background=True)
        except RuntimeError as error:  # pymodbus's "Could not start listen": taken meanwhile
            raise listen_error(self.host, self.port, OSError(errno.EADDRINUSE, "")) from error
        if not self.rtu_pty:
            self.port = _bound_port(self._server)
            self.url = self.panel_url = f"tcp://{url_host(self.host)}:{self.port}"
        else:
            self._panel_server = ModbusTcpServer(
                context, address=("127.0.0.1", 0), ignore_missing_devices=True
            )
            await self._panel_server.serve_forever(background=True)
            self.panel_url = f"tcp://127.0.0.1:{_bound_port(self._panel_server)}"
        self._scan_task = asyncio.create_task(self._scan_forever(), name="plc scan")
        return self.url

    async def close(self) -> None:
        """Stop scanning and serving and remove the pty link; a failure of the scan task is
        raised after all of that is done. Safe to call more than once."""
        scan, self._scan_task = self._scan_task, None
        try:
            if scan is not None:
                scan.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await scan
        finally:
            await self._close_servers()

    async def _close_servers(self) -> None:
        try:
            delayed = list(self._delayed)
            for task in delayed:
                task.cancel()
            await asyncio.gather(*delayed, return_exceptions=True)
            for server in (self._server, self._panel_server):
                if server is not None:
                    await server.shutdown()  # type: ignore[no-untyped-call]
            self._server = self._panel_server = None
        finally:
            if self._relay is not None:
                await self._relay.close()
                self._relay = None

    async def _scan_forever(self) -> None:
        loop = asyncio.get_running_loop()
        period = SCAN_MS / 1000
        next_scan = loop.time() + period
        while True:
            await asyncio.sleep(max(0.0, next_scan - loop.time()))  # pacing the scan cycle
            self.model.scan()
            next_scan += period
            if loop.time() - next_scan > 10 * period:  # far behind: resynchronise, count it
                self.scans_late += 1
                next_scan = loop.time() + period

    # --- requests --------------------------------------------------------------------------

    async def handle(
        self,
        unit: int,
        func_code: int,
        address: int,
        count: int,
        values: list[int] | list[bool] | None,
    ) -> list[int] | list[bool] | ExcCodes:
        if unit == self.panel_unit_id:
            return self._panel(func_code, address, count, values)
        if unit != self.unit_id:
            raise NoSuchIdException(f"no unit {unit}")
        if values is not None or func_code not in (5, 6):  # FC 5/6 echo reads are the same op
            self.requests += 1
            if self.drop_next > 0:
                self.drop_next -= 1
                self.dropped += 1
                raise NoSuchIdException("request dropped by the bench panel")  # no answer
            if self.response_delay_ms:
                # pymodbus does not track its per-request tasks, so delayed ones are tracked
                # here and cancelled on close: none outlives the emulator
                task = asyncio.current_task()
                assert task is not None
                self._delayed.add(task)
                try:
                    await asyncio.sleep(self.response_delay_ms / 1000)
                finally:
                    self._delayed.discard(task)
        return self._plc(func_code, address, count, values)

    def _plc(
        self, func_code: int, address: int, count: int, values: list[int] | list[bool] | None
    ) -> list[int] | list[bool] | ExcCodes:
        table = READ_TABLE.get(func_code)
        if table is None:
            return ExcCodes.ILLEGAL_FUNCTION
        size = self.register_map.size(table)
        if count < 1 or address < 0 or address + count > size:
            return ExcCodes.ILLEGAL_ADDRESS
        model = self.model
        if values is not None:
            try:
                if table is Table.COILS:
                    for offset, value in enumerate(values):
                        model.write_coil(address + offset, bool(value))
                else:
                    model.write_holding(self.register_map, address, [int(v) for v in values])
            except PlcWriteError as error:
                return ExcCodes(int(error.code))
            return None  # type: ignore[return-value]
        if table is Table.COILS:
            return list(model.coils[address : address + count])
        if table is Table.DISCRETE_INPUTS:
            return model.discrete_inputs()[address : address + count]
        if table is Table.HOLDING_REGISTERS:
            return model.holding_registers()[address : address + count]
        return model.input_registers()[address : address + count]

    def _panel(
        self, func_code: int, address: int, count: int, values: list[int] | list[bool] | None
    ) -> list[int] | list[bool] | ExcCodes:
        table = READ_TABLE.get(func_code)
        if table is Table.COILS:
            if address < 0 or address + count > len(PANEL_COILS):
                return ExcCodes.ILLEGAL_ADDRESS
            if values is not None:
                for offset, value in enumerate(values):
                    if address + offset == 0:
                        self.model.estop_pressed = bool(value)
                    else:
                        self.model.interlock_open = bool(value)
                return None  # type: ignore[return-value]
            return [self.model.estop_pressed, self.model.interlock_open][address : address + count]
        if table is Table.HOLDING_REGISTERS:
            if address < 0 or address + count > len(PANEL_REGISTERS):
                return ExcCodes.ILLEGAL_ADDRESS
            if values is not None:
                for offset, value in enumerate(values):
                    slot = address + offset
                    if slot == 0:
                        self.model.reload(int(value))
                    elif slot == 1:
                        self.response_delay_ms = int(value)
                    else:
                        self.drop_next = int(value)
                return None  # type: ignore[return-value]
            current = [self.model.rounds_ready, self.response_delay_ms, self.drop_next]
            return current[address : address + count]
        return ExcCodes.ILLEGAL_ADDRESS


def _bound_port(server: ModbusTcpServer | ModbusSerialServer) -> int:
    listener = server.transport
    return int(listener.sockets[0].getsockname()[1])  # type: ignore[attr-defined]


class _PtyRelay:
    """Two pseudo-terminals joined back to back: a null-modem cable for Modbus RTU."""

    def __init__(self, link: Path | None) -> None:
        self._requested_link = link
        self._link: PtyLink | None = None
        self.client_path = ""
        self._fds: list[int] = []

    async def start(self) -> str:
        try:
            for _ in range(2):
                self._fds.extend(open_raw_pty())
        except OSError as error:
            await self.close()
            raise EndpointError(f"cannot open a pseudo-terminal: {error.strerror}") from error
        server_master, server_slave, client_master, client_slave = self._fds
        try:
            self._link = PtyLink(self._requested_link, "hil-plc-")
            self._link.point_at(client_slave)
        except BaseException:
            await self.close()
            raise
        self.client_path = str(self._link.path)
        loop = asyncio.get_running_loop()
        loop.add_reader(server_master, _copy, server_master, client_master)
        loop.add_reader(client_master, _copy, client_master, server_master)
        return os.ttyname(server_slave)

    async def close(self) -> None:
        """Close both ptys and remove the link. Safe to call more than once."""
        try:
            loop = asyncio.get_running_loop()
            for fd in self._fds[0::2]:
                loop.remove_reader(fd)
            for fd in self._fds:
                os.close(fd)
            self._fds = []
        finally:
            if self._link is not None:
                self._link.remove()
                self._link = None


def _copy(source: int, target: int) -> None:
    try:
        data = os.read(source, 65536)
    except OSError:
        return
    with contextlib.suppress(OSError):  # the far side full or gone: bytes lost, as on a line
        os.write(target, data)
