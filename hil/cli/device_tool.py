"""What the device tools (``hil radar …``, ``hil plc …``) share: output lines that end quietly
when the reader goes away, and a long-running command that SIGTERM ends cleanly."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from collections.abc import Awaitable, Callable

EXIT_TERMINATED = 128 + signal.SIGTERM
"""A device tool's long-running command (monitor, watch) ended by SIGTERM, as the shell says."""


class StdoutLines:
    """Lines to stdout; a reader that went away (``| head``) ends the output quietly."""

    def __init__(self) -> None:
        self.closed = False

    def line(self, text: str) -> None:
        if self.closed:
            return
        try:
            print(text, flush=True)
        except BrokenPipeError:
            self.closed = True
            devnull = os.open(os.devnull, os.O_WRONLY)  # so the final flush at exit is silent
            os.dup2(devnull, sys.stdout.fileno())
            os.close(devnull)


async def until_sigterm(work: Callable[[], Awaitable[None]]) -> int:
    """Await ``work()`` in this task: 0 when it ends, ``EXIT_TERMINATED`` when SIGTERM cancels
    it (its ``finally`` clauses run first). Ctrl-C is left to ``asyncio.run``, which turns it
    into KeyboardInterrupt (exit 130)."""
    loop = asyncio.get_running_loop()
    task = asyncio.current_task()
    assert task is not None
    terminated = False

    def on_sigterm() -> None:
        nonlocal terminated
        terminated = True
        task.cancel()

    loop.add_signal_handler(signal.SIGTERM, on_sigterm)
    try:
        await work()
    except asyncio.CancelledError:
        if not terminated:
            raise
        task.uncancel()
        return EXIT_TERMINATED
    finally:
        loop.remove_signal_handler(signal.SIGTERM)
    return 0
