"""One run of a campaign case: performed, recorded, measured and judged.

``execute`` runs in the caller's event loop (``emulate`` and ``bench`` runs, in the main
process, one at a time); ``execute_now`` is the same with no event loop at all for a run that
needs none (``hil.run.perform.runs_direct``: sim, replay — the sweeps), falling back to one of
its own otherwise; ``run_in_worker`` calls it in a worker process of the runner's pool (``sim``
and ``replay`` runs), ``hil.campaign.executor.dask_worker`` on a Dask worker. A worker ignores
SIGINT (the runner decides what Ctrl-C means) and ends its current run cleanly on SIGTERM, which
is how the runner stops it. Either way the outcome is a ``results.json`` run record
(``hil.campaign.results``) with the recording's absolute path; a run that could not be performed
is an ``error`` record with one line saying why, never an exception.
"""

from __future__ import annotations

import asyncio
import math
import os
import signal
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from types import FrameType
from typing import Any

from firmware_stubs.lifeline import die_with_parent
from hil.campaign.criteria import Criterion, judge_run
from hil.campaign.measurements import RecordingFacts, measure, recording_facts
from hil.errors import HilError, RecordingError
from hil.loop.observers import CycleObserver
from hil.recording.reader import Recording
from hil.recording.run_layout import read_recorded_run
from hil.recording.writer import RecordingStats
from hil.rig.base import ReplayOptions, RunSettings
from hil.run.perform import RunResult, StopSwitch, runs_direct
from hil.run.recorded import open_run_recording, perform_recorded, perform_recorded_now


@dataclass(frozen=True)
class RunJob:
    """What one run needs, picklable for a worker: the settings (None for a replay: they are
    read from ``replay_of``), where its recording goes, its per-run criteria and notes the
    campaign adds (a bench case not armed for want of ``--arm``)."""

    case: str
    seed: int
    settings: RunSettings | None
    recording: Path
    criteria: tuple[Criterion, ...]
    replay_of: Path | None = None
    replay_duration_s: float = math.inf
    notes: tuple[str, ...] = ()


def not_run(job: RunJob, reason: str = "") -> dict[str, Any]:
    """The record of a run that did not happen (the campaign was stopped first). A replay
    run's seed is the one recorded in its recording, None until that is read (``job.seed`` is
    only its place in the case's folder)."""
    return {
        "seed": None if job.replay_of is not None else job.seed,
        "verdict": "not_run",
        "wall_s": 0.0,
        "recording": None,
        "error": reason or None,
        "emulated": False,
        "stopped_early": False,
        "notes": list(job.notes),
        "measurements": {},
        "criteria": [],
        "summary": None,
        "replay_of": None if job.replay_of is None else str(job.replay_of),
    }


def replay_settings(path: Path, duration_s: float) -> RunSettings:
    """A recording's run again, as ``hil replay FILE`` plays it (as fast as possible, the
    recorded launcher and raw frames where recorded; ``duration_s`` of it)."""
    with Recording(path) as recording:
        recorded = read_recorded_run(recording)
    rig = recorded.rig
    replay_rig = rig.model_copy(update={"rig": rig.rig.model_copy(update={"mode": "replay"})})
    to_s = None if math.isinf(duration_s) else duration_s
    return RunSettings(
        replay_rig,
        recorded.scenario,
        path,
        math.inf,
        recorded.seed,
        recorded.armed,
        (),
        ReplayOptions(path, None, None, to_s),
    )


async def execute(
    job: RunJob, stop: StopSwitch, watchers: Sequence[CycleObserver] = ()
) -> dict[str, Any]:
    """The run of ``job`` (ended early by ``stop``; ``watchers`` observe its cycles, e.g. the
    campaign's live status line), as a run record."""
    started = time.perf_counter()
    record = not_run(job)
    try:
        settings = _settings(job, record)
        recording = open_run_recording(job.recording, settings)
        performed = await perform_recorded(settings, recording, stop, watchers)
    except Exception as error:
        return _failed(job, record, error, started)
    return _judged(job, record, performed, started)


def execute_now(
    job: RunJob, stop: StopSwitch, watchers: Sequence[CycleObserver] = ()
) -> dict[str, Any]:
    """``execute`` with no event loop when the run needs none (``runs_direct``), else in an
    event loop of its own (``asyncio.run``: no event loop may be running in this thread)."""
    started = time.perf_counter()
    record = not_run(job)
    try:
        settings = _settings(job, record)
        if not runs_direct(settings):
            return asyncio.run(execute(job, stop, watchers))
        recording = open_run_recording(job.recording, settings)
        performed = perform_recorded_now(settings, recording, stop, watchers)
    except Exception as error:
        return _failed(job, record, error, started)
    return _judged(job, record, performed, started)


def _settings(job: RunJob, record: dict[str, Any]) -> RunSettings:
    """The run's settings (a replay's read from its recording), its seed put in ``record``."""
    settings = job.settings
    if settings is None:
        assert job.replay_of is not None
        settings = replay_settings(job.replay_of, job.replay_duration_s)
    record["seed"] = settings.seed if job.replay_of is not None else job.seed
    return settings


def _failed(
    job: RunJob, record: dict[str, Any], error: Exception, started: float
) -> dict[str, Any]:
    """The record of a run that could not be performed: ``error``, one line (a bug must not
    end the campaign: the run is an error)."""
    if isinstance(error, HilError):
        record |= {"verdict": "error", "error": str(error).splitlines()[0]}
    else:
        record |= {"verdict": "error", "error": f"{type(error).__name__}: {error}"}
    return _timed(job, record, started)


