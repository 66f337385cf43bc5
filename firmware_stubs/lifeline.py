"""Tie an emulator's life to the process that started it (``hil stub … --parent-pid PID``).

An emulator left running by a killed parent keeps its port or pty and its CPU, and its stale pty
link can lead a client into another program's terminal. Two independent lines end it:

- ``watch_pipe``: the parent holds the other end of a pipe on the emulator's stdin; end of file
  means the parent closed it or died, however it died (any POSIX system);
- ``die_with_parent``: on Linux the kernel sends SIGTERM when the parent dies
  (``prctl(PR_SET_PDEATHSIG)``, set here in the child itself). A parent that died before that
  call would go unnoticed, so ``getppid()`` is compared with the expected parent afterwards.
  Linux sends the signal when the parent *thread* that started the child ends, so start
  emulators from a thread that lives as long as they should (an event loop's thread does).
"""

from __future__ import annotations

import asyncio
import ctypes
import os
import signal
import stat
import sys
from collections.abc import Callable

from firmware_stubs.errors import ParentGoneError

PR_SET_PDEATHSIG = 1


def die_with_parent(parent_pid: int, signum: int = signal.SIGTERM) -> None:
    """Ask the kernel for ``signum`` when the parent dies (Linux; elsewhere ``watch_pipe`` is
    the only line), then check that ``parent_pid`` is still the parent."""
    if sys.platform.startswith("linux"):
        libc = ctypes.CDLL(None, use_errno=True)
        if libc.prctl(PR_SET_PDEATHSIG, signum, 0, 0, 0) != 0:
            raise OSError(ctypes.get_errno(), "prctl(PR_SET_PDEATHSIG) failed")
    if os.getppid() != parent_pid:
        raise ParentGoneError(
            f"process {parent_pid} is not this process's parent (it has exited, or the PID is "
            "wrong): not starting"
        )


def is_pipe(fd: int) -> bool:
    """Whether ``fd`` is a pipe or a socket (something a parent can hold the other end of)."""
    mode = os.fstat(fd).st_mode
    return stat.S_ISFIFO(mode) or stat.S_ISSOCK(mode)


def watch_pipe(fd: int, on_eof: Callable[[], None]) -> None:
    """Call ``on_eof`` once ``fd`` (a pipe) reaches end of file, on the running event loop
    (which stops watching when it closes); anything read is discarded."""
    loop = asyncio.get_running_loop()

    def readable() -> None:
        try:
            data = os.read(fd, 4096)
        except BlockingIOError:
            return
        except OSError:
            data = b""
        if not data:
            loop.remove_reader(fd)
            on_eof()

    loop.add_reader(fd, readable)
