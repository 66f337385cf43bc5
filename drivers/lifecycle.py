"""The lifecycle every device driver shares: explicit states and one supervisor task.

    CLOSED --open()--> OPEN --close()--> CLOSED        close() is safe twice

``open()`` starts the subclass's ``_supervise()`` coroutine (which connects, keeps the link and
reconnects until cancelled) and returns at once; ``wait_up()`` waits for the subclass to set
``_up``; ``close()`` cancels the supervisor (again while it runs: ``drivers.cancelling``), waits
for it, then calls ``_after_close()``. Tasks the supervisor starts end by themselves once the
driver is CLOSED, in case their own cancel was lost.
Calling a request method while CLOSED raises ``LifecycleError`` (``_require_open``).
"""

from __future__ import annotations

import asyncio
import enum
from typing import Self

from drivers.cancelling import cancel_and_wait
from drivers.errors import DriverTimeoutError, LifecycleError


class Lifecycle(enum.Enum):
    CLOSED = "closed"
    OPEN = "open"


class SupervisedDriver:
    """Base of the radar and PLC drivers. ``name`` prefixes every message (e.g. the URL)."""

    def __init__(self, name: str) -> None:
        self.name = name
        self._lifecycle = Lifecycle.CLOSED
        self._supervisor: asyncio.Task[None] | None = None
        self._up = asyncio.Event()
        self._last_error: str | None = None

    async def __aenter__(self) -> Self:
        await self.open()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    @property
    def lifecycle(self) -> Lifecycle:
        return self._lifecycle

    async def open(self) -> None:
        """Start the supervisor; returns at once (see ``wait_up``)."""
        if self._lifecycle is not Lifecycle.CLOSED:
            raise LifecycleError(f"{self.name}: open() while {self._lifecycle.value}")
        self._lifecycle = Lifecycle.OPEN
        self._supervisor = asyncio.create_task(self._supervise(), name=self.name)

    async def close(self) -> None:
        """Stop reconnecting and close the link. Safe to call twice."""
        if self._lifecycle is Lifecycle.CLOSED:
            return
        self._lifecycle = Lifecycle.CLOSED
        supervisor, self._supervisor = self._supervisor, None
        if supervisor is not None:
            # cancelled again while it runs: a cancel lost in a library's wait_for (3.11)
            # would otherwise leave it reconnecting, and this close waiting, for ever
            await cancel_and_wait([supervisor])
            crash = None if supervisor.cancelled() else supervisor.exception()
            if crash is not None:
                raise crash
        self._up.clear()
        self._after_close()

    async def wait_up(self, timeout_s: float) -> None:
        """Wait until the link is connected; ``DriverTimeoutError`` after ``timeout_s``."""
        self._require_open()
        try:
            async with asyncio.timeout(timeout_s):
                await self._up.wait()
        except TimeoutError as error:
            raise DriverTimeoutError(
                f"{self.name}: not connected after {timeout_s} s"
                + (f" ({self._last_error})" if self._last_error else "")
            ) from error

    def _require_open(self) -> None:
        if self._lifecycle is not Lifecycle.OPEN:
            raise LifecycleError(f"{self.name}: driver is {self._lifecycle.value}")

    async def _supervise(self) -> None:
        raise NotImplementedError

    def _after_close(self) -> None:
        """Called once the supervisor has stopped (fail pending requests, reset state)."""
