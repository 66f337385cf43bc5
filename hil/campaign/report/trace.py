"""What the report plots of one run, read from its recording: truth paths, confirmed-track
positions, launches, position error against truth, loop latency, engagement events and the
interlock state.

Cheap on purpose (a sweep's report reads one representative recording per case): only the
cycle topics are decoded, and only about ``MAX_SAMPLES`` cycles of them, picked by log time
before decoding; timing, events and interlocks are small and read whole. Positions are rig ENU
metres, times seconds since the run's start (loop clock).
"""

from __future__ import annotations

import json
import struct
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np
import numpy.typing as npt

from hil.config.rig import RigConfig
from hil.config.scenario import ScenarioConfig
from hil.errors import RecordingError
from hil.loop.cycle_codec import decode_input, decode_output
from hil.loop.sim_scenario import build_targets
from hil.recording.reader import Recording
from hil.recording.run_layout import (
    RIG_ATTACHMENT,
    SCENARIO_ATTACHMENT,
    TOPIC_CYCLE_INPUT,
    TOPIC_CYCLE_OUTPUT,
    TOPIC_EVENTS,
    TOPIC_INTERLOCKS,
    TOPIC_TIMING,
    recorded_result,
)
from hil.tracking.scoring import TrackScorer
from sim.targets import TargetSet

FloatArray = npt.NDArray[np.float64]
MAX_SAMPLES = 600
"""Cycles decoded per run at most (evenly spread in time): enough for smooth plots."""
TRUTH_POINTS = 300
"""Points per truth path in the plan view."""
ERROR_CUTOFF_M = TrackScorer().cutoff_m
"""A truth whose nearest confirmed track is farther than this is untracked (the scorer's
GOSPA cut-off, m)."""
_TIMING = struct.Struct("<dd")


@dataclass(frozen=True, slots=True)
class TruthPath:
    """One target's truth over the run: ``t_s`` and East/North/Up positions (m)."""

    target_id: int
    name: str
    injected: bool
    t_s: FloatArray
    enu_m: FloatArray


@dataclass(frozen=True, slots=True)
class Launch:
    """A launch at ``t_s`` at track ``track_id``, whose position then was ``enu_m`` (None if no
    sampled picture held the track)."""

    t_s: float
    track_id: int
    enu_m: tuple[float, float, float] | None


@dataclass(frozen=True, slots=True)
class Event:
    """An engagement event (``hil.loop.cycle.EVENT_KINDS``) at ``t_s``."""

    t_s: float
    kind: str
    track_id: int
    reason: str


@dataclass(frozen=True, slots=True)
class InterlockChange:
    """The interlock decision from ``t_s`` on: all holding, or the names of those failing."""

    t_s: float
    all_hold: bool
    failing: tuple[str, ...]


@dataclass
class RunTrace:
    """One run as the report plots it (times s since the run's start, positions rig ENU m)."""

    duration_s: float
    radar_enu_m: tuple[float, float, float]
    launcher_enu_m: tuple[float, float, float]
    truths: list[TruthPath] = field(default_factory=list)
    tracks: dict[int, list[tuple[float, float, float, float]]] = field(default_factory=dict)
    """Confirmed track id → sampled (t_s, east_m, north_m, up_m)."""
    launches: list[Launch] = field(default_factory=list)
    error_t_s: FloatArray = field(default_factory=lambda: np.empty(0))
    error_m: FloatArray = field(default_factory=lambda: np.empty((0, 0)))
    """(samples, truths): distance from each truth (columns in ``truths`` order) to its nearest
    confirmed track at each sampled cycle; NaN where the truth is not alive or untracked."""
    latency_ms: FloatArray = field(default_factory=lambda: np.empty(0))
    events: list[Event] = field(default_factory=list)
    interlocks: list[InterlockChange] = field(default_factory=list)
    unfinished: bool = False
    """The recording's writer never closed it: read up to its last complete chunk."""


def _vec3(value: Iterable[float]) -> tuple[float, float, float]:
    x, y, z = (float(v) for v in value)
    return (x, y, z)


