"""What a run measured, by name: the table criteria are written against.

Every measurement has a unit and is computed from the run's summary (``hil run --json``,
``hil.run.summary.summarize``) or, for the safety check of launches against interlocks, from
the run's recording. A labelled measurement (``launches{source="injected"}``) counts only what
matches its labels. A measurement a run cannot give (no arrival jitter on a simulated clock,
no recording) is None, and a criterion on it gets the verdict ``error`` with the reason.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from hil.recording.reader import Recording
from hil.recording.run_layout import TOPIC_EVENTS, TOPIC_INTERLOCKS

Value = float | int | str | None
Summary = Mapping[str, Any]
Better = Literal["lower", "higher"]
"""Which way a measurement improves; None for one with no better side (a duration, a state)."""
LOWER: Better = "lower"
HIGHER: Better = "higher"


@dataclass(frozen=True)
class RecordingFacts:
    """What the measurements need from a run's recording (None: no recording to read)."""

    launches_with_interlock_false: int | None = None


@dataclass(frozen=True)
class Measurement:
    """A named measurement: ``unit`` (``m``, ``s``, ``ms``, ``count``, ``fraction`` or
    ``state`` for text), what it is, how it is computed from the summary, the recording facts
    and the chosen labels, its ``better`` direction (``lower``, ``higher`` or None: neither,
    e.g. a duration or a state; a regression is judged only on one that has it) and the labels
    it accepts (key → allowed values; a labelled value improves the same way)."""

    name: str
    unit: str
    description: str
    compute: Callable[[Summary, RecordingFacts, Mapping[str, str]], Value]
    better: Better | None
    labels: Mapping[str, tuple[str, ...]] = field(default_factory=dict)

    @property
    def is_text(self) -> bool:
        return self.unit == "state"


def _summary_key(key: str) -> Callable[[Summary, RecordingFacts, Mapping[str, str]], Value]:
    def compute(summary: Summary, facts: RecordingFacts, labels: Mapping[str, str]) -> Value:
        value = summary.get(key)
        if isinstance(value, float) and not math.isfinite(value):
            return None
        return value if isinstance(value, int | float | str) else None

    return compute


def _launches(summary: Summary, facts: RecordingFacts, labels: Mapping[str, str]) -> Value:
    if not labels:
        return int(summary["launches"])
    source = labels["source"]
    log = summary.get("engagement_log", [])
    return sum(1 for r in log if r["outcome"] == "launched" and r["source"] == source)


def _frames_lost(summary: Summary, facts: RecordingFacts, labels: Mapping[str, str]) -> Value:
    """Radar frames sent and never delivered: ``seq`` gaps and queue overflows (0 with the
    in-process radar model, which loses none)."""
    radar = summary["links"]["radar"]
    driver = radar.get("driver")
    if driver is None:
        return 0
    lost, drops = driver.get("lost_frames"), driver.get("queue_drops")
    if not isinstance(lost, int) or not isinstance(drops, int):
        return None
    return lost + drops


def _link(name: str, key: str) -> Callable[[Summary, RecordingFacts, Mapping[str, str]], Value]:
    def compute(summary: Summary, facts: RecordingFacts, labels: Mapping[str, str]) -> Value:
        value = summary["links"][name].get(key)
        return value if isinstance(value, int | float) else None

    return compute


def _radar_driver(key: str) -> Callable[[Summary, RecordingFacts, Mapping[str, str]], Value]:
    """A counter of the radar driver's health (0 with the in-process model: no link)."""

    def compute(summary: Summary, facts: RecordingFacts, labels: Mapping[str, str]) -> Value:
        driver = summary["links"]["radar"].get("driver")
        if driver is None:
            return 0
        value = driver.get(key)
        return value if isinstance(value, int | float) else None

    return compute


def _arm_state(summary: Summary, facts: RecordingFacts, labels: Mapping[str, str]) -> Value:
    """``rig_final_state`` without the PLC's fault: ``SAFE (fault ESTOP)`` is ``SAFE``."""
    state = summary.get("rig_final_state")
    return state.split(" (", 1)[0] if isinstance(state, str) else None


def _devices_lost(summary: Summary, facts: RecordingFacts, labels: Mapping[str, str]) -> Value:
    return len(summary["devices_lost"])


def _interlock_false(summary: Summary, facts: RecordingFacts, labels: Mapping[str, str]) -> Value:
    return facts.launches_with_interlock_false


SOURCES = ("injected", "real")


def _table(*measurements: Measurement) -> dict[str, Measurement]:
    return {m.name: m for m in measurements}


def _from_summary(
    name: str, unit: str, description: str, better: Better | None, key: str | None = None
) -> Measurement:
    return Measurement(name, unit, description, _summary_key(key or name), better)


