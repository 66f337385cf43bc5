"""Where the emulated radar's bytes go: the master side of a pseudo-terminal, or a TCP server.

Both give the client a pyserial URL: a pty is reached through a symlink to its slave device
(kept stable when the emulator hangs up and reopens a new pty, removed when it closes), TCP as
``socket://host:port`` (``socket://[::1]:port`` for IPv6). Where it cannot serve, ``start``
raises ``EndpointError`` and leaves nothing behind.
A client that is not reading loses bytes, as on a real serial line: writes never block.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
from collections.abc import Callable
from pathlib import Path
from typing import Protocol

from firmware_stubs.errors import EndpointError
from firmware_stubs.listen import check_listen, listen_error, url_host
from firmware_stubs.ptys import PtyLink, open_raw_pty

MAX_TCP_BACKLOG = 1 << 20


class Endpoint(Protocol):
    dropped_bytes: int

    async def start(self, on_data: Callable[[bytes], None]) -> str: ...

    def write(self, data: bytes) -> None: ...

    async def hangup(self) -> None: ...

    async def close(self) -> None: ...


class PtyEndpoint:
    """The emulator owns a pty master; clients open the slave through a ``PtyLink`` symlink
    (``link_path``, or one in a temporary directory), which follows it across hangups."""

    def __init__(self, link_path: Path | None = None) -> None:
        self._requested_link = link_path
        self._link: PtyLink | None = None
        self._master = -1
        self._slave = -1
        self._on_data: Callable[[bytes], None] | None = None
        self.dropped_bytes = 0

    async def start(self, on_data: Callable[[bytes], None]) -> str:
        self._on_data = on_data
        self._link = PtyLink(self._requested_link, "hil-radar-")
        try:
            self._open_pty()
        except BaseException:
            await self.close()
            raise
        return str(self._link.path)

    @property
    def slave_path(self) -> str:
        """The current pty slave device (changes at every hangup; the link follows it)."""
        return os.ttyname(self._slave) if self._slave >= 0 else ""

    def _open_pty(self) -> None:
        assert self._link is not None
        try:
            self._master, self._slave = open_raw_pty()
        except OSError as error:
            raise EndpointError(f"cannot open a pseudo-terminal: {error.strerror}") from error
        self._link.point_at(self._slave)
        asyncio.get_running_loop().add_reader(self._master, self._readable)

    def _readable(self) -> None:
        try:
            data = os.read(self._master, 65536)
        except OSError:  # nothing to read after all, or no client side
            return
        if data and self._on_data is not None:
            self._on_data(data)

    def write(self, data: bytes) -> None:
        if self._master < 0 or not data:
            return
        try:
            sent = os.write(self._master, data)
        except OSError:  # buffer full (nobody reading) or hung up: the bytes are lost
            sent = 0
        self.dropped_bytes += len(data) - sent

    def _close_pty(self) -> None:
        if self._master >= 0:
            asyncio.get_running_loop().remove_reader(self._master)
            os.close(self._master)
            self._master = -1
        if self._slave >= 0:
            os.close(self._slave)
            self._slave = -1

    async def hangup(self) -> None:
        """Close this pty (the client sees its port vanish) and open a fresh one at the link."""
        self._close_pty()
        self._open_pty()

    async def close(self) -> None:
        try:
            self._close_pty()
        finally:
            if self._link is not None:
                self._link.remove()


class TcpEndpoint:
    """A TCP server for one client at a time (a newcomer replaces the previous client)."""

    def __init__(self, host: str = "127.0.0.1", port: int = 0) -> None:
        self.host = host
        self.port = port
        self._server: asyncio.Server | None = None
        self._writer: asyncio.StreamWriter | None = None
        self._handlers: set[asyncio.Task[None]] = set()
        self._on_data: Callable[[bytes], None] | None = None
        self.dropped_bytes = 0

    async def start(self, on_data: Callable[[bytes], None]) -> str:
        self._on_data = on_data
        self.host = check_listen(self.host, self.port)
        try:
            self._server = await asyncio.start_server(self._serve, self.host, self.port)
        except OSError as error:  # taken between the check and now
            raise listen_error(self.host, self.port, error) from error
        self.port = self._server.sockets[0].getsockname()[1]
        return f"socket://{url_host(self.host)}:{self.port}"

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._handlers.add(task)
        previous, self._writer = self._writer, writer
        if previous is not None:
            previous.close()
        try:
            while data := await reader.read(65536):
                if self._on_data is not None:
                    self._on_data(data)
        except ConnectionError:
            pass
        finally:
            if self._writer is writer:
                self._writer = None
            writer.close()
            with contextlib.suppress(ConnectionError):
                await writer.wait_closed()
            self._handlers.discard(task)

    def write(self, data: bytes) -> None:
        writer = self._writer
        if writer is None or writer.is_closing() or not data:
            self.dropped_bytes += len(data)
            return
        if writer.transport.get_write_buffer_size() > MAX_TCP_BACKLOG:
            self.dropped_bytes += len(data)
            return
        writer.write(data)

    async def hangup(self) -> None:
        """Drop the current client; the server keeps accepting."""
        if self._writer is not None:
            self._writer.close()
            self._writer = None

    async def close(self) -> None:
        if self._server is not None:
            self._server.close()
        await self.hangup()
        handlers = list(self._handlers)
        if handlers:  # closing the client's socket ends its handler at EOF
            _, stuck = await asyncio.wait(handlers, timeout=1.0)
            for handler in stuck:
                handler.cancel()
            await asyncio.gather(*stuck, return_exceptions=True)
        if self._server is not None:
            await self._server.wait_closed()
            self._server = None
