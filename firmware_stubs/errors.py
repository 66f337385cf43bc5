"""Exceptions of the emulators (``firmware_stubs``): every exception class they define is in
this tree (``tests/test_exception_roots.py`` holds it so).

    StubError
    ├── EndpointError      an emulator cannot serve where it was asked to (TCP address, pty link)
    ├── ParentGoneError    the process that should own this emulator is not its parent
    └── PlcWriteError      a host write the emulated PLC refuses (``firmware_stubs.plc.model``:
                           it carries the model's ``ExceptionCode`` to answer with)

OS errors met opening an endpoint are translated to ``EndpointError`` with ``raise ... from``.
Outside the tree on purpose: ``ValueError`` for a caller's bad argument, ``RuntimeError`` for
a call on an emulator that is not started, the ``OSError`` of a failed ``prctl`` (lifeline), and
pymodbus's ``NoSuchIdException``, raised *to* pymodbus so that it leaves a request unanswered.
"""

from __future__ import annotations


class StubError(Exception):
    """Root of every error raised by ``firmware_stubs``."""


class EndpointError(StubError):
    """An emulator cannot serve where it was asked to: a TCP address it cannot listen on, a pty
    link path it cannot create. The message names the address or path, why, and the fix."""


class ParentGoneError(StubError):
    """The process that should own this emulator is not (or no longer) its parent."""
