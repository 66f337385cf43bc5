"""The emulated radar's control port: faults switched on and off while it serves.

Emulator-only, like the PLC's bench panel: the radar ICD has no such command and the drivers
never use this port. ``hil stub radar --control HOST:PORT`` serves it (loopback by default) and
announces it on the READY line (``READY <url> control=tcp://127.0.0.1:PORT``).

One JSON object per line in, one per line out:

- ``{"corrupt_byte_rate": P}`` — from now on each byte sent has one bit flipped with
  probability P in [0, 1] (0 ends the corruption);
- ``{"stall_ms": N}`` — no DETECTIONS frame for the next N ms (whole, 1..3 600 000);
- ``{"hangup": true}`` — close the link now (the emulator offers a new one at once).

The answer is ``{"ok": true}`` once the command took effect, or ``{"ok": false, "error":
"..."}`` naming what was wrong with it. Several clients may be connected at once.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import math
from typing import Any, Protocol, TypeGuard

from firmware_stubs.listen import check_listen, listen_error, url_host

MAX_STALL_MS = 3_600_000
MAX_LINE = 4096


class Controllable(Protocol):
    """What the control port acts on (``RadarEmulator`` has exactly these)."""

    def set_corrupt_byte_rate(self, rate: float) -> None: ...

    def stall_for(self, ms: int) -> None: ...

    async def hang_up(self) -> None: ...


class ControlServer:
    """Serves the control port of ``emulator`` on ``host:port`` (port 0: any free port).
    ``url`` is ``tcp://host:port`` once started; ``commands`` counts those that took effect."""

    def __init__(self, emulator: Controllable, host: str = "127.0.0.1", port: int = 0) -> None:
        self.emulator = emulator
        self.host = host
        self.port = port
        self.url = ""
        self.commands = 0
        self._server: asyncio.Server | None = None
        self._handlers: set[asyncio.Task[None]] = set()

    async def __aenter__(self) -> ControlServer:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    async def start(self) -> str:
        self.host = check_listen(self.host, self.port)
        try:
            self._server = await asyncio.start_server(
                self._serve, self.host, self.port, limit=MAX_LINE
            )
        except OSError as error:
            raise listen_error(self.host, self.port, error) from error
        self.port = self._server.sockets[0].getsockname()[1]
        self.url = f"tcp://{url_host(self.host)}:{self.port}"
        return self.url

    async def close(self) -> None:
        if self._server is not None:
            self._server.close()
        handlers = list(self._handlers)
        for handler in handlers:
            handler.cancel()
        await asyncio.gather(*handlers, return_exceptions=True)
        if self._server is not None:
            await self._server.wait_closed()
            self._server = None

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._handlers.add(task)
        try:
            while line := await reader.readline():
                answer = await self._answer(line)
                writer.write(json.dumps(answer).encode() + b"\n")
                await writer.drain()
        except (ConnectionError, ValueError):  # ValueError: a line longer than MAX_LINE
            pass
        finally:
            writer.close()
            with contextlib.suppress(ConnectionError):
                await writer.wait_closed()
            self._handlers.discard(task)

    async def _answer(self, line: bytes) -> dict[str, Any]:
        try:
            command = json.loads(line)
        except (json.JSONDecodeError, UnicodeDecodeError):
            return _refused("not a JSON object; send one object per line")
        if not isinstance(command, dict) or len(command) != 1:
            return _refused(
                'expected one command per line: {"corrupt_byte_rate": P}, {"stall_ms": N} '
                'or {"hangup": true}'
            )
        ((name, value),) = command.items()
        if name == "corrupt_byte_rate":
            if not _number(value) or not 0.0 <= value <= 1.0:
                return _refused(f"corrupt_byte_rate {value!r}: use a probability in [0, 1]")
            self.emulator.set_corrupt_byte_rate(float(value))
        elif name == "stall_ms":
            if (
                not isinstance(value, int)
                or isinstance(value, bool)
                or not 0 < value <= (MAX_STALL_MS)
            ):
                return _refused(f"stall_ms {value!r}: use whole milliseconds 1..{MAX_STALL_MS}")
            self.emulator.stall_for(value)
        elif name == "hangup":
            if value is not True:
                return _refused('hangup: send {"hangup": true}')
            await self.emulator.hang_up()
        else:
            return _refused(f"unknown command {name!r}; use corrupt_byte_rate, stall_ms or hangup")
        self.commands += 1
        return {"ok": True}


def _number(value: object) -> TypeGuard[float]:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def _refused(error: str) -> dict[str, Any]:
    return {"ok": False, "error": error}
