"""Bytes between a pyserial port and asyncio, on two dedicated threads.

Why threads on plain pyserial rather than an asyncio serial layer: pyserial-asyncio is
unmaintained and pyserial-asyncio-fast 0.16 spins a core after large writes; a blocking reader
thread is simple, fast, and works for every pyserial URL (device paths, ``socket://``,
``rfc2217://``). The reader thread opens the port, then reads with a short timeout and hands each
chunk to the event loop with ``call_soon_threadsafe``; a writer thread drains a queue of writes so
a large or slow write never blocks the loop and never busy-waits. Both threads end, and the port
closes, when ``close()`` returns.
"""

from __future__ import annotations

import asyncio
import contextlib
import queue
import socket
import threading
from collections.abc import Callable
from typing import Any

import serial

from drivers.errors import LinkDownError

READ_TIMEOUT_S = 0.05
WRITE_TIMEOUT_S = 2.0
_STOP = object()


class SerialTransport:
    """One open connection. Create with ``await SerialTransport.open(...)``; ``close()`` is
    idempotent. ``on_data`` runs on the event loop for every received chunk; ``lost`` completes
    (with the error, or ``None`` after ``close()``) when the connection ends."""

    def __init__(
        self, url: str, baud: int, on_data: Callable[[bytes], None], loop: asyncio.AbstractEventLoop
    ) -> None:
        self.url = url
        self.baud = baud
        self._on_data = on_data
        self._loop = loop
        self._port: Any = None
        self._stop = threading.Event()
        self._port_may_close = threading.Event()
        self._writes: queue.SimpleQueue[Any] = queue.SimpleQueue()
        self.lost: asyncio.Future[Exception | None] = loop.create_future()
        self._opened: asyncio.Future[None] = loop.create_future()
        self._reader_done: asyncio.Future[None] = loop.create_future()
        self._writer_done: asyncio.Future[None] = loop.create_future()
        self._reader = threading.Thread(
            target=self._read_loop, name=f"serial-read {url}", daemon=True
        )
        self._writer = threading.Thread(
            target=self._write_loop, name=f"serial-write {url}", daemon=True
        )

    @classmethod
    async def open(cls, url: str, baud: int, on_data: Callable[[bytes], None]) -> SerialTransport:
        """Open ``url`` (any pyserial URL); raises ``LinkDownError`` if it cannot be opened."""
        transport = cls(url, baud, on_data, asyncio.get_running_loop())
        transport._reader.start()
        try:
            await asyncio.shield(transport._opened)
        except BaseException:
            await transport.close()
            raise
        transport._writer.start()
        return transport

    async def write(self, data: bytes) -> None:
        """Queue ``data`` and wait until the port has taken all of it."""
        if self._stop.is_set() or self.lost.done() or self._writer.ident is None:
            raise LinkDownError(f"{self.url}: link is closed")
        done: asyncio.Future[None] = self._loop.create_future()
        self._writes.put((data, done))
        await done

    async def close(self) -> None:
        """Stop both threads and close the port. Safe to call more than once."""
        self._stop.set()
        port = self._port
        if port is not None and hasattr(port, "cancel_read"):
            with contextlib.suppress(OSError, serial.SerialException):
                port.cancel_read()
        if self._writer.ident is not None:
            self._writes.put(_STOP)
            await asyncio.shield(self._writer_done)
            self._writer.join()
        self._port_may_close.set()
        await asyncio.shield(self._reader_done)  # the reader thread closes the port, off the loop
        self._reader.join()
        _set_result(self.lost, None)

    # --- threads -------------------------------------------------------------------------

    def _call(self, callback: Callable[..., object], *args: object) -> None:
        with contextlib.suppress(RuntimeError):  # a closed loop: nobody is listening any more
            self._loop.call_soon_threadsafe(callback, *args)

    def _read_loop(self) -> None:
        try:
            try:
                self._port = serial.serial_for_url(
                    self.url,
                    baudrate=self.baud,
                    timeout=READ_TIMEOUT_S,
                    write_timeout=WRITE_TIMEOUT_S,
                )
            except (OSError, ValueError, serial.SerialException) as error:
                failure = LinkDownError(f"{self.url}: cannot open: {error}")
                self._call(_set_exception, self._opened, failure)
                self._port_may_close.set()
                return
            self._call(_set_result, self._opened, None)
            port = self._port
            while not self._stop.is_set():
                try:
                    data = port.read(max(1, port.in_waiting))
                except (OSError, serial.SerialException, TypeError, AttributeError) as error:
                    if not self._stop.is_set():
                        self._call(
                            _set_result,
                            self.lost,
                            LinkDownError(f"{self.url}: read failed: {error}"),
                        )
                    return
                if data:
                    self._call(self._on_data, data)
        finally:
            self._port_may_close.wait()  # the writer thread may still be using the port
            if self._port is not None:
                _close_port(self._port)
            self._call(_set_result, self._reader_done, None)

    def _write_loop(self) -> None:
        try:
            while True:
                item = self._writes.get()
                if item is _STOP:
                    return
                data, done = item
                if self._stop.is_set():
                    self._call(_set_exception, done, LinkDownError(f"{self.url}: link closed"))
                    continue
                try:
                    self._port.write(data)
                except (OSError, serial.SerialException) as error:
                    failure = LinkDownError(f"{self.url}: write failed: {error}")
                    self._call(_set_exception, done, failure)
                    self._call(_set_result, self.lost, failure)
                    continue
                self._call(_set_result, done, None)
        finally:
            while not self._writes.empty():
                item = self._writes.get()
                if item is not _STOP:
                    self._call(_set_exception, item[1], LinkDownError(f"{self.url}: link closed"))
            self._call(_set_result, self._writer_done, None)


def _close_port(port: Any) -> None:
    """Close a pyserial port. pyserial's ``socket://`` close() sleeps 0.3 s "to give the server
    some time", which only delays our reconnect: close that socket directly instead."""
    raw_socket = getattr(port, "_socket", None)
    if type(port).__module__.endswith("protocol_socket") and raw_socket is not None:
        with contextlib.suppress(OSError):
            raw_socket.shutdown(socket.SHUT_RDWR)
        with contextlib.suppress(OSError):
            raw_socket.close()
        port._socket = None
        port.is_open = False
        return
    with contextlib.suppress(OSError, serial.SerialException):
        port.close()


def _set_result(future: asyncio.Future[Any], value: object) -> None:
    if not future.done():
        future.set_result(value)


def _set_exception(future: asyncio.Future[Any], error: BaseException) -> None:
    if not future.done():
        future.set_exception(error)
