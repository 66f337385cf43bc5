"""Helpers for PLC-link tests: the emulated PLC in-process (or the bench PLC with --rig), and
the bench panel (unit 247) written with a plain pymodbus client."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator

import pytest
from pymodbus.client import AsyncModbusSerialClient, AsyncModbusTcpClient
from pymodbus.framer import FramerType

from drivers.plc.driver import PlcDriver, PlcEndpoint
from drivers.plc.register_map import load_register_map
from firmware_stubs.plc.server import PlcEmulator

TRANSPORTS = ["tcp", "rtu"]
ALL_SOURCES = ["tcp", "rtu", pytest.param("rig", marks=pytest.mark.rig)]
"""Emulated over both transports, and the bench PLC with ``--rig`` (opt-in)."""


@contextlib.asynccontextmanager
async def plc_under_test(source: str, request: pytest.FixtureRequest) -> AsyncIterator[str]:
    """A PLC URL: the emulated PLC (in this loop) or the bench's, from ``--rig``."""
    if source == "rig":
        plc = request.getfixturevalue("bench_rig").plc
        yield (
            f"tcp://{plc.host}:{plc.port}"
            if plc.transport == "tcp"
            else f"rtu://{plc.url}?baud={plc.baud}&parity=E"
        )
        return
    async with emulated_plc(source) as emulator:
        yield emulator.url


PANEL_UNIT = 247


@contextlib.asynccontextmanager
async def emulated_plc(transport: str) -> AsyncIterator[PlcEmulator]:
    async with PlcEmulator(load_register_map(), rtu_pty=transport == "rtu") as emulator:
        yield emulator


LOADED_TIMEOUT_S = 1.0
"""The driver's answer timeout in tests that are not about timeouts (they pass their own).
The bench's 0.2 s is met by an idle machine, but the emulated PLC answers from this test's own
event loop, and on a machine busy with other tests one scheduling delay made a request time
out; pymodbus then retried it, and over RTU (no transaction ids) the late answer to the first
attempt was taken for the retry's and the retry's for the next request's ("HEARTBEAT: answer to
another request (FC 4)"): the driver rightly reconnected, and a test of pointing and firing
failed on a link failure that proved nothing about either."""


@contextlib.asynccontextmanager
async def plc_driver(url: str, **options: object) -> AsyncIterator[PlcDriver]:
    """A driver of the PLC at ``url``, up; ``timeout_s`` is ``LOADED_TIMEOUT_S`` unless given."""
    options.setdefault("timeout_s", LOADED_TIMEOUT_S)
    async with PlcDriver(PlcEndpoint.parse(url), **options) as plc:  # type: ignore[arg-type]
        await plc.wait_up(5.0)
        yield plc


async def panel_write(
    url: str, *, coil: int | None = None, value: int | bool = 0, register: int | None = None
) -> None:
    """Act on the emulator's bench panel like a test fixture on the bench would."""
    endpoint = PlcEndpoint.parse(url)
    client: AsyncModbusTcpClient | AsyncModbusSerialClient
    if endpoint.transport == "tcp":
        client = AsyncModbusTcpClient(endpoint.host, port=endpoint.port, timeout=1.0, retries=1)
    else:
        client = AsyncModbusSerialClient(
            endpoint.serial_url,
            framer=FramerType.RTU,
            baudrate=endpoint.baud,
            parity=endpoint.parity,
            timeout=1.0,
            retries=1,
        )
    try:
        assert await client.connect()
        if coil is not None:
            response = await client.write_coil(coil, bool(value), device_id=PANEL_UNIT)
        else:
            assert register is not None
            response = await client.write_register(register, int(value), device_id=PANEL_UNIT)
        assert not response.isError(), response
    finally:
        client.close()
