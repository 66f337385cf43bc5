"""A campaign's ``sim`` and ``replay`` runs on a Dask cluster (``--executor local-dask[:N]`` or
``dask://HOST:PORT``; docs/scale-out.md).

The client runs on the campaign's event loop (``asynchronous=True``). Before anything runs it
connects (an unreachable scheduler is a ``ConfigError``: exit 2) and asks every worker which
software it runs: a worker whose hil version, commit, source, Python, numpy or scipy differs
from the client's is refused (it would not give the same digests); a worker that joins later is
checked by each run it takes (``hil.campaign.executor.dask_worker.run_task``).

Each run is one task (``pure=False``: a run is never taken from a cache). A task whose worker
dies is rescheduled on another worker by the scheduler, up to its
``distributed.scheduler.allowed-failures`` (Dask's default 3) deaths; then the run is an
``error`` record naming the cause (``RunLostError``). A run failing for its own reasons is its
``error`` record at once, never retried. Recordings come back as bytes and are written where
the plan put them (the campaign folder's ``recordings/``).
"""

from __future__ import annotations

import asyncio
import logging
import os
import uuid
from collections.abc import Awaitable
from contextlib import suppress
from pathlib import Path
from typing import Any

import dask
from distributed import Client, Future, LocalCluster
from distributed.scheduler import KilledWorker

from hil.campaign.execute import RunJob
from hil.campaign.executor.base import ExecutorSpec, RunLostError
from hil.campaign.executor.dask_worker import (
    RunOutcome,
    RunTask,
    quiet_shutdown,
    run_task,
    stop_campaign,
    worker_software,
)
from hil.campaign.software import differences, identity
from hil.errors import ConfigError

log = logging.getLogger(__name__)

WORKER_PRELOAD = "hil.campaign.executor.dask_worker"
_CONFIG = {
    # a replay run ships the recording it plays inside its task: no warning for a large one
    "distributed.admin.large-graph-warning-threshold": "4GiB",
    # a local cluster's scheduler sends a worker only the runs it can start (a run lasts
    # seconds: nothing to gain by queueing on a worker, and a worker that dies fails only
    # the runs it was running — each of them counts one death against allowed-failures)
    "distributed.scheduler.worker-saturation": 1.0,
    # A run is pure Python and numpy in the worker's task thread; every wake-up of the worker's
    # event loop thread takes the GIL from it. Dask's defaults (a 20 ms tick, a 100 ms memory
    # monitor, a 500 ms system monitor, a stack-sampling profiler every 10 ms) made a run 26 %
    # slower than in a pool worker (2.89 s against 2.29 s for 30 s of raid-100); with these,
    # 3 % slower. They only feed Dask's own diagnostics, which a campaign does not read.
    "distributed.worker.profile.enabled": False,
    "distributed.admin.tick.interval": "1s",
    "distributed.worker.memory.monitor-interval": "1s",
    "distributed.admin.system-monitor.interval": "2s",
}


