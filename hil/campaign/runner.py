"""Every run of a campaign: ``emulate`` and ``bench`` runs one at a time in this process (they
own the devices and their timing is measured), then ``sim`` and ``replay`` runs on the workers of
a ``RunExecutor`` (``hil.campaign.executor``: the process pool or a Dask cluster).

Before the first ``bench`` run the rig preflight is made once (``hil.campaign.preflight``): a
red row it does not ignore turns every bench run into an ``error`` record saying why.

``stop()`` (SIGINT, SIGTERM or SIGHUP, installed by ``run_campaign``) ends the campaign cleanly: the
running emulate or bench run ends through its ``StopSwitch`` (launcher made safe, emulators
stopped, recording closed), a running preflight is cancelled; the executor cancels the runs not
started and ends the running ones the same way, and the runner waits for them. Finished runs are
kept; the rest are ``not_run``.
"""

from __future__ import annotations

import asyncio
import signal
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from drivers.cancelling import cancel_and_wait
from hil.campaign.execute import RunJob, execute, not_run
from hil.campaign.executor.base import RunExecutor, RunLostError
from hil.campaign.plan import PlannedCase
from hil.campaign.preflight import PreflightGate
from hil.loop.observers import CycleObserver
from hil.run.perform import StopSwitch


class Progress(Protocol):
    """What the runner reports as it goes (``hil.campaign.progress``)."""

    def run_started(self, case: str, seed: int) -> None: ...

    def run_finished(self, case: str, record: dict[str, Any]) -> None: ...

    def watchers(self, job: RunJob) -> Sequence[CycleObserver]:
        """Observers of ``job``'s cycles, for a run in this process (a live status line)."""
        ...


@dataclass
class CampaignRun:
    """The runs' records, by case name, in plan order; ``stopped_by``: the signal that
    interrupted the campaign (None: it ran to the end); ``preflight``: the rig preflight made
    before the first bench run (``hil.campaign.preflight``; never made without one)."""

    records: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    stopped_by: int | None = None
    preflight: PreflightGate = field(default_factory=PreflightGate)


class Runner:
    def __init__(
        self,
        planned: Sequence[PlannedCase],
        executor: RunExecutor,
        progress: Progress,
        preflight: PreflightGate | None = None,
    ) -> None:
        self.planned = planned
        self.executor = executor
        self.progress = progress
        self.outcome = CampaignRun(
            {p.case.name: [not_run(job) for job in p.jobs] for p in planned},
            preflight=preflight or PreflightGate(),
        )
        self._stop_current: StopSwitch | None = None
        self._preflight_check: asyncio.Task[str | None] | None = None
        self._parallel_started = False

    @property
    def stopping(self) -> bool:
        return self.outcome.stopped_by is not None

    def stop(self, signum: int) -> None:
        """End the campaign cleanly (see the module doc); a second signal changes nothing."""
        if self.stopping:
            return
        self.outcome.stopped_by = signum
        if self._stop_current is not None:
            self._stop_current.stop()
        if self._preflight_check is not None:  # the devices are left as found, then closed
            self._preflight_check.cancel()
        if self._parallel_started:
            self.executor.stop()

    async def run(self) -> CampaignRun:
        runs = [(p, i, job) for p in self.planned for i, job in enumerate(p.jobs)]
        serial = [run for run in runs if not run[0].case.parallel]
        parallel = [run for run in runs if run[0].case.parallel]
        for planned, index, job in serial:
            if self.stopping:
                break
            self.progress.run_started(job.case, job.seed)
            refusal = await self._preflight(planned, job)
            if self.outcome.stopped_by is not None:  # stopped during the preflight
                break
            if refusal is not None:
                self._keep(planned, index, not_run(job) | {"verdict": "error", "error": refusal})
                continue
            self._stop_current = StopSwitch()
            record = await execute(job, self._stop_current, self.progress.watchers(job))
            self._stop_current = None
            self._keep(planned, index, record)
        if parallel and not self.stopping:
            await self._run_parallel(parallel)
        return self.outcome

    async def _preflight(self, planned: PlannedCase, job: RunJob) -> str | None:
        """Why ``job`` must not run: a bench run after a red rig preflight (made before the
        first bench run, ``hil.campaign.preflight``); None otherwise."""
        if planned.case.mode != "bench" or job.settings is None:
            return None
        check = asyncio.create_task(
            self.outcome.preflight.before_bench(job.settings), name="rig preflight"
        )
        self._preflight_check = check
        try:
            await asyncio.wait({check})  # stop() cancels the check, not this runner
        finally:
            self._preflight_check = None
            check.cancel()
        return None if check.cancelled() else check.result()

    async def _run_parallel(self, runs: list[tuple[PlannedCase, int, RunJob]]) -> None:
        """``runs`` on the executor's workers, kept as they finish."""
        self._parallel_started = True
        waiting: dict[asyncio.Task[dict[str, Any]], tuple[PlannedCase, int, RunJob]] = {}
        for planned, index, job in runs:
            waiting[asyncio.create_task(self.executor.run(job))] = (planned, index, job)
        slots = max(1, min(self.executor.slots, len(runs)))
        for _, _, job in runs[:slots]:
            self.progress.run_started(job.case, job.seed)
        started = slots
        try:
            while waiting:
                done, _ = await asyncio.wait(waiting, return_when=asyncio.FIRST_COMPLETED)
                for finished in done:
                    planned, index, job = waiting.pop(finished)
                    if finished.cancelled():
                        continue
                    failure = finished.exception()
                    if failure is None:
                        self._keep(planned, index, finished.result())
                    elif not self.stopping:  # its worker died (killed, out of memory)
                        why = str(failure) if isinstance(failure, RunLostError) else repr(failure)
                        self._keep(
                            planned, index, not_run(job) | {"verdict": "error", "error": why}
                        )
                    if started < len(runs) and not self.stopping:
                        self.progress.run_started(runs[started][2].case, runs[started][2].seed)
                        started += 1
        finally:
            await cancel_and_wait(waiting)  # dask's client may await with 3.11's wait_for

    def _keep(self, planned: PlannedCase, index: int, record: dict[str, Any]) -> None:
        self.outcome.records[planned.case.name][index] = record
        self.progress.run_finished(planned.case.name, record)


async def run_campaign(
    planned: Sequence[PlannedCase],
    executor: RunExecutor,
    progress: Progress,
    preflight: PreflightGate | None = None,
) -> CampaignRun:
    """Every planned run, ``sim`` and ``replay`` ones on ``executor``; SIGINT, SIGTERM and
    SIGHUP (the operator's terminal closed) stopping the campaign cleanly; bench runs only
    after a rig ``preflight`` without a red row it does not ignore."""
    runner = Runner(planned, executor, progress, preflight)
    loop = asyncio.get_running_loop()
    signals = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)
    for signum in signals:
        loop.add_signal_handler(signum, runner.stop, signum)
    try:
        return await runner.run()
    finally:
        for signum in signals:
            loop.remove_signal_handler(signum)
