"""Where the ``hil`` command's log records go: stderr, one line per record.

Default (no ``-v``): our own warnings and errors, each as one line ``warning: <message>``;
pymodbus only at WARNING and above, minus its per-request link-loss lines (no answer, cannot
connect, answer without a request) — the PLC driver turns those into one line per change of
link state and counts them — and without the ``>>>>> send/recv`` frame dumps it appends to its
errors. ``-v``: INFO from everything, pymodbus unfiltered. ``-vv``: DEBUG, pymodbus's hex dumps
of every frame included.
"""

from __future__ import annotations

import logging
import sys

PYMODBUS = "pymodbus"
LINK_LOSS_PHRASES = (
    "No response received",
    "Failed to connect",
    "Not connected",
    "not connected",
    "Server not responding",
    "CLOSING CONNECTION",
    "without a corresponding request",
    "transaction id",
    "connection lost",
    "Repeating....",
)
"""Substrings of pymodbus records that only restate a link loss or a late answer (both already
counted and reported by ``drivers.plc.driver``); ``Repeating....`` stands for a repeat of the
previous record."""


class HilHandler(logging.StreamHandler):  # type: ignore[type-arg]
    """The handler ``configure_logging`` installs (others, e.g. pytest's, are left alone)."""


class OneLine(logging.Formatter):
    """``level: message``, the message's first line only, no traceback."""

    def format(self, record: logging.LogRecord) -> str:
        message = record.getMessage().strip().splitlines()
        return f"{record.levelname.lower()}: {message[0] if message else ''}"


class FoldLinkLoss(logging.Filter):
    """Drops pymodbus records that restate a link loss (see ``LINK_LOSS_PHRASES``)."""

    def filter(self, record: logging.LogRecord) -> bool:
        if not record.name.startswith(PYMODBUS):
            return True
        text = record.getMessage()
        return not any(phrase in text for phrase in LINK_LOSS_PHRASES)


def configure_logging(verbosity: int) -> None:
    """Route every logger to stderr for ``hil`` run with ``verbosity`` × ``-v`` (0, 1, 2+)."""
    handler = HilHandler(sys.stderr)
    root = logging.getLogger()
    for old in list(root.handlers):
        if isinstance(old, HilHandler):  # main() called again in one process (tests)
            root.removeHandler(old)
    root.addHandler(handler)
    modbus = logging.getLogger(PYMODBUS)
    if verbosity <= 0:
        handler.setFormatter(OneLine())
        handler.addFilter(FoldLinkLoss())
        root.setLevel(logging.WARNING)
        modbus.setLevel(logging.WARNING)
    else:
        handler.setFormatter(
            logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s", "%H:%M:%S")
        )
        level = logging.INFO if verbosity == 1 else logging.DEBUG
        root.setLevel(level)
        modbus.setLevel(level)
    # pymodbus logs through ``pymodbus.logging``; it inherits the level set above
    logging.getLogger(PYMODBUS + ".logging").setLevel(logging.NOTSET)