def read_trace(path: Path, *, real_truth: bool = True) -> RunTrace:
    """The plotted content of the run recorded in ``path``. ``real_truth`` False leaves the
    scenario's real targets out of the truth (a bench radar sees the sky, not the scenario).
    ``RecordingError`` (one line) if the file is not a readable run recording."""
    with Recording(path) as recording:
        attachments = recording.attachments()
        if RIG_ATTACHMENT not in attachments or SCENARIO_ATTACHMENT not in attachments:
            raise RecordingError(f"{path} is not a hil run recording (no effective configs)")
        try:
            rig = RigConfig.model_validate(json.loads(attachments[RIG_ATTACHMENT]))
            scenario = ScenarioConfig.model_validate(json.loads(attachments[SCENARIO_ATTACHMENT]))
        except ValueError as error:
            raise RecordingError(
                f"{path}: its configs cannot be read ({error}); written by another version"
            ) from error
        result = recorded_result(recording)
        info = recording.info(verify=False)
        span_ns = (info.start_ns or 0, info.end_ns or 0)
        trace = RunTrace(
            duration_s=0.0,
            radar_enu_m=_vec3(rig.radar.position_enu_m),
            launcher_enu_m=_vec3(rig.launcher.position_enu_m),
        )
        reader = _CycleSampler(span_ns)
        for message in recording.messages(
            {TOPIC_CYCLE_INPUT, TOPIC_CYCLE_OUTPUT, TOPIC_TIMING, TOPIC_EVENTS, TOPIC_INTERLOCKS},
            allow_truncated=True,
            file_order=True,  # each topic in cycle order (chunk by chunk): no sort needed
        ):
            reader.take(message.topic, message.log_time_ns, message.payload)
        trace.unfinished = not recording.complete
    if reader.first_t_s == float("inf"):
        raise RecordingError(
            f"{path} holds no loop cycle"
            + (" (unfinished: its writer stopped before the first complete chunk)"
               if trace.unfinished else "")
        )  # fmt: skip
    start_s = reader.first_t_s if result is None else float(result["start_s"])
    trace.duration_s = reader.last_t_s - start_s if result is None else float(result["duration_s"])
    targets = build_targets(scenario)
    injected = set(build_targets(scenario, "injected").target_id.tolist())
    keep = [int(i) for i in targets.target_id if real_truth or int(i) in injected]
    trace.truths = _truth_paths(targets, keep, injected, reader, start_s)
    _fill_tracks(trace, reader, start_s)
    _fill_errors(trace, targets, keep, reader, start_s)
    trace.latency_ms = np.asarray(reader.latency_s, dtype=np.float64) * 1e3
    trace.events = [replace(e, t_s=e.t_s - start_s) for e in reader.events]
    trace.interlocks = [replace(i, t_s=i.t_s - start_s) for i in reader.interlocks]
    trace.launches = [
        Launch(e.t_s, e.track_id, _position_at(trace, e.track_id, e.t_s))
        for e in trace.events
        if e.kind == "launched"
    ]
    return trace