def _timed(job: RunJob, record: dict[str, Any], started: float) -> dict[str, Any]:
    record["wall_s"] = round(time.perf_counter() - started, 3)
    if job.recording.exists():
        record["recording"] = str(job.recording)
    return record


def _judged(
    job: RunJob,
    record: dict[str, Any],
    performed: tuple[RunResult, dict[str, Any], RecordingStats],
    started: float,
) -> dict[str, Any]:
    """The record of a performed run: measured from its summary and recording, judged."""
    result, summary, stats = performed
    _timed(job, record, started)
    try:
        facts = recording_facts(
            job.recording, summary.get("final_launch_count"), summary.get("initial_launch_count")
        )
    except RecordingError:  # the measurements that need it are None, with the reason
        facts = RecordingFacts()
    measurements = measure(summary, facts)
    record |= {
        "emulated": bool(result.emulated_devices),
        "stopped_early": result.loop.stopped_early,
        "notes": [*job.notes, *summary["notes"]],
        "measurements": measurements,
        "summary": summary,
    }
    if result.loop.stopped_early:
        record["verdict"] = "not_run"
        record["error"] = "stopped early: the campaign was interrupted"
        return record
    record["criteria"] = judge_run(job.criteria, measurements)
    verdicts = {row["verdict"] for row in record["criteria"]}
    record["verdict"] = "fail" if "fail" in verdicts else "error" if "error" in verdicts else "pass"
    judges_final_state = any(c.measurement in FINAL_STATE_MEASUREMENTS for c in job.criteria)
    commanded_a_rig = job.replay_of is None  # a replay's recorded launcher commands nothing
    if commanded_a_rig and not summary["rig_safe_confirmed"] and not judges_final_state:
        # a safe end is every run's criterion unless the case judges the final state itself
        record["verdict"] = "error"
        record["error"] = (
            "the launcher was not confirmed SAFE at the end of the run (final state "
            f"{summary['rig_final_state']}): check the PLC before approaching the launcher"
        )
    if stats.error is not None:
        return lose_recording(record, f"{RECORDING_FAILED}: {stats.error}", keep=True)
    if not job.recording.exists():
        return lose_recording(record, recording_gone(job.recording))
    if stats.messages_dropped:
        record["notes"].append(
            f"recording incomplete: {stats.messages_dropped} messages dropped (the disk could "
            "not keep up)"
        )
    return record


RECORDING_LOST = "recording lost"
RECORDING_FAILED = "recording failed"


def recording_gone(path: Path) -> str:
    return (
        f"{RECORDING_LOST}: {path} no longer exists (deleted or moved while the campaign ran); "
        "the run cannot be replayed"
    )


def lose_recording(record: dict[str, Any], why: str, keep: bool = False) -> dict[str, Any]:
    """``record`` of a run whose recording is lost or broken (``why``, one line): a note, and
    the run is an ``error`` unless a criterion failed (its measurements and criteria are kept:
    they were measured) — a run that cannot be replayed does not pass silently. ``keep``: the
    file is still listed (a recording that failed mid-run holds what was written before)."""
    record["notes"] = [*record["notes"], why]
    if not keep:
        record["recording"] = None
    if record["verdict"] in ("pass", "error"):
        record["verdict"] = "error"
        record["error"] = record["error"] or why
    return record


FINAL_STATE_MEASUREMENTS = frozenset({"rig_final_state", "rig_final_arm_state"})
"""A case with a criterion on one of these judges the run's end itself (e.g. a case that
expects ``unknown`` after killing the PLC); every other run that ends not confirmed SAFE is an
error."""


_current: StopSwitch | None = None
_stopping = False
_campaign_pid: int | None = None


def worker_init(verbosity: int, campaign_pid: int) -> None:
    """A pool worker's set-up: the command's log level; Ctrl-C and a closed terminal ignored
    (the runner stops workers with SIGTERM, which ends the current run cleanly and skips the
    rest); and SIGTERM from the kernel when ``campaign_pid``, the campaign process, dies — a
    ``kill -9``'d campaign leaves no worker running on."""
    # imported here: hil.cli imports the campaign command, which imports this module
    from hil.logs import configure_logging

    configure_logging(verbosity)
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGHUP, signal.SIG_IGN)
    global _campaign_pid
    _campaign_pid = campaign_pid
    signal.signal(signal.SIGTERM, _on_terminate)
    die_with_parent(campaign_pid)


def _orphaned() -> bool:
    """The campaign process that started this worker is gone (the worker was re-parented)."""
    return _campaign_pid is not None and os.getppid() != _campaign_pid


def _on_terminate(signum: int, frame: FrameType | None) -> None:
    """SIGTERM: from the runner (stop the current run, skip the rest) or from the kernel when
    the campaign died. An orphan has nobody to hand a result to and would wait for its next
    job forever (its job queue's pipe has both ends in this process, so it never reads end of
    file): it leaves now when idle, or as soon as its current run has ended cleanly."""
    global _stopping
    _stopping = True
    if _current is not None:
        _current.stop()
    elif _orphaned():
        raise SystemExit(128 + signum)  # out of the wait for the next job


def run_in_worker(job: RunJob) -> dict[str, Any]:
    """``execute`` in a pool worker (see ``worker_init``)."""
    global _current
    stop = StopSwitch()
    _current = stop
    try:
        if _stopping:
            return not_run(job)
        return execute_now(job, stop)
    finally:
        _current = None
        if _stopping and _orphaned():
            # the run ended cleanly (launcher safe, recording closed); the pool would catch
            # SystemExit here and wait for a next job that never comes
            os._exit(128 + signal.SIGTERM)
