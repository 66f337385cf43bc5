"""One run recorded: its recording opened with what it declares (channels, metadata — settings
a replay rebuilds the run from — and the rig and scenario attachments; the layout is
``hil.recording.run_layout``), the run performed with the recorder observing it, and the
recording finished with the run's result and closed, also when the run fails or is stopped by a
signal (``perform_recorded_run``). A run that needs no event loop (``hil.run.perform.runs_direct``:
sim, a replay as fast as possible) is performed without one: ``perform_recorded_now``, and
``run_recorded`` — what ``hil run`` and ``hil replay`` call — chooses.
"""

from __future__ import annotations

import asyncio
import json
import math
import signal
import threading
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from types import FrameType
from typing import Any

from hil.config.rig import RigConfig
from hil.config.scenario import ScenarioConfig
from hil.loop.core_version import CORE_VERSION
from hil.loop.observers import CycleObserver
from hil.recording.channels import (
    RUN_METADATA,
    Attachment,
    config_attachment,
    run_metadata,
)
from hil.recording.run_layout import RIG_ATTACHMENT, SCENARIO_ATTACHMENT, run_channels
from hil.recording.writer import Recorder, RecordingStats
from hil.rig.base import RunSettings
from hil.run.perform import RunResult, StopSwitch, perform_run, perform_run_now, runs_direct
from hil.run.recorder import RunRecorder
from hil.run.summary import summarize


def loop_epoch_offset_s(mode: str) -> float:
    """Seconds to add to the loop clock for Unix time: the loop clock is simulated time from 0
    in ``sim`` (the recording is dated by its start) and host monotonic time otherwise."""
    if mode == "sim":
        return time.time()
    return time.time() - time.monotonic()


def open_run_recording(
    path: Path, settings: RunSettings, core_version: int | None = CORE_VERSION
) -> RunRecorder:
    """A ``RunRecorder`` writing ``path`` for the run of ``settings`` (an existing file is
    refused: ``RecordingError``). ``core_version``: the loop arithmetic its metadata names —
    always this software's, but for tests of what another version's recording does (None:
    none named, as before the field existed)."""
    rig, scenario = settings.rig, settings.scenario
    offset = loop_epoch_offset_s(rig.rig.mode)
    metadata = run_metadata(
        rig=rig.rig.name, mode=rig.rig.mode, scenario=scenario.scenario.name, seed=settings.seed
    )
    metadata |= {
        "duration_s": repr(settings.duration_s),
        "armed": "true" if settings.armed else "false",
        "loop_epoch_offset_s": repr(offset),
        "scenario_file": str(settings.scenario_file),
        "rig_overrides": json.dumps(list(settings.rig_overrides)),
    }
    if core_version is not None:
        metadata["core_version"] = str(core_version)
    attachments = [
        Attachment(RIG_ATTACHMENT, "application/json", _config_json(rig)),
        Attachment(SCENARIO_ATTACHMENT, "application/json", _config_json(scenario)),
    ]
    if settings.scenario_file.is_file():
        attachments.append(config_attachment(settings.scenario_file))
    path.parent.mkdir(parents=True, exist_ok=True)
    recorder = Recorder(
        path, run_channels(), metadata={RUN_METADATA: metadata}, attachments=attachments
    )
    return RunRecorder(
        recorder,
        epoch_offset_s=offset,
        radar_position_enu_m=rig.radar.position_enu_m,
        north_alignment_rad=math.radians(rig.radar.north_alignment_deg),
        launcher_position_enu_m=rig.launcher.position_enu_m,
    )


def _config_json(config: RigConfig | ScenarioConfig) -> bytes:
    """A config as JSON that validates back to the same model, as its TOML file does (lists for
    tuples; a target's "never" as JSON's Infinity, which Python's json reads back)."""
    return json.dumps(config.model_dump(mode="python"), default=str, allow_nan=True).encode()


