"""Bytes between a pyserial port and asyncio, on two dedicated threads.

Why threads on plain pyserial rather than an asyncio serial layer: pyserial-asyncio is
unmaintained and pyserial-asyncio-fast 0.16 spins a core after large writes; a blocking reader
thread is simple, fast, and works for every pyserial URL (device paths, ``socket://``,
``rfc2217://``). The reader thread opens the port, then reads with a short timeout and hands each
chunk to the event loop with ``call_soon_threadsafe``; a writer thread drains a queue of writes so
a large or slow write never blocks the loop and never busy-waits. Both threads end, and the port
closes, when ``close()`` returns.

A pty whose master has closed never comes back, and its ``/dev/pts/N`` number is soon reused by
some other program. So when an open pty (directly or through a symlink, like the emulators'
links) fails and its master is gone, the path is remembered as hung up in the ``HungUpPtys``
record the opener passed (a driver keeps one for its reconnects), and a later ``open`` with that
record refuses the same path while it still leads to that pty the same way: the same symlink (inode
unchanged since it was opened) to the same device, or the same ``/dev/pts`` path. A re-pointed
link (the emulator's hangup fault replaces it atomically, a restarted emulator makes a new one)
opens normally, and so does a pty that is still alive. Real serial devices are reopened as they
are: a USB adapter that comes back is the same device.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import queue
import socket
import stat
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import serial

from drivers.errors import LinkDownError

READ_TIMEOUT_S = 0.05
WRITE_TIMEOUT_S = 2.0
PTY_SLAVE_MAJORS = range(136, 144)
"""Linux's Unix98 pty slave devices (/dev/pts/N)."""
_STOP = object()


@dataclass(frozen=True, slots=True)
class PtyRoute:
    """How a path leads to a pty slave: the symlink on the way (st_dev, st_ino, st_ctime_ns;
    None when the path is the device itself) and the device number."""

    link: tuple[int, int, int] | None
    rdev: int

    @classmethod
    def of(cls, path: str, rdev: int | None = None) -> PtyRoute | None:
        """The route ``path`` takes now (to ``rdev`` if given, e.g. an open fd's device);
        None unless it leads to a pty slave."""
        try:
            if rdev is None:
                rdev = os.stat(path).st_rdev
            info = os.lstat(path)
        except OSError:
            return None
        if os.major(rdev) not in PTY_SLAVE_MAJORS:
            return None
        link = (info.st_dev, info.st_ino, info.st_ctime_ns) if stat.S_ISLNK(info.st_mode) else None
        return cls(link, rdev)

    @property
    def device(self) -> str:
        """The pty slave's path, /dev/pts/<index>."""
        return (
            f"/dev/pts/{(os.major(self.rdev) - PTY_SLAVE_MAJORS.start) * 256 + os.minor(self.rdev)}"
        )

    def still_taken_by(self, path: str) -> bool:
        """Whether ``path`` still leads here the same way: the same symlink (whether it
        dangles or now resolves to a pty reusing the number), or the device path itself
        present with this device number."""
        try:
            info = os.lstat(path)
            if self.link is not None:
                identity = (info.st_dev, info.st_ino, info.st_ctime_ns)
                return stat.S_ISLNK(info.st_mode) and identity == self.link
            return os.stat(path).st_rdev == self.rdev
        except OSError:
            return False

    def device_gone(self) -> bool:
        """Whether the pty is gone for good: its master closed, which removes its /dev/pts
        node at once. (Asked while a slave fd is still open, the number cannot have been
        reused yet. A pty merely hung up on the slave side keeps its node, and reopens.)"""
        try:
            return os.stat(self.device).st_rdev != self.rdev
        except OSError:
            return True


class HungUpPtys:
    """Paths whose pty hung up, with the route they took to it. One per driver: what its
    reconnects must not reopen. (Not process-wide: an operator or another driver opening a
    live pty that happens to have a dead one's number is not refused.)"""

    def __init__(self) -> None:
        self._routes: dict[str, PtyRoute] = {}
        self._lock = threading.Lock()

    def add(self, path: str, route: PtyRoute) -> None:
        with self._lock:
            self._routes[os.path.abspath(path)] = route

    def still_leads_there(self, path: str) -> PtyRoute | None:
        """The hung-up route if ``path`` still takes it (do not open). A link that still
        dangles is still the stale one: it is kept, so that once another program gets that
        /dev/pts number the path stays refused. Forgotten once the link is re-pointed or
        removed."""
        key = os.path.abspath(path)
        with self._lock:
            hung_up = self._routes.get(key)
            if hung_up is None:
                return None
            if hung_up.still_taken_by(path):
                return hung_up
            if hung_up.link is not None or os.path.exists(path):
                del self._routes[key]  # re-pointed (or removed) since: a new device
            return None


class SerialTransport:
    """One open connection. Create with ``await SerialTransport.open(...)``; ``close()`` is
    idempotent. ``on_data`` runs on the event loop for every received chunk; ``lost`` completes
    (with the error, or ``None`` after ``close()``) when the connection ends."""

    def __init__(
        self,
        url: str,
        baud: int,
        on_data: Callable[[bytes], None],
        loop: asyncio.AbstractEventLoop,
        hung_up: HungUpPtys | None = None,
    ) -> None:
        self.url = url
        self._hung_up_ptys = hung_up
        self.baud = baud
        self._on_data = on_data
        self._loop = loop
        self._port: Any = None
        self._pty_route: PtyRoute | None = None
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
    async def open(
        cls,
        url: str,
        baud: int,
        on_data: Callable[[bytes], None],
        hung_up: HungUpPtys | None = None,
    ) -> SerialTransport:
        """Open ``url`` (any pyserial URL); raises ``LinkDownError`` if it cannot be opened, or
        if ``hung_up`` (the opener's record of its earlier connections) says the path still
        leads to a pty that hung up."""
        transport = cls(url, baud, on_data, asyncio.get_running_loop(), hung_up)
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
                self._refuse_a_hung_up_pty()
                self._port = serial.serial_for_url(
                    self.url,
                    baudrate=self.baud,
                    timeout=READ_TIMEOUT_S,
                    write_timeout=WRITE_TIMEOUT_S,
                )
                self._pty_route = self._route_opened()
            except (OSError, ValueError, serial.SerialException, LinkDownError) as error:
                failure = (
                    error
                    if isinstance(error, LinkDownError)
                    else LinkDownError(f"{self.url}: cannot open: {error}")
                )
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
                        self._hung_up()
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

    def _refuse_a_hung_up_pty(self) -> None:
        if "://" in self.url or self._hung_up_ptys is None:
            return
        hung_up = self._hung_up_ptys.still_leads_there(self.url)
        if hung_up is not None:
            raise LinkDownError(
                f"{self.url}: not reopened: it still leads to {hung_up.device}, the pty that "
                "hung up, and that number may now be another program's terminal; waiting for "
                "the device to re-point the link"
            )

    def _route_opened(self) -> PtyRoute | None:
        """How the path led to the device just opened (None unless a pty)."""
        fd = getattr(self._port, "fd", None)
        if "://" in self.url or not isinstance(fd, int):
            return None
        return PtyRoute.of(self.url, os.fstat(fd).st_rdev)

    def _hung_up(self) -> None:
        """Remember a pty whose master has gone (called while the port is still open)."""
        record, route = self._hung_up_ptys, self._pty_route
        if record is not None and route is not None and route.device_gone():
            record.add(self.url, route)

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
                    self._hung_up()
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
