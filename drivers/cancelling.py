"""Cancelling tasks so that they end, on Python 3.11 as well.

Python 3.11's ``asyncio.wait_for`` loses a cancel that lands in the same loop iteration as
the future it waits on completes (it returns the result; fixed in 3.12, where ``wait_for`` is
built on ``asyncio.timeout``). pymodbus awaits every connect and every Modbus answer with it,
and aiomqtt every publish, so a task cancelled once may go on running: a PLC driver's
supervisor whose cancel landed as its reconnect completed kept the link up and its
``close()`` never returned (``hil run`` hung at the end of a run whose PLC answered nothing).
``cancel_and_wait`` cancels again every ``RECANCEL_S`` until every task has ended.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable
from typing import Any

RECANCEL_S = 0.5
"""How long a cancelled task has to end before it is cancelled again (s)."""


async def cancel_and_wait(
    tasks: Iterable[asyncio.Future[Any]], recancel_s: float = RECANCEL_S
) -> None:
    """Cancel ``tasks`` and wait until every one has ended, cancelling again each
    ``recancel_s`` one still runs. Their results and exceptions are left in them; tasks
    already done are left as they are. A cancel of the caller ends the wait (the tasks have
    been cancelled at least once)."""
    pending = {task for task in tasks if not task.done()}
    while pending:
        for task in pending:
            task.cancel()
        _, pending = await asyncio.wait(pending, timeout=recancel_s)
