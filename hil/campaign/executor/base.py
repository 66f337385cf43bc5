"""What every executor of a campaign's runs is (``RunExecutor``), how ``--executor`` names one
(``ExecutorSpec``, ``parse_executor``) and how a run is lost (``RunLostError``). It names no
implementation: ``hil.campaign.executor.EXECUTORS`` does, as strings.

Every executor gives a run's record (``hil.campaign.results``) or raises ``RunLostError`` when the
worker running it died and it was not, or no longer, retried; ``stop()`` (from a signal handler)
cancels what has not started and ends running runs cleanly through their ``StopSwitch``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Literal, Protocol

from hil.campaign.execute import RunJob
from hil.errors import HilError

EXECUTOR_FORMS = (
    "pool, local-dask, local-dask:N (N ≥ 1 worker processes) or dask://HOST:PORT "
    "(a running Dask scheduler)"
)
_LOCAL_DASK = re.compile(r"local-dask(?::(?P<workers>\d+))?")
_DASK_ADDRESS = re.compile(r"dask://(?P<host>\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9._-]+):(?P<port>\d{1,5})")


class RunLostError(HilError):
    """The worker running a run died (killed, out of memory) and the run was not retried (the
    pool) or died on every retry (Dask): the message says which and why, in one line."""


class RunExecutor(Protocol):
    """Runs ``RunJob``s on workers (see the module doc)."""

    @property
    def slots(self) -> int:
        """How many runs go at once (for the progress display)."""
        ...

    async def run(self, job: RunJob) -> dict[str, Any]:
        """The run's record; ``RunLostError`` when its worker died; cancelled by ``stop()`` when it
        had not started."""
        ...

    def stop(self) -> None:
        """Cancel the runs not started, end the running ones cleanly (synchronous: called from
        a signal handler on the event loop)."""
        ...

    async def close(self) -> None:
        """Wait for every worker to be done and release them."""
        ...


@dataclass(frozen=True)
class ExecutorSpec:
    """``--executor``: ``kind`` pool | local-dask | dask; ``workers`` of a local-dask cluster
    (None: the CPU count); ``address`` of a scheduler (``tcp://HOST:PORT``)."""

    kind: Literal["pool", "local-dask", "dask"]
    workers: int | None = None
    address: str | None = None

    def __str__(self) -> str:
        if self.kind == "dask":
            assert self.address is not None
            return self.address.replace("tcp://", "dask://", 1)
        if self.kind == "local-dask" and self.workers is not None:
            return f"local-dask:{self.workers}"
        return self.kind


def parse_executor(text: str) -> ExecutorSpec:
    """``--executor TEXT``; ``ValueError`` with the allowed forms when it is none of them."""
    if text == "pool":
        return ExecutorSpec("pool")
    local = _LOCAL_DASK.fullmatch(text)
    if local is not None:
        workers = local["workers"]
        if workers is not None and int(workers) < 1:
            raise ValueError(
                f"{text!r}: a local Dask cluster needs ≥ 1 worker; use {EXECUTOR_FORMS}"
            )
        return ExecutorSpec("local-dask", None if workers is None else int(workers))
    remote = _DASK_ADDRESS.fullmatch(text)
    if remote is not None and 0 < int(remote["port"]) < 65536:
        return ExecutorSpec("dask", address=f"tcp://{remote['host']}:{int(remote['port'])}")
    raise ValueError(f"{text!r} is not an executor; use {EXECUTOR_FORMS}")
