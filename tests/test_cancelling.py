"""Tasks end when cancelled, even one that loses a cancel: the tasks beside a run's loop, and a
driver's supervisor when the driver is closed.

On Python 3.11 ``asyncio.wait_for`` (pymodbus awaits every connect and Modbus answer with it)
loses a cancel that lands in the loop iteration in which the future it waits on completes (the
last test below makes it happen). The PLC status poll then went on polling, and ``hil campaign
run`` hung after a run whose PLC had stopped answering (one run in about 15 on a loaded machine;
test_run_end_safety's campaign test timed out so); a PLC driver's ``close()`` hung the same way.
``drivers.cancelling.cancel_and_wait`` cancels again until every task has ended; a driver's
``close()`` uses it for its supervisor.
"""

from __future__ import annotations

import asyncio
import sys

from drivers.cancelling import RECANCEL_S, cancel_and_wait
from drivers.lifecycle import SupervisedDriver


async def test_a_task_that_loses_a_cancel_is_cancelled_again() -> None:
    lost: list[int] = []

    async def loses_the_first_cancel() -> None:
        while True:
            try:
                await asyncio.sleep(3600)
            except asyncio.CancelledError:
                if not lost:  # as 3.11's wait_for does when its future completes as it
                    lost.append(1)
                    continue
                raise

    async def ends_at_once() -> None:
        await asyncio.sleep(3600)

    tasks = [asyncio.create_task(loses_the_first_cancel()), asyncio.create_task(ends_at_once())]
    await asyncio.sleep(0)
    async with asyncio.timeout(10 * RECANCEL_S):
        await cancel_and_wait(tasks)
    assert lost == [1]
    assert all(task.cancelled() for task in tasks)


async def test_tasks_already_done_are_left_as_they_are() -> None:
    async def done() -> None:
        return None

    task = asyncio.create_task(done())
    await task
    await cancel_and_wait([task])
    assert not task.cancelled() and task.result() is None


class ReconnectingDriver(SupervisedDriver):
    """A driver whose supervisor awaits each connect with ``asyncio.wait_for``, as pymodbus
    does; the test completes the connects."""

    def __init__(self) -> None:
        super().__init__("reconnecting")
        self.connecting = asyncio.Event()
        self.connect: asyncio.Future[None] | None = None
        self.connects = 0

    async def _supervise(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            self.connect = loop.create_future()
            self.connecting.set()
            await asyncio.wait_for(self.connect, timeout=3600)
            self.connects += 1
            self._up.set()


async def test_close_ends_a_supervisor_whose_cancel_a_wait_for_lost() -> None:
    """close() cancels the supervisor in the loop iteration its connect completes in: 3.11's
    wait_for returns the connection and loses the cancel (the supervisor went on holding the
    link, and close() waited for ever); close() cancels again, and returns."""
    driver = ReconnectingDriver()
    await driver.open()
    await driver.connecting.wait()
    assert driver.connect is not None
    supervisor = driver._supervisor
    assert supervisor is not None
    driver.connect.set_result(None)
    async with asyncio.timeout(10 * RECANCEL_S) as deadline:
        await driver.close()
    # the deadline's cancel would have ended it too (close() used to swallow that cancel)
    assert not deadline.expired()
    assert supervisor.done()
    assert driver.connects == (1 if sys.version_info < (3, 12) else 0)  # the cancel was lost
    assert not driver._up.is_set()
