"""The PLC tools' link: a URL checked, the driver opened and up, or one line saying why not."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator

from drivers.errors import DriverTimeoutError
from drivers.plc.driver import PlcDriver, PlcEndpoint
from drivers.plc.transaction import TransactionTap
from hil.errors import ConfigError, HilError

HEARTBEAT_HZ = 10.0
"""The heartbeat a tool keeps when it keeps one: the driver's, twice the ICD's 5 Hz minimum."""


def endpoint(url: str) -> PlcEndpoint:
    """The PLC's endpoint; a URL that can never be one is a usage error (exit 2)."""
    try:
        return PlcEndpoint.parse(url)
    except ValueError as error:
        raise ConfigError([str(error)]) from None


@contextlib.asynccontextmanager
async def open_plc(
    url: str,
    connect_timeout_s: float,
    *,
    heartbeat: bool = False,
    on_transaction: TransactionTap | None = None,
) -> AsyncIterator[PlcDriver]:
    """The PLC at ``url``, connected. Without ``heartbeat`` the driver only reads and writes
    what it is asked (the PLC's watchdog is not fed). ``HilError`` (exit 1) naming the URL if
    the link is not up within ``connect_timeout_s``."""
    where = endpoint(url)
    driver = PlcDriver(
        where,
        heartbeat_hz=HEARTBEAT_HZ if heartbeat else None,
        on_transaction=on_transaction,
    )
    async with driver:
        try:
            await driver.wait_up(connect_timeout_s)
        except DriverTimeoutError as error:
            reason = driver.health().last_error or "no answer"
            hint = (
                "check the PLC's address and that it (or `hil stub plc --tcp`) serves there"
                if where.transport == "tcp"
                else "check the serial port, its cable and that nothing else holds it"
            )
            raise HilError(
                f"PLC {where}: not connected after {connect_timeout_s:g} s ({reason}); {hint}"
            ) from error
        yield driver
