"""The ``hil`` command line (``hil.cli.commands``), behind an entry point that imports nothing
heavy, so that Ctrl-C at any moment of the start-up — the commands' imports take about 2 s —
is one ``interrupted`` line and exit 130, never a ``KeyboardInterrupt`` traceback.

Exit codes shared by every command (``hil run`` adds 3 and 4, see ``hil.cli.run_cmd``;
``hil replay --verify`` adds 5, see ``hil.cli.replay_cmd``; ``hil rig check`` adds 6, see
``hil.cli.rig_cmd``): 0 done,
1 the command failed (a device missing or refusing, a run that could not proceed), 2 usage or
configuration error, 130 interrupted before the command could stop cleanly, 141 stdout's reader
went away (``hil … | head``): the command ended quietly, as tools killed by SIGPIPE do (a
command that had failed already keeps its own code).

Only the standard library's lightest modules are imported here: ``hil/__main__.py`` and the
``hil`` console script (``hil.cli:main``) reach ``main`` a few milliseconds after the
interpreter starts."""

from __future__ import annotations

import os
import signal
import sys
import threading
from collections.abc import Callable, Sequence
from types import FrameType
from typing import Any

EXIT_INTERRUPTED = 130
EXIT_READER_GONE = 128 + signal.SIGPIPE

_SignalHandler = Callable[[int, FrameType | None], Any] | int | signal.Handlers | None


def _interrupted_while_starting(signum: int, frame: FrameType | None) -> None:
    """SIGINT before the command began: nothing is open, written or running yet, so the
    process ends here, at once, with the one line the exit-code table promises."""
    os.write(2, b"interrupted\n")
    os._exit(EXIT_INTERRUPTED)


def _take_ctrl_c() -> _SignalHandler:
    """Ctrl-C ends the process with ``interrupted`` and 130 until the command begins; returns
    the handler to put back then (None: nothing was changed — SIGINT ignored, as in a
    background job, stays ignored; outside the main thread no handler can be set)."""
    if threading.current_thread() is not threading.main_thread():
        return None
    previous = signal.getsignal(signal.SIGINT)
    if previous == signal.SIG_IGN:
        return None
    signal.signal(signal.SIGINT, _interrupted_while_starting)
    return previous


def _give_back(previous: _SignalHandler) -> None:
    if previous is not None and signal.getsignal(signal.SIGINT) is _interrupted_while_starting:
        signal.signal(signal.SIGINT, previous)


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``hil`` console script and ``python -m hil``; returns the process
    exit code."""
    previous = _take_ctrl_c()
    try:
        from hil.cli.commands import run  # the commands and their libraries: about 2 s

        code = run(argv, lambda: _give_back(previous))
    except BrokenPipeError:  # from a print (PYTHONUNBUFFERED) or a flush=True
        _stdout_gone()
        return EXIT_READER_GONE
    finally:
        _give_back(previous)
    try:
        sys.stdout.flush()  # what is still buffered: a closed pipe shows here, not at exit
    except BrokenPipeError:
        _stdout_gone()
        return code or EXIT_READER_GONE
    return code


def _stdout_gone() -> None:
    """stdout's reader went away: what is still buffered for it goes nowhere, so the
    interpreter's last flush finds nothing to complain about."""
    try:
        descriptor = sys.stdout.fileno()
    except (OSError, ValueError):  # not a file (main() called in a test's capture)
        return
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, descriptor)
    os.close(devnull)