class _CycleSampler:
    """Collects the messages of one recording, decoding about ``MAX_SAMPLES`` evenly spaced
    cycle inputs and as many outputs, each topic on its own schedule (the outputs are a bulk
    topic in chunks of their own, so they do not follow their inputs in file order)."""

    def __init__(self, span_ns: tuple[int, int]) -> None:
        self.step_ns = max(1, (span_ns[1] - span_ns[0]) // MAX_SAMPLES)
        self.next_ns = {TOPIC_CYCLE_INPUT: span_ns[0], TOPIC_CYCLE_OUTPUT: span_ns[0]}
        self.scenario_time: list[tuple[float, float]] = []
        """(loop t_s, scenario t_s) of sampled frame cycles."""
        self.pictures: list[tuple[float, npt.NDArray[np.int64], FloatArray]] = []
        """(loop t_s, confirmed track ids, positions (K, 3) m) of sampled cycles."""
        self.latency_s: list[float] = []
        self.events: list[Event] = []
        self.interlocks: list[InterlockChange] = []
        """Loop-clock times, as recorded."""
        self.first_t_s = float("inf")
        self.last_t_s = float("-inf")

    def _due(self, topic: str, log_time_ns: int) -> bool:
        if log_time_ns >= self.next_ns[topic]:
            self.next_ns[topic] = log_time_ns + self.step_ns
            return True
        return False

    def take(self, topic: str, log_time_ns: int, payload: bytes) -> None:
        try:
            self._take(topic, log_time_ns, payload)
        except (ValueError, KeyError, TypeError) as error:
            raise RecordingError(f"a {topic} message cannot be read: {error}") from error

    def _take(self, topic: str, log_time_ns: int, payload: bytes) -> None:
        if topic == TOPIC_TIMING:
            t_s, latency = _TIMING.unpack(payload)
            self.first_t_s = min(self.first_t_s, t_s)
            self.last_t_s = max(self.last_t_s, t_s)
            if latency == latency:  # NaN on an idle cycle
                self.latency_s.append(latency)
        elif topic == TOPIC_EVENTS:
            e = json.loads(payload)
            self.events.append(
                Event(float(e["t_s"]), str(e["kind"]), int(e["track_id"]), str(e["reason"]))
            )
        elif topic == TOPIC_INTERLOCKS:
            i = json.loads(payload)
            self.interlocks.append(
                InterlockChange(
                    float(i["t_s"]), bool(i["all_hold"]), tuple(str(n) for n in i["failing"])
                )
            )
        elif topic == TOPIC_CYCLE_INPUT and self._due(topic, log_time_ns):
            cycle_input = decode_input(payload)
            if cycle_input.frame is not None:
                self.scenario_time.append((cycle_input.t_s, cycle_input.frame.scenario_t_s))
        elif topic == TOPIC_CYCLE_OUTPUT and self._due(topic, log_time_ns):
            picture = decode_output(payload).picture
            self.pictures.append((picture.t_s, picture.ids, picture.position_enu_m))


def _scenario_times(reader: _CycleSampler, loop_t_s: FloatArray) -> FloatArray:
    """Scenario time at each loop time, interpolated from the sampled frames."""
    if not reader.scenario_time:
        return np.full(len(loop_t_s), np.nan)
    pairs: FloatArray = np.asarray(reader.scenario_time, dtype=np.float64)
    if len(pairs) == 1:
        shifted: FloatArray = loop_t_s + (pairs[0, 1] - pairs[0, 0])
        return shifted
    times: FloatArray = np.interp(loop_t_s, pairs[:, 0], pairs[:, 1])
    return times


def _truth_paths(
    targets: TargetSet,
    keep: list[int],
    injected: set[int],
    reader: _CycleSampler,
    start_s: float,
) -> list[TruthPath]:
    if not keep or not reader.scenario_time:
        return []
    pairs = np.asarray(reader.scenario_time)
    loop_t = np.linspace(pairs[0, 0], pairs[-1, 0], TRUTH_POINTS)
    scenario_t = _scenario_times(reader, loop_t)
    positions = np.full((len(loop_t), len(targets), 3), np.nan)
    row_of = {int(i): row for row, i in enumerate(targets.target_id)}
    for k, t in enumerate(scenario_t):
        state = targets.state_at(float(t))
        positions[k] = np.where(state.alive[:, None], state.position_enu_m, np.nan)
    return [
        TruthPath(
            target_id=i,
            name=targets.name_of(i),
            injected=i in injected,
            t_s=loop_t - start_s,
            enu_m=positions[:, row_of[i], :],
        )
        for i in keep
    ]


def _fill_tracks(trace: RunTrace, reader: _CycleSampler, start_s: float) -> None:
    for t_s, ids, positions in reader.pictures:
        for track_id, (east, north, up) in zip(ids.tolist(), positions.tolist(), strict=True):
            trace.tracks.setdefault(int(track_id), []).append((t_s - start_s, east, north, up))


def _fill_errors(
    trace: RunTrace, targets: TargetSet, keep: list[int], reader: _CycleSampler, start_s: float
) -> None:
    if not keep or not reader.pictures or not reader.scenario_time:
        return
    loop_t = np.asarray([t for t, _, _ in reader.pictures])
    scenario_t = _scenario_times(reader, loop_t)
    rows = np.asarray([int(np.flatnonzero(targets.target_id == i)[0]) for i in keep])
    errors = np.full((len(loop_t), len(keep)), np.nan)
    for k, ((_, _, tracks), t) in enumerate(zip(reader.pictures, scenario_t, strict=True)):
        if len(tracks) == 0:
            continue
        state = targets.state_at(float(t))
        truth = state.position_enu_m[rows]
        distance = np.linalg.norm(truth[:, None, :] - tracks[None, :, :], axis=2).min(axis=1)
        tracked = state.alive[rows] & (distance <= ERROR_CUTOFF_M)
        errors[k] = np.where(tracked, distance, np.nan)
    trace.error_t_s = loop_t - start_s
    trace.error_m = errors


def _position_at(trace: RunTrace, track_id: int, t_s: float) -> tuple[float, float, float] | None:
    """The sampled position of a track nearest in time to ``t_s``."""
    samples = trace.tracks.get(track_id)
    if not samples:
        return None
    _, east, north, up = min(samples, key=lambda s: abs(s[0] - t_s))
    return (east, north, up)