async def perform_recorded(
    settings: RunSettings,
    recording: RunRecorder,
    stop: StopSwitch,
    watchers: Sequence[CycleObserver] = (),
) -> tuple[RunResult, dict[str, Any], RecordingStats]:
    """The run with ``recording`` observing every cycle (beside ``watchers``) and tapping its
    drivers, then the recording finished with the run's result and closed — closed also when
    the run fails. Returns the result, its summary (``hil.run.summary.summarize``) and what
    the recorder wrote."""
    try:
        result = await perform_run(
            settings, lambda rig: [*watchers, recording], stop, recording.taps()
        )
        summary = summarize(result)
        loop = result.loop
        recording.finish(loop.start_s, loop.duration_s, loop.stopped_early, loop.digest, summary)
    finally:
        stats = await asyncio.to_thread(recording.recorder.close)
    return result, summary, stats


def perform_recorded_now(
    settings: RunSettings,
    recording: RunRecorder,
    stop: StopSwitch,
    watchers: Sequence[CycleObserver] = (),
) -> tuple[RunResult, dict[str, Any], RecordingStats]:
    """``perform_recorded`` with no event loop (``perform_run_now``: a run that needs none)."""
    try:
        result = perform_run_now(settings, lambda rig: [*watchers, recording], stop)
        summary = summarize(result)
        loop = result.loop
        recording.finish(loop.start_s, loop.duration_s, loop.stopped_early, loop.digest, summary)
    finally:
        stats = recording.recorder.close()
    return result, summary, stats


def config_data(config: RigConfig | ScenarioConfig) -> dict[str, Any]:
    """A config as the plain data its TOML file would parse to (what ``--set`` overrides edit)."""
    data: dict[str, Any] = json.loads(_config_json(config))
    return data


STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)
"""What ends a run cleanly from outside: Ctrl-C, ``kill``, the operator's terminal closed."""


def run_recorded(
    settings: RunSettings,
    recording: RunRecorder | None,
    watchers: Sequence[CycleObserver] = (),
) -> tuple[RunResult, RecordingStats | None]:
    """``perform_recorded_run`` for a command (the main thread, no event loop running): with
    no event loop at all when the run needs none (``runs_direct``), else in one. Either way
    SIGINT, SIGTERM and SIGHUP end the run cleanly (launcher safe, recording closed) — when
    called in the main thread, the only one signals reach."""
    if not runs_direct(settings):
        return asyncio.run(perform_recorded_run(settings, recording, watchers))
    stop = StopSwitch()
    handler = _stop_handler(stop)
    main = threading.current_thread() is threading.main_thread()  # only it can take signals
    previous = {signum: signal.signal(signum, handler) for signum in STOP_SIGNALS if main}
    try:
        if recording is None:
            return perform_run_now(settings, lambda rig: watchers, stop), None
        result, _, stats = perform_recorded_now(settings, recording, stop, watchers)
        return result, stats
    finally:
        for signum, before in previous.items():
            signal.signal(signum, before)


def _stop_handler(stop: StopSwitch) -> Callable[[int, FrameType | None], None]:
    def handler(signum: int, frame: FrameType | None) -> None:
        stop.stop()

    return handler


async def perform_recorded_run(
    settings: RunSettings,
    recording: RunRecorder | None,
    watchers: Sequence[CycleObserver] = (),
) -> tuple[RunResult, RecordingStats | None]:
    """The run (or replay) with SIGINT, SIGTERM and SIGHUP (the operator's terminal closed)
    ending it cleanly: the launcher made safe, the emulators stopped, the recording finished
    and closed, and the summary printed (``stopped_early`` in it). ``watchers`` observe every
    cycle beside the recorder."""
    stop = StopSwitch()
    loop = asyncio.get_running_loop()
    signals = STOP_SIGNALS
    for signum in signals:
        loop.add_signal_handler(signum, stop.stop)
    try:
        if recording is None:
            return await perform_run(settings, lambda rig: watchers, stop), None
        result, _, stats = await perform_recorded(settings, recording, stop, watchers)
        return result, stats
    finally:
        for signum in signals:
            loop.remove_signal_handler(signum)
