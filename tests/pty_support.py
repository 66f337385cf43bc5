"""Running the ``hil`` command line on a pseudo-terminal, as on an operator's screen."""

from __future__ import annotations

import asyncio
import fcntl
import os
import pty
import re
import struct
import sys
import termios

ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")
"""Terminal escape sequences (colours, cursor moves), removed from what a test reads."""


async def _drain(fd: int) -> bytes:
    """Everything written to the pty until its last writer closes it (EIO)."""
    loop = asyncio.get_running_loop()
    chunks: list[bytes] = []
    closed: asyncio.Future[None] = loop.create_future()

    def readable() -> None:
        try:
            data = os.read(fd, 65536)
        except BlockingIOError:
            return
        except OSError:  # EIO: the child and its descendants have closed the terminal
            data = b""
        if data:
            chunks.append(data)
        elif not closed.done():
            closed.set_result(None)

    os.set_blocking(fd, False)
    loop.add_reader(fd, readable)
    try:
        await closed
    finally:
        loop.remove_reader(fd)
    return b"".join(chunks)


async def hil_on_a_terminal(*args: str, timeout_s: float = 60.0) -> tuple[int, str, str]:
    """``hil ARGS`` with stdout on a pseudo-terminal 250 columns wide (stderr a pipe): its exit
    code, the terminal's text without escape sequences, and stderr."""
    master, slave = pty.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 50, 250, 0, 0))
    try:
        process = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "hil",
            *args,
            stdin=asyncio.subprocess.DEVNULL,
            stdout=slave,
            stderr=asyncio.subprocess.PIPE,
            env={**os.environ, "COLUMNS": "250", "LINES": "50"},
        )
        os.close(slave)
        slave = -1
        reading = asyncio.ensure_future(_drain(master))
        try:
            async with asyncio.timeout(timeout_s):
                assert process.stderr is not None
                err = await process.stderr.read()
                await process.wait()
                raw = await reading
        finally:
            if process.returncode is None:
                process.kill()
                await process.wait()
            reading.cancel()
            await asyncio.wait([reading])
    finally:
        if slave >= 0:
            os.close(slave)
        os.close(master)
    assert process.returncode is not None
    text = ANSI.sub("", raw.decode(errors="replace")).replace("\r", "\n")
    return process.returncode, text, err.decode()