MEASUREMENTS: dict[str, Measurement] = _table(
    _from_summary("frames", "count", "radar frames the loop processed", HIGHER),
    Measurement(
        "frames_lost",
        "count",
        "radar frames sent but never delivered (seq gaps + queue overflows)",
        _frames_lost,
        LOWER,
    ),
    _from_summary("detections", "count", "detections processed, injected ones included", HIGHER),
    _from_summary("injected_detections", "count", "detections the loop injected", None),
    _from_summary("tracks_confirmed", "count", "tracks confirmed during the run", HIGHER),
    _from_summary("engagements", "count", "engagements started", HIGHER),
    _from_summary("launch_requests", "count", "FIRE requests sent to the launcher", None),
    Measurement(
        "launches",
        "count",
        'launches the PLC confirmed; {source="injected"|"real"}: of that target source',
        _launches,
        HIGHER,
        {"source": SOURCES},
    ),
    _from_summary(
        "launch_requests_refused", "count", "FIRE requests refused or unconfirmed", LOWER
    ),
    Measurement(
        "launches_with_interlock_false",
        "count",
        "launches whose last interlock decision did not all hold, plus launches the PLC "
        "counted that no engagement requested (from the recording)",
        _interlock_false,
        LOWER,
    ),
    _from_summary("fire_suppressed", "count", "cycles whose FIRE the interlock gate removed", None),
    _from_summary("gospa_mean_m", "m", "mean GOSPA distance, tracks vs truth", LOWER),
    _from_summary("ospa_mean_m", "m", "mean OSPA distance, tracks vs truth", LOWER),
    _from_summary("rmse_m", "m", "position RMSE of assigned tracks", LOWER),
    _from_summary("id_switches", "count", "track identity switches", LOWER),
    _from_summary(
        "time_to_confirm_s",
        "s",
        "mean time from birth to confirmed track",
        LOWER,
        "time_to_confirm_mean_s",
    ),
    _from_summary("false_track_fraction", "fraction", "confirmed tracks on no target", LOWER),
    _from_summary("latency_p50_ms", "ms", "frame arrival → launcher command, median", LOWER),
    _from_summary(
        "latency_p99_ms", "ms", "frame arrival → launcher command, 99th percentile", LOWER
    ),
    _from_summary("latency_max_ms", "ms", "frame arrival → launcher command, maximum", LOWER),
    _from_summary(
        "jitter_p99_ms", "ms", "frame arrival jitter, 99th percentile (not in sim)", LOWER
    ),
    _from_summary("duration_s", "s", "loop time the run lasted", None),
    Measurement("radar_outages", "count", "radar link outages", _link("radar", "outages"), LOWER),
    Measurement(
        "radar_longest_outage_s",
        "s",
        "longest radar outage",
        _link("radar", "longest_outage_s"),
        LOWER,
    ),
    Measurement("plc_outages", "count", "PLC link outages", _link("plc", "outages"), LOWER),
    Measurement(
        "plc_longest_outage_s",
        "s",
        "longest PLC outage",
        _link("plc", "longest_outage_s"),
        LOWER,
    ),
    Measurement(
        "radar_reconnects",
        "count",
        "times the radar driver reconnected",
        _radar_driver("reconnects"),
        LOWER,
    ),
    Measurement(
        "radar_longest_silence_s",
        "s",
        "longest time the radar driver received no frame",
        _radar_driver("longest_silence_s"),
        LOWER,
    ),
    Measurement("devices_lost", "count", "links lost and not recovered", _devices_lost, LOWER),
    _from_summary(
        "rig_final_state",
        "state",
        "launcher state at the end with the PLC's fault: SAFE, SAFE (fault ESTOP), ... or unknown",
        None,
    ),
    Measurement(
        "rig_final_arm_state",
        "state",
        "launcher arm state at the end, without the fault: SAFE, ARMED, ... or unknown",
        _arm_state,
        None,
    ),
)
"""Every measurement a criterion can name."""


def measurement_of(key: str) -> Measurement | None:
    """The table's measurement of a key as results write it (labels included:
    ``launches{source="injected"}`` is ``launches``); None for a key not in the table."""
    return MEASUREMENTS.get(key.split("{", 1)[0].strip())


def measurement_unit(key: str) -> str:
    """The unit of a measurement key as results write it; ``""`` for a key not in the table."""
    measurement = measurement_of(key)
    return "" if measurement is None else measurement.unit


def better_direction(key: str) -> Better | None:
    """The better direction of a measurement key as results write it (labels included:
    ``launches{source="injected"}`` improves as ``launches`` does); None for a key with no
    direction or not in the table."""
    measurement = measurement_of(key)
    return None if measurement is None else measurement.better


def measurement_key(name: str, labels: Mapping[str, str]) -> str:
    """The measurement's name in results: ``launches{source="injected"}``."""
    if not labels:
        return name
    inner = ",".join(f'{key}="{value}"' for key, value in sorted(labels.items()))
    return f"{name}{{{inner}}}"


def measure(summary: Summary, facts: RecordingFacts) -> dict[str, Value]:
    """Every measurement of the table, each label value included, keyed by
    ``measurement_key``."""
    values: dict[str, Value] = {}
    for measurement in MEASUREMENTS.values():
        values[measurement.name] = measurement.compute(summary, facts, {})
        for key, allowed in measurement.labels.items():
            for label in allowed:
                chosen = {key: label}
                values[measurement_key(measurement.name, chosen)] = measurement.compute(
                    summary, facts, chosen
                )
    return values


def recording_facts(
    path: Path | None, final_launch_count: int | None, initial_launch_count: int | None = None
) -> RecordingFacts:
    """The facts read from a run's recording: each ``launched`` engagement event checked
    against the interlock decision recorded last before it (``/hil/interlocks`` is written
    whenever the decision changes), plus launches the PLC counted during the run
    (``final_launch_count`` − ``initial_launch_count``, the PLC's count at the run's first
    status) beyond those the engagements recorded."""
    if path is None:
        return RecordingFacts()
    all_hold: bool | None = None
    launched = unsafe = 0
    with Recording(path) as recording:
        for message in recording.messages({TOPIC_EVENTS, TOPIC_INTERLOCKS}, allow_truncated=True):
            payload = json.loads(message.payload)
            if message.topic == TOPIC_INTERLOCKS:
                all_hold = bool(payload["all_hold"])
            elif payload["kind"] == "launched":
                launched += 1
                unsafe += all_hold is not True
    counted = (final_launch_count or 0) - (initial_launch_count or 0)
    unrequested = max(0, counted - launched)
    return RecordingFacts(launches_with_interlock_false=unsafe + unrequested)