class DaskExecutor:
    """Runs on the Dask cluster of ``spec`` (see the module doc); ``start`` makes one."""

    def __init__(self, spec: ExecutorSpec, client: Client, cluster: LocalCluster | None) -> None:
        self.spec = spec
        self.client = client
        self.cluster = cluster
        self.campaign = uuid.uuid4().hex
        self.software = identity()
        self.slots = 1
        self._stopping: asyncio.Task[Any] | None = None
        self._submitted = 0
        self._batch: list[tuple[RunTask, asyncio.Future[Future[RunOutcome]]]] = []

    @classmethod
    async def start(cls, spec: ExecutorSpec, verbosity: int = 0) -> DaskExecutor:
        """Connected (and for ``local-dask`` its cluster started), every worker checked; Dask's
        own log at the command's ``-v`` level (warnings only without ``-v``)."""
        levels = {0: logging.WARNING, 1: logging.INFO}
        logging.getLogger("distributed").setLevel(levels.get(verbosity, logging.DEBUG))
        cluster = None
        try:
            with dask.config.set(_CONFIG):
                if spec.kind == "local-dask":
                    cluster = await _local_cluster(spec.workers or os.cpu_count() or 1)
                    client = await Client(cluster, asynchronous=True, set_as_default=False)
                else:
                    client = await _connect(spec)
        except BaseException:
            if cluster is not None:
                await _closed(cluster.close())
            raise
        executor = cls(spec, client, cluster)
        try:
            await executor._check_workers()
        except BaseException:
            await executor.close()
            raise
        return executor

    async def _check_workers(self) -> None:
        """Refuse workers whose software differs from this client's (``ConfigError``)."""
        try:
            found: dict[str, Any] = await self.client.run(worker_software, on_error="return")
        except Exception as error:  # a worker could not even load the question
            raise ConfigError(
                [
                    f"--executor {self.spec}: a Dask worker cannot run hil "
                    f"({type(error).__name__}: {error}); install this commit on every worker "
                    "(docs/scale-out.md)"
                ]
            ) from error
        if not found:
            log.warning(
                "%s: no Dask worker is connected yet; the runs wait for one (dask worker %s)",
                self.spec,
                self.spec.address,
            )
        threads: dict[str, int] = await self.client.nthreads()
        self.slots = max(1, sum(threads.values()))
        wrong = {
            address: mismatch
            for address, theirs in sorted(found.items())
            if (mismatch := _differences(self.software, theirs))
        }
        if wrong:
            lines = [
                f"--executor {self.spec}: Dask worker {address} runs other software than this "
                f"client: {'; '.join(mismatch)}; install this commit there "
                "(docs/scale-out.md) or stop that worker"
                for address, mismatch in wrong.items()
            ]
            raise ConfigError(lines)

    async def run(self, job: RunJob) -> dict[str, Any]:
        replay_bytes = None
        if job.replay_of is not None and job.replay_of.is_file():
            replay_bytes = await asyncio.to_thread(job.replay_of.read_bytes)
        task = RunTask(job, self.campaign, self.software, replay_bytes)
        future = await self._submit(task)
        try:
            outcome: RunOutcome = await future
        except KilledWorker as error:
            died = error.allowed_failures + 1
            raise RunLostError(
                f"{died} Dask worker{'s' * (died > 1)} died running this run (the "
                f"scheduler's distributed.scheduler.allowed-failures = {error.allowed_failures}"
                f"); the last was {error.last_worker.address}: see its log"
            ) from error
        except (TimeoutError, OSError) as error:  # the scheduler went away
            raise RunLostError(f"the Dask scheduler {self.spec} was lost: {error}") from error
        if outcome.recording is not None:
            await asyncio.to_thread(_write, job.recording, outcome.recording)
        return outcome.record

    def _submit(self, task: RunTask) -> asyncio.Future[Future[RunOutcome]]:
        """The task's Dask future, submitted with every run asked for in the same turn of the
        event loop as one graph: the scheduler then sees the sweep as one group of root tasks,
        keeps it queued on its side and hands each worker a run as a thread frees (submitted
        one by one, the first runs would all be sent to the first worker at once)."""
        loop = asyncio.get_running_loop()
        waiter: asyncio.Future[Future[RunOutcome]] = loop.create_future()
        self._batch.append((task, waiter))
        if len(self._batch) == 1:
            loop.call_soon(self._flush)
        return waiter

    def _flush(self) -> None:
        batch, self._batch = self._batch, []
        first = self._submitted + 1
        self._submitted += len(batch)
        # one task group ("hil-run") for the whole sweep
        keys = [f"hil-run-{self.campaign[:8]}-{n}" for n in range(first, self._submitted + 1)]
        try:
            with dask.config.set(_CONFIG):
                futures = self.client.map(
                    run_task, [task for task, _ in batch], key=keys, pure=False, retries=0
                )
        except Exception as error:  # every waiting run must hear of it
            for _, waiter in batch:
                if not waiter.done():
                    waiter.set_exception(error)
            return
        for (_, waiter), future in zip(batch, futures, strict=True):
            if not waiter.done():
                waiter.set_result(future)

    def stop(self) -> None:
        if self._stopping is None:
            self._stopping = asyncio.get_running_loop().create_task(
                self.client.run(stop_campaign, self.campaign, on_error="ignore")
            )

    async def close(self) -> None:
        try:
            if self._stopping is not None:
                with suppress(OSError, TimeoutError):  # the scheduler is gone: nothing to stop
                    await self._stopping
            if self.cluster is not None:  # our workers' shutdown chatter is not the operator's
                with suppress(OSError, TimeoutError):
                    await self.client.run(quiet_shutdown, on_error="ignore")
        finally:
            await _closed(self.client.close())
            if self.cluster is not None:
                await _closed(self.cluster.close())


def _differences(mine: dict[str, str | None], theirs: Any) -> list[str]:
    """What differs in a worker's answer (``differences``); an exception it raised instead."""
    if isinstance(theirs, BaseException):
        return [f"it cannot run hil ({type(theirs).__name__}: {theirs})"]
    return differences(mine, theirs)


async def _local_cluster(workers: int) -> LocalCluster:
    """``workers`` processes of one thread each on loopback, no dashboard, their Ctrl-C ignored
    (``WORKER_PRELOAD``)."""
    return await LocalCluster(
        n_workers=workers,
        threads_per_worker=1,
        processes=True,
        host="127.0.0.1",
        dashboard_address="127.0.0.1:0",  # loopback, a free port: never another's 8787
        asynchronous=True,
        preload=[WORKER_PRELOAD],
    )


async def _connect(spec: ExecutorSpec) -> Client:
    """A client of the scheduler at ``spec.address``; ``ConfigError`` naming it and the fix
    when none answers within ``distributed.comm.timeouts.connect``."""
    timeout = dask.config.get("distributed.comm.timeouts.connect")
    try:
        client: Client = await Client(spec.address, asynchronous=True, set_as_default=False)
    except (TimeoutError, OSError) as error:
        port = str(spec.address).rsplit(":", 1)[-1]
        raise ConfigError(
            [
                f"--executor {spec}: no Dask scheduler answered at {spec.address} within "
                f"{timeout} (distributed.comm.timeouts.connect); start one there (dask scheduler "
                f"--port {port}, docs/scale-out.md), check the address and the firewall, or use "
                "--executor pool"
            ]
        ) from error
    return client


async def _closed(closing: Awaitable[None] | None) -> None:
    """Wait for an asynchronous Dask ``close()`` (typed as maybe returning nothing)."""
    if closing is not None:
        await closing


def _write(path: Path, data: bytes) -> None:
    """``data`` as ``path``, whole or not at all (a temporary file renamed)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(path.name + ".partial")
    partial.write_bytes(data)
    partial.replace(path)


async def start(spec: ExecutorSpec, jobs: int, verbosity: int) -> DaskExecutor:
    """``DaskExecutor.start`` (``jobs`` is the pool's: a Dask cluster has its own workers)."""
    return await DaskExecutor.start(spec, verbosity)
