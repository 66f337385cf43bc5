"""What the loop's thread hands to the publisher, and each one's JSON payload.

A snapshot holds copies of the few values it needs (arrays copied, so later cycles cannot
change it); turning it into JSON (``payload``, ``encode``) happens on the publisher's thread.
Times ``t_s`` are loop-clock seconds since the run started; positions ENU metres in the rig's
frame; velocities ENU m/s; ranges metres from the radar antenna. Non-finite numbers become
JSON ``null``.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np
import numpy.typing as npt

from hil.telemetry.topics import TopicName

FloatArray = npt.NDArray[np.float64]


def finite_or_none(value: float | None, digits: int = 6) -> float | None:
    """``value`` rounded, or None when it is None, nan or infinite."""
    if value is None or not math.isfinite(value):
        return None
    return round(value, digits)


@dataclass(frozen=True, slots=True)
class StatusSnapshot:
    """The rig's state: ``state`` is ``starting`` (run being built), ``running``, ``ended``
    (clean end), ``failed`` (the run stopped on an error); the broker keeps the last one."""

    rig: str
    state: str
    mode: str
    scenario: str
    seed: int
    armed: bool
    run_started_unix_s: float
    t_s: float | None = None
    phase: str | None = None
    radar_link_up: bool | None = None
    plc_link_up: bool | None = None
    launcher: dict[str, Any] | None = None
    """``arm_state``, ``fault`` (names), ``launch_count``, ``rounds_ready``."""
    interlocks: dict[str, bool] | None = None
    """The interlocks last evaluated (None before the engagement evaluated any)."""

    topic: ClassVar[TopicName] = "status"

    def payload(self) -> dict[str, Any]:
        return {
            "rig": self.rig,
            "state": self.state,
            "mode": self.mode,
            "scenario": self.scenario,
            "seed": self.seed,
            "armed": self.armed,
            "run_started_unix_s": round(self.run_started_unix_s, 3),
            "t_s": finite_or_none(self.t_s),
            "phase": self.phase,
            "radar_link_up": self.radar_link_up,
            "plc_link_up": self.plc_link_up,
            "launcher": self.launcher,
            "interlocks": self.interlocks,
        }


def offline_payload(rig: str) -> dict[str, Any]:
    """The last will: what the broker publishes (retained) when the publisher's connection
    dies without a clean disconnect."""
    return {"rig": rig, "state": "offline", "reason": "the publisher's connection was lost"}


@dataclass(frozen=True, slots=True)
class TracksSnapshot:
    """Confirmed tracks: ids (K,), ENU positions (K, 3) m, velocities (K, 3) m/s, injected
    flags (K,), and the radar antenna's ENU position (m) the ranges are measured from."""

    rig: str
    t_s: float
    ids: npt.NDArray[np.int64]
    position_enu_m: FloatArray
    velocity_enu_mps: FloatArray
    injected: npt.NDArray[np.bool_]
    radar_enu_m: tuple[float, float, float]

    topic: ClassVar[TopicName] = "tracks"

    def payload(self) -> dict[str, Any]:
        position = np.nan_to_num(self.position_enu_m, nan=0.0, posinf=0.0, neginf=0.0)
        velocity = np.nan_to_num(self.velocity_enu_mps, nan=0.0, posinf=0.0, neginf=0.0)
        ranges = np.linalg.norm(position - np.asarray(self.radar_enu_m), axis=1)
        tracks = [
            {
                "id": int(track_id),
                "position_enu_m": [round(v, 3) for v in pos],
                "velocity_enu_mps": [round(v, 3) for v in vel],
                "range_m": round(rng, 3),
                "injected": bool(inj),
            }
            for track_id, pos, vel, rng, inj in zip(
                self.ids.tolist(),
                position.tolist(),
                velocity.tolist(),
                ranges.tolist(),
                self.injected.tolist(),
                strict=True,
            )
        ]
        return {
            "rig": self.rig,
            "t_s": finite_or_none(self.t_s),
            "count": len(tracks),
            "tracks": tracks,
        }


@dataclass(frozen=True, slots=True)
class HealthSnapshot:
    """The loop's health: cycles and frames since the start and their rates over the last
    period (per second of loop time), link state, and telemetry's own drops."""

    rig: str
    t_s: float
    cycles: int
    frames: int
    cycle_rate_hz: float
    frame_rate_hz: float
    radar_frame_age_s: float
    radar_link_up: bool
    plc_link_up: bool
    plc_status_age_s: float
    tracks_confirmed: int
    telemetry_dropped: int
    telemetry_queue_depth: int

    topic: ClassVar[TopicName] = "health"

    def payload(self) -> dict[str, Any]:
        return {
            "rig": self.rig,
            "t_s": finite_or_none(self.t_s),
            "cycles": self.cycles,
            "frames": self.frames,
            "cycle_rate_hz": finite_or_none(self.cycle_rate_hz, 3),
            "frame_rate_hz": finite_or_none(self.frame_rate_hz, 3),
            "radar_frame_age_s": finite_or_none(self.radar_frame_age_s),
            "radar_link_up": self.radar_link_up,
            "plc_link_up": self.plc_link_up,
            "plc_status_age_s": finite_or_none(self.plc_status_age_s),
            "tracks_confirmed": self.tracks_confirmed,
            "telemetry_dropped": self.telemetry_dropped,
            "telemetry_queue_depth": self.telemetry_queue_depth,
        }


@dataclass(frozen=True, slots=True)
class InterlocksSnapshot:
    """The interlocks the engagement evaluated, published when any of them changed."""

    rig: str
    t_s: float
    state: dict[str, bool]

    topic: ClassVar[TopicName] = "interlocks"

    def payload(self) -> dict[str, Any]:
        failing = [name for name, holds in self.state.items() if not holds]
        return {
            "rig": self.rig,
            "t_s": finite_or_none(self.t_s),
            "all_hold": not failing,
            "failing": failing,
            "state": dict(self.state),
        }


EVENT_KINDS_EXTRA = ("link_lost", "link_restored", "fault", "fault_cleared")
"""Events beside the engagement's own (``hil.loop.cycle.EVENT_KINDS``)."""


@dataclass(frozen=True, slots=True)
class EventSnapshot:
    """One event, numbered from 1 in the run (``seq``): an engagement event (``track_id``,
    ``reason``), a link lost or restored (``link``: radar or plc; ``reason``), or a launcher
    fault raised or cleared (``fault``: the ``drivers.plc.types.FaultCode`` name)."""

    rig: str
    seq: int
    t_s: float
    kind: str
    track_id: int | None = None
    reason: str = ""
    link: str | None = None
    fault: str | None = None

    topic: ClassVar[TopicName] = "events"

    def payload(self) -> dict[str, Any]:
        return {
            "rig": self.rig,
            "seq": self.seq,
            "t_s": finite_or_none(self.t_s),
            "kind": self.kind,
            "track_id": self.track_id,
            "reason": self.reason,
            "link": self.link,
            "fault": self.fault,
        }


Snapshot = StatusSnapshot | TracksSnapshot | HealthSnapshot | InterlocksSnapshot | EventSnapshot


@dataclass(frozen=True, slots=True)
class Encoded:
    """A snapshot as its topic name and JSON bytes."""

    topic: TopicName
    payload: bytes


def encode(snapshot: Snapshot) -> Encoded:
    """``snapshot`` as compact JSON (NaN refused: every float was made finite or null)."""
    body = json.dumps(snapshot.payload(), allow_nan=False, separators=(",", ":"))
    return Encoded(snapshot.topic, body.encode())
