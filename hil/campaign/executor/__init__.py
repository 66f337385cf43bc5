"""Where a campaign's ``sim`` and ``replay`` runs go: the seam between the runner and a pool of
workers, chosen with ``hil campaign run --executor``.

- ``pool`` (default): ``--jobs`` worker processes of this machine (``spawn``: a worker starts
  clean, whatever this process holds; ``hil.campaign.executor.pool``).
- ``local-dask[:N]``: a Dask ``LocalCluster`` of N worker processes (default: the CPU count),
  one thread each, started here and closed at the end;
- ``dask://HOST:PORT``: the Dask scheduler running there and its workers
  (``hil.campaign.executor.dask``, its worker side ``dask_worker``; docs/scale-out.md).

``EXECUTORS`` names each implementation as ``module:function`` (an async ``start(spec, jobs,
verbosity)``), imported only when chosen: Dask is loaded only by the campaigns that use it.
What every executor is: ``hil.campaign.executor.base``.
"""

from __future__ import annotations

import importlib
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import cast

from hil.campaign.executor.base import ExecutorSpec, RunExecutor

EXECUTORS: dict[str, str] = {
    "pool": "hil.campaign.executor.pool:start",
    "local-dask": "hil.campaign.executor.dask:start",
    "dask": "hil.campaign.executor.dask:start",
}
"""Each ``ExecutorSpec.kind``'s starter, as ``module:function``."""

ExecutorStart = Callable[[ExecutorSpec, int, int], Awaitable[RunExecutor]]


@asynccontextmanager
async def open_executor(
    spec: ExecutorSpec, jobs: int, verbosity: int
) -> AsyncIterator[RunExecutor]:
    """The executor ``spec`` names, ready (a Dask scheduler connected, its workers checked:
    ``ConfigError`` when it cannot be used), closed on leaving. ``jobs``: the pool's size."""
    module_name, function = EXECUTORS[spec.kind].split(":")
    start = cast(ExecutorStart, getattr(importlib.import_module(module_name), function))
    executor = await start(spec, jobs, verbosity)
    try:
        yield executor
    finally:
        await executor.close()
