"""``hil``'s log routing: one line per record by default, pymodbus's link-loss noise folded
into the drivers' own lines, everything with ``-v``."""

from __future__ import annotations

import logging
from collections.abc import Iterator

import pytest

from hil.logs import HilHandler, configure_logging

PYMODBUS_TIMEOUT = (
    "No response received after 2 retries, continue with next request\n"
    ">>>>> send: 0x0 0x1 0x0 0x0 0x0 0x6 0x1 0x4\n>>>>> recv: 0x0 0x1"
)


@pytest.fixture
def restore_logging() -> Iterator[None]:
    root, modbus = logging.getLogger(), logging.getLogger("pymodbus")
    levels = root.level, modbus.level
    yield
    for handler in [h for h in root.handlers if isinstance(h, HilHandler)]:
        root.removeHandler(handler)
    root.setLevel(levels[0])
    modbus.setLevel(levels[1])


@pytest.mark.usefixtures("restore_logging")
def test_default_is_one_line_per_warning_and_no_pymodbus_noise(
    capsys: pytest.CaptureFixture[str],
) -> None:
    configure_logging(0)
    modbus = logging.getLogger("pymodbus.logging")
    modbus.error(PYMODBUS_TIMEOUT)
    modbus.warning("Failed to connect [Errno 111] Connection refused")
    modbus.info("Connection to Modbus server established")
    modbus.error("Invalid Modbus protocol id: 7\n>>>>> recv: 0x7")
    logging.getLogger("hil.loop.links").warning("PLC link lost at 2.1 s: link failed\nsecond")
    logging.getLogger("hil.loop.links").info("not shown")
    lines = capsys.readouterr().err.splitlines()
    assert lines == [
        "error: Invalid Modbus protocol id: 7",
        "warning: PLC link lost at 2.1 s: link failed",
    ]


@pytest.mark.usefixtures("restore_logging")
def test_verbose_shows_pymodbus(capsys: pytest.CaptureFixture[str]) -> None:
    configure_logging(2)
    logging.getLogger("pymodbus.logging").debug("send: 0x0 0x1")
    logging.getLogger("pymodbus.logging").error(PYMODBUS_TIMEOUT)
    logging.getLogger("hil.loop.links").info("run started")
    err = capsys.readouterr().err
    assert "send: 0x0 0x1" in err and ">>>>> send" in err and "run started" in err
