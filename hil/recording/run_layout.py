"""The topic layout of a run's recording, and reading back the run it describes.

Topics (docs/recording.md has every layout):

- ``/hil/cycle/input``, ``/hil/cycle/output``: ``hil.loop.cycle_codec`` records, bit-exact —
  what ``hil replay --verify`` feeds back to the core;
- ``/radar/raw``: every chunk of radar bytes as received (log time = host receive time);
- ``/plc/transactions``: every PLC request and its answer (JSON);
- ``/hil/engagement/events``: designations, fire requests, launches, refusals, aborts (JSON);
- ``/hil/interlocks``: the interlock decision whenever it changes (JSON);
- ``/hil/loop/timing``: per cycle, frame-arrival-to-command latency (binary, ``TIMING``);
- ``/hil/run/result``: how the run ended (JSON, its last message);
- ``/display/*``: Foxglove ``SceneUpdate``/``FrameTransform`` (``hil.recording.foxglove``).

Metadata record ``hil.run`` (``channels.run_metadata``) plus ``core_version`` (the loop's
arithmetic version, ``hil.loop.core_version``; missing in recordings made before it existed:
version 1), and for replay: ``duration_s``,
``armed``, ``loop_epoch_offset_s`` (log time = loop time + offset), ``rig_file``,
``scenario_file``, ``rig_overrides`` (JSON list). Attachments: the rig and scenario files as
given, and ``rig.effective.json`` / ``scenario.effective.json`` — the configs exactly as the run
used them (environment and ``--set`` applied), which is what replay rebuilds the core from
(``read_recorded_run``). The writer of this layout is ``hil.run.recorder.RunRecorder``.
"""

from __future__ import annotations

import json
import struct
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from hil.config.rig import RigConfig
from hil.config.scenario import ScenarioConfig
from hil.errors import RecordingError
from hil.recording import foxglove
from hil.recording.channels import RUN_METADATA, ChannelSpec, as_bulk, binary_channel, json_channel
from hil.recording.reader import Recording

TOPIC_CYCLE_INPUT = "/hil/cycle/input"
TOPIC_CYCLE_OUTPUT = "/hil/cycle/output"
TOPIC_RADAR_BYTES = "/radar/raw"
TOPIC_PLC_TRANSACTIONS = "/plc/transactions"
TOPIC_EVENTS = "/hil/engagement/events"
TOPIC_INTERLOCKS = "/hil/interlocks"
TOPIC_TIMING = "/hil/loop/timing"
TOPIC_LAUNCHER_POSE = "/display/launcher_pose"
TOPIC_RESULT = "/hil/run/result"
RESULT_SCORES = (
    "gospa_mean_m",
    "ospa_mean_m",
    "rmse_m",
    "id_switches",
    "time_to_confirm_mean_s",
    "false_track_fraction",
    "tracks_confirmed",
    "launch_requests",
    "launches",
    "launch_requests_refused",
)
"""The run summary's scores the result message keeps (what ``hil replay --compare`` compares)."""
CYCLE_INPUT_ENCODING = "hil.cycle_input.v1"
CYCLE_OUTPUT_ENCODING = "hil.cycle_output.v1"
RADAR_BYTES_ENCODING = "hil.radar_bytes.v1"
TIMING_ENCODING = "hil.loop_timing.v1"
TIMING = struct.Struct("<dd")
"""t_s (loop clock), latency_s (frame arrival to command sent; NaN on an idle cycle)."""

