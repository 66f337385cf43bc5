"""The tasks beside a run's loop end when the run ends, even one that loses a cancel.

On Python 3.11 ``asyncio.wait_for`` (pymodbus awaits every Modbus answer with it) loses a cancel
that lands as its own timeout fires; the PLC status poll then took the cancel for one more
unanswered read and polled on, and ``hil campaign run`` hung after a run whose PLC had stopped
answering (one run in about 15 on a loaded machine; test_run_end_safety's campaign test timed
out so). ``hil.run.perform.cancel_all`` cancels again until every task has ended.
"""

from __future__ import annotations

import asyncio

from hil.run.perform import RECANCEL_S, cancel_all


async def test_a_task_that_loses_a_cancel_is_cancelled_again() -> None:
    lost: list[int] = []

    async def loses_the_first_cancel() -> None:
        while True:
            try:
                await asyncio.sleep(3600)
            except asyncio.CancelledError:
                if not lost:  # as wait_for does on 3.11 when its timeout fires at the same time
                    lost.append(1)
                    continue
                raise

    async def ends_at_once() -> None:
        await asyncio.sleep(3600)

    tasks = [asyncio.create_task(loses_the_first_cancel()), asyncio.create_task(ends_at_once())]
    await asyncio.sleep(0)
    async with asyncio.timeout(10 * RECANCEL_S):
        await cancel_all(tasks)
    assert lost == [1]
    assert all(task.cancelled() for task in tasks)


async def test_tasks_already_done_are_left_as_they_are() -> None:
    async def done() -> None:
        return None

    task = asyncio.create_task(done())
    await task
    await cancel_all([task])
    assert not task.cancelled() and task.result() is None
