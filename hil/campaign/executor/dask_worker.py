"""The worker's side of a campaign on Dask: what a Dask worker runs for one campaign run.

A run executes in one of the worker's task threads (``hil.campaign.execute.execute_now``: a
sim or replay run with no event loop, anything else in ``asyncio.run``; neither installs a
signal handler, which only the main thread could). It records into a temporary folder of the
worker's own (a worker on another machine cannot write to the campaign folder) and hands the
recording's bytes back with its record; the folder is removed before the task returns (that of
a worker killed mid-run, by the next run that starts on the machine). A replay
run gets the recording it plays the same way, as bytes.

``stop_campaign`` (sent to every worker with ``Client.run`` when the campaign is stopped) ends
that campaign's running runs cleanly through their ``StopSwitch`` and makes its runs not yet
started return at once as ``not_run``.

``dask_setup`` is the preload of a ``local-dask`` cluster's workers (``--preload
hil.campaign.executor.dask_worker`` for ``dask worker`` on a terminal): Ctrl-C and a closed terminal
reach every process of the foreground group, and the campaign, not the worker, decides what
they mean.
"""

from __future__ import annotations

import dataclasses
import logging
import os
import shutil
import signal
import tempfile
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from hil.campaign.execute import RunJob, execute_now, not_run
from hil.campaign.software import differences, identity
from hil.run.perform import StopSwitch


@dataclass(frozen=True)
class RunTask:
    """One run as sent to a worker: the job, its campaign's id (for ``stop_campaign``), the
    client's software (``hil.campaign.software.identity``) and, for a replay run, the bytes of
    the recording it plays."""

    job: RunJob
    campaign: str
    software: dict[str, str | None]
    replay_bytes: bytes | None = None


@dataclass(frozen=True)
class RunOutcome:
    """The run's record (paths as the client planned them) and its recording's bytes (None when
    the run left no recording)."""

    record: dict[str, Any]
    recording: bytes | None


TEMP_PREFIX = "hil-dask-run-"
"""A run's temporary folder on a worker: ``hil-dask-run-<worker pid>-<random>``."""

_lock = threading.Lock()
_running: dict[str, set[StopSwitch]] = {}
_stopped: set[str] = set()


def stop_campaign(campaign: str) -> int:
    """End ``campaign``'s runs on this worker (see the module doc); how many were running."""
    with _lock:
        _stopped.add(campaign)
        switches = list(_running.get(campaign, ()))
    for switch in switches:
        switch.stop()
    return len(switches)


def _register(campaign: str, switch: StopSwitch) -> bool:
    """Whether the run may start (its campaign is not stopped); its switch is then known to
    ``stop_campaign``."""
    with _lock:
        if campaign in _stopped:
            return False
        _running.setdefault(campaign, set()).add(switch)
        return True


def _unregister(campaign: str, switch: StopSwitch) -> None:
    with _lock:
        switches = _running.get(campaign, set())
        switches.discard(switch)
        if not switches:
            _running.pop(campaign, None)


def worker_software() -> dict[str, str | None]:
    """This worker's software (``Client.run`` asks every worker before a campaign)."""
    return identity()


def run_task(task: RunTask) -> RunOutcome:
    """The run of ``task.job`` on this worker (see the module doc); never raises for the run's
    own failures, which are its ``error`` record."""
    job = task.job
    mismatch = differences(task.software, identity())
    if mismatch:
        why = (
            "this Dask worker runs other software than the campaign's client: "
            f"{'; '.join(mismatch)} — install the client's commit on every worker"
        )
        return RunOutcome(not_run(job) | {"verdict": "error", "error": why}, None)
    switch = StopSwitch()
    if not _register(task.campaign, switch):
        return RunOutcome(not_run(job), None)
    _remove_orphans()
    try:
        with tempfile.TemporaryDirectory(prefix=f"{TEMP_PREFIX}{os.getpid()}-") as temp:
            local = _local_job(job, Path(temp), task.replay_bytes)
            record = execute_now(local, switch)
            data = local.recording.read_bytes() if local.recording.exists() else None
    finally:
        _unregister(task.campaign, switch)
    return RunOutcome(_planned_paths(record, local, job, data is not None), data)


def _remove_orphans() -> None:
    """Remove the temporary folders of runs whose worker was killed (SIGKILL, out of memory:
    nothing of the worker could clean up): the folder names its worker's process id."""
    for folder in Path(tempfile.gettempdir()).glob(f"{TEMP_PREFIX}*-*"):
        pid = folder.name.removeprefix(TEMP_PREFIX).split("-", 1)[0]
        if pid.isdigit() and not _alive(int(pid)):
            shutil.rmtree(folder, ignore_errors=True)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's process
        return True
    return True


def _local_job(job: RunJob, temp: Path, replay_bytes: bytes | None) -> RunJob:
    """``job`` recording into ``temp`` (and playing its replay source from there)."""
    replay_of = job.replay_of
    if replay_of is not None and replay_bytes is not None:
        replay_of = temp / "source" / replay_of.name
        replay_of.parent.mkdir()
        replay_of.write_bytes(replay_bytes)
    recording = temp / "recordings" / job.recording.name
    return dataclasses.replace(job, recording=recording, replay_of=replay_of)


def _planned_paths(
    record: dict[str, Any], local: RunJob, job: RunJob, recorded: bool
) -> dict[str, Any]:
    """The record as the pool would have written it: the planned recording and replay source
    instead of this worker's temporary files (an error message naming them included)."""
    planned = dict(record)
    planned["recording"] = str(job.recording) if recorded else None
    planned["replay_of"] = None if job.replay_of is None else str(job.replay_of)
    if isinstance(planned.get("error"), str):
        for here, there in ((local.recording, job.recording), (local.replay_of, job.replay_of)):
            if here is not None and there is not None:
                planned["error"] = planned["error"].replace(str(here), str(there))
    return planned


def quiet_shutdown() -> None:
    """A local cluster's worker about to be closed: Dask's own errors of the shutdown race (a
    heartbeat to a scheduler already gone) are not logged."""
    logging.getLogger("distributed").setLevel(logging.CRITICAL)


def dask_setup(worker: object) -> None:
    """Preload of a worker (see the module doc): SIGINT and SIGHUP ignored."""
    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        signal.signal(signal.SIGHUP, signal.SIG_IGN)
