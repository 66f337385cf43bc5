"""Helpers for radar-link tests: the emulated radar in-process, the bench radar with --rig, or a
raw fake device whose bytes the test writes."""

from __future__ import annotations

import asyncio
import contextlib
import os
import pty
import tty
from collections.abc import AsyncIterator, Awaitable, Callable

import pytest
from conftest import CONFIGS

from firmware_stubs.radar.emulator import RadarEmulator
from firmware_stubs.radar.endpoints import Endpoint, PtyEndpoint, TcpEndpoint
from firmware_stubs.radar.faults import LinkFaults
from hil.config.loader import load_scenario
from hil.rig.emulators import build_radar_firmware

TRANSPORTS = ["pty", "tcp"]
ALL_SOURCES = ["pty", "tcp", pytest.param("rig", marks=pytest.mark.rig)]
"""Emulated over both transports, and the bench radar with ``--rig`` (opt-in)."""


@contextlib.asynccontextmanager
async def radar_under_test(source: str, request: pytest.FixtureRequest) -> AsyncIterator[str]:
    """A radar URL: the emulated radar (in this loop) or the bench's, from ``--rig``."""
    if source == "rig":
        rig = request.getfixturevalue("bench_rig")
        yield rig.radar.url
        return
    async with emulated_radar(source) as emulator:
        yield emulator.url


@contextlib.asynccontextmanager
async def emulated_radar(
    transport: str,
    scenario: str = "single-cv.toml",
    *,
    seed: int = 0,
    rotate: float | None = None,
    faults: LinkFaults | None = None,
    keep_originals: bool = False,
) -> AsyncIterator[RadarEmulator]:
    """The emulated radar in this event loop, on a real pty or a real loopback TCP socket."""
    firmware = build_radar_firmware(load_scenario(CONFIGS / "scenarios" / scenario), seed, rotate)
    endpoint: Endpoint = PtyEndpoint() if transport == "pty" else TcpEndpoint()
    async with RadarEmulator(firmware, endpoint, faults, keep_originals=keep_originals) as emu:
        yield emu


class RawDevice:
    """A test-side fake radar: bytes the test writes reach the driver over a real transport."""

    def __init__(self, url: str, send: Callable[[bytes], Awaitable[None]]) -> None:
        self.url = url
        self._send = send

    async def send(self, data: bytes) -> None:
        await self._send(data)


@contextlib.asynccontextmanager
async def raw_device(transport: str) -> AsyncIterator[RawDevice]:
    """A pty whose slave the driver opens (the test writes to the master), or a loopback TCP
    server whose first client receives what the test writes (``send`` waits for the client)."""
    if transport == "pty":
        master, slave = pty.openpty()
        tty.setraw(slave)

        async def write_master(data: bytes) -> None:
            view = memoryview(data)
            while view:
                view = view[os.write(master, view) :]

        try:
            yield RawDevice(os.ttyname(slave), write_master)
        finally:
            os.close(master)
            os.close(slave)
        return
    client: asyncio.Future[asyncio.StreamWriter] = asyncio.get_running_loop().create_future()
    handlers: list[asyncio.Task[None]] = []

    async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        handlers.append(task)
        if client.done():
            writer.close()
            return
        client.set_result(writer)
        while await reader.read(4096):  # until the driver closes its end
            pass

    async def write_client(data: bytes) -> None:
        async with asyncio.timeout(5.0):
            writer = await client
        writer.write(data)
        await writer.drain()

    server = await asyncio.start_server(serve, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    try:
        yield RawDevice(f"socket://127.0.0.1:{port}", write_client)
    finally:
        server.close()
        if client.done():
            client.result().close()
        for task in handlers:
            task.cancel()
        await asyncio.gather(*handlers, return_exceptions=True)
        await server.wait_closed()