_PLC_SCHEMA: dict[str, Any] = {
    "title": "hil.PlcTransaction",
    "description": "One PLC request and its result (drivers.plc.transaction.PlcTransaction)",
    "type": "object",
    "properties": {
        "what": {"type": "string"},
        "function_code": {"type": "integer"},
        "unit_id": {"type": "integer"},
        "address": {"type": "integer"},
        "count": {"type": "integer"},
        "values": {"type": "array", "items": {"type": "integer"}},
        "outcome": {"type": "string"},
        "response": {"type": "array", "items": {"type": "integer"}},
        "exception_code": {"type": ["integer", "null"]},
        "error": {"type": ["string", "null"]},
        "t_send_s": {"type": "number"},
        "t_receive_s": {"type": "number"},
    },
}
_EVENT_SCHEMA: dict[str, Any] = {
    "title": "hil.EngagementEvent",
    "description": "Something that happened to an engagement (hil.loop.cycle.EngagementEvent)",
    "type": "object",
    "properties": {
        "t_s": {"type": "number", "description": "loop clock, s"},
        "kind": {"type": "string"},
        "track_id": {"type": "integer"},
        "reason": {"type": "string"},
    },
}
_RESULT_SCHEMA: dict[str, Any] = {
    "title": "hil.RunResult",
    "description": "How the run ended (its last message): loop-clock start and duration (s), "
    "the determinism digest, and the summary's scores",
    "type": "object",
    "properties": {
        "start_s": {"type": "number"},
        "duration_s": {"type": "number"},
        "stopped_early": {"type": "boolean"},
        "digest": {"type": "string"},
        "scores": {"type": "object"},
    },
}
_INTERLOCK_SCHEMA: dict[str, Any] = {
    "title": "hil.InterlockDecision",
    "description": "The interlocks evaluated in a cycle, each true when it holds",
    "type": "object",
    "properties": {
        "t_s": {"type": "number"},
        "all_hold": {"type": "boolean"},
        "failing": {"type": "array", "items": {"type": "string"}},
        "interlocks": {"type": "object", "additionalProperties": {"type": "boolean"}},
    },
}


def run_channels() -> list[ChannelSpec]:
    """Every topic a run's recording declares. The cycle outputs and the display topics are
    bulk (chunks of their own): 97 % of a 100-target run's bytes, which replay never reads."""
    return [
        binary_channel(TOPIC_CYCLE_INPUT, CYCLE_INPUT_ENCODING),
        as_bulk(binary_channel(TOPIC_CYCLE_OUTPUT, CYCLE_OUTPUT_ENCODING)),
        binary_channel(TOPIC_RADAR_BYTES, RADAR_BYTES_ENCODING),
        json_channel(TOPIC_PLC_TRANSACTIONS, _PLC_SCHEMA),
        json_channel(TOPIC_EVENTS, _EVENT_SCHEMA),
        json_channel(TOPIC_INTERLOCKS, _INTERLOCK_SCHEMA),
        binary_channel(TOPIC_TIMING, TIMING_ENCODING),
        json_channel(TOPIC_RESULT, _RESULT_SCHEMA),
        *(as_bulk(channel) for channel in foxglove.display_channels()),
        as_bulk(json_channel(TOPIC_LAUNCHER_POSE, foxglove.schema(foxglove.FRAME_TRANSFORM))),
    ]


RIG_ATTACHMENT = "rig.effective.json"
SCENARIO_ATTACHMENT = "scenario.effective.json"


UNVERSIONED_CORE = 1
"""The core version of a recording whose metadata names none (made before ``core_version`` was
written: the loop arithmetic of version 1)."""


def recorded_core_version(metadata: Mapping[str, str]) -> int:
    """The loop's arithmetic version (``hil.loop.core_version``) a run recording's ``hil.run``
    metadata names, ``UNVERSIONED_CORE`` when it names none; ``ValueError`` if not an integer."""
    value = metadata.get("core_version", "")
    return int(value) if value else UNVERSIONED_CORE


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
    core_version: int
    """The loop arithmetic that made it (``hil.loop.core_version``; 1 when not named)."""


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
            recorded_core_version(metadata),
        )
    except (KeyError, ValueError) as error:
        raise RecordingError(
            f"{recording.path}: its run description cannot be read ({error}); it was written "
            "by another version of hil-testbed"
        ) from error
