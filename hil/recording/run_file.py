"""Opening one run's recording (what it declares: channels, metadata, attachments) and reading
back what a replay needs to rebuild the run: its effective rig and scenario, seed and settings.

Metadata record ``hil.run`` (``channels.run_metadata``) plus, for replay: ``duration_s``,
``armed``, ``loop_epoch_offset_s`` (log time = loop time + offset), ``rig_file``,
``scenario_file``, ``rig_overrides`` (JSON list). Attachments: the rig and scenario files as
given, and ``rig.effective.json`` / ``scenario.effective.json`` — the configs exactly as the run
used them (environment and ``--set`` applied), which is what replay rebuilds the core from.
"""

from __future__ import annotations

import asyncio
import json
import math
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from hil.config.rig import RigConfig
from hil.config.scenario import ScenarioConfig
from hil.errors import RecordingError
from hil.loop.observers import CycleObserver
from hil.recording.channels import (
    RUN_METADATA,
    Attachment,
    config_attachment,
    run_metadata,
)
from hil.recording.reader import Recording
from hil.recording.run_recorder import TOPIC_RESULT, RunRecorder, run_channels
from hil.recording.writer import Recorder, RecordingStats
from hil.run import RunResult, RunSettings, StopSwitch, perform_run
from hil.run_summary import summarize

RIG_ATTACHMENT = "rig.effective.json"
SCENARIO_ATTACHMENT = "scenario.effective.json"


def loop_epoch_offset_s(mode: str) -> float:
    """Seconds to add to the loop clock for Unix time: the loop clock is simulated time from 0
    in ``sim`` (the recording is dated by its start) and host monotonic time otherwise."""
    if mode == "sim":
        return time.time()
    return time.time() - time.monotonic()


def open_run_recording(path: Path, settings: RunSettings) -> RunRecorder:
    """A ``RunRecorder`` writing ``path`` for the run of ``settings`` (an existing file is
    refused: ``RecordingError``)."""
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
    the run fails. Returns the result, its summary (``hil.run_summary.summarize``) and what
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


def config_data(config: RigConfig | ScenarioConfig) -> dict[str, Any]:
    """A config as the plain data its TOML file would parse to (what ``--set`` overrides edit)."""
    data: dict[str, Any] = json.loads(_config_json(config))
    return data


def recorded_result(recording: Recording) -> dict[str, Any] | None:
    """The run's ``/hil/run/result`` message (start, digest, scores), None if the run did not
    end cleanly."""
    result = None
    for message in recording.messages({TOPIC_RESULT}, allow_truncated=True):
        result = json.loads(message.payload)
    return result


@dataclass(frozen=True)
class RecordedRun:
    """What a replay needs from a run's recording."""

    rig: RigConfig
    scenario: ScenarioConfig
    seed: int
    duration_s: float
    armed: bool
    mode: str
    metadata: dict[str, str]


def read_recorded_run(recording: Recording) -> RecordedRun:
    """The recorded run's effective configs and settings; ``RecordingError`` (one line) if the
    file is not a finished, whole ``hil run`` recording. Every chunk's CRC is checked first
    (``Recording.check``, about a second per GB): a replay, a ``--verify`` or a campaign's
    replay run plays a whole recording or none, never the part before a damaged chunk — an
    unfinished or corrupt file is sent to ``hil record recover``."""
    recording.check()
    metadata = recording.metadata().get(RUN_METADATA)
    attachments = recording.attachments()
    if metadata is None or RIG_ATTACHMENT not in attachments:
        raise RecordingError(
            f"{recording.path} is not a hil run recording (no {RUN_METADATA} metadata or "
            f"{RIG_ATTACHMENT} attachment)"
        )
    try:
        rig = RigConfig.model_validate(json.loads(attachments[RIG_ATTACHMENT]))
        scenario = ScenarioConfig.model_validate(json.loads(attachments[SCENARIO_ATTACHMENT]))
        return RecordedRun(
            rig,
            scenario,
            int(metadata.get("seed") or 0),
            float(metadata["duration_s"]),
            metadata.get("armed") == "true",
            metadata.get("mode", rig.rig.mode),
            dict(metadata),
        )
    except (KeyError, ValueError) as error:
        raise RecordingError(
            f"{recording.path}: its run description cannot be read ({error}); it was written "
            "by another version of hil-testbed"
        ) from error
