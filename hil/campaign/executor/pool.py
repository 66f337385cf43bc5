"""``--executor pool`` (the default): a campaign's runs on ``--jobs`` worker processes of this
machine (``spawn``: a worker starts clean, whatever the campaign's process holds)."""

from __future__ import annotations

import asyncio
import multiprocessing
import os
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from typing import Any

from hil.campaign.execute import RunJob, run_in_worker, worker_init
from hil.campaign.executor.base import ExecutorSpec, RunLostError


class PoolExecutor:
    """Up to ``jobs`` worker processes of this machine (``spawn``ed as runs need them; each ends
    its run cleanly on SIGTERM, ignores Ctrl-C and dies with the campaign: ``worker_init``)."""

    def __init__(self, jobs: int, verbosity: int) -> None:
        self.slots = jobs
        self._pool = ProcessPoolExecutor(
            jobs,
            multiprocessing.get_context("spawn"),
            initializer=worker_init,
            initargs=(verbosity, os.getpid()),
        )
        self._futures: list[Future[dict[str, Any]]] = []

    async def run(self, job: RunJob) -> dict[str, Any]:
        future = self._pool.submit(run_in_worker, job)
        self._futures.append(future)
        try:
            return await asyncio.wrap_future(future)
        except BrokenProcessPool as error:  # a worker died (killed, out of memory)
            raise RunLostError(f"the worker running this run died: {error!r}") from error

    def stop(self) -> None:
        for future in self._futures:
            future.cancel()
        for process in list(self._pool._processes.values()):
            if process.is_alive():
                process.terminate()

    async def close(self) -> None:
        await asyncio.to_thread(self._pool.shutdown, True, cancel_futures=True)


async def start(spec: ExecutorSpec, jobs: int, verbosity: int) -> PoolExecutor:
    """The pool of ``jobs`` processes (``spec`` is ``pool``: it has no other setting)."""
    return PoolExecutor(jobs, verbosity)
