"""One loop cycle as data: what it depends on (:class:`CycleInput`) and what it decided
(:class:`CycleOutput`).

The async shell (``hil.loop.shell``) gathers a :class:`CycleInput`, the pure core
(``hil.loop.core``) turns it into a :class:`CycleOutput`, and observers (``hil.loop.observers``)
watch the pair. ``hil.loop.cycle_codec`` turns both into bytes for recording and replay. Times
are loop-clock seconds; angles rad (azimuth clockwise from north); positions ENU metres.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from hil.fire_control.engagement import Demand, Phase, TrackPicture
from hil.fire_control.interlocks import Interlocks, LauncherStatus
from hil.loop.injection import TaggedFrame

IntArray = npt.NDArray[np.int64]

EVENT_KINDS = ("designated", "fire_requested", "launched", "refused", "aborted")
"""What can happen to an engagement in one cycle (``EngagementEvent.kind``)."""


@dataclass(frozen=True, slots=True, eq=False)
class CycleInput:
    """Everything one cycle depends on; nothing else reaches the core. (Holds arrays: compare
    two inputs by their ``hil.loop.cycle_codec`` bytes, not with ``==``.)

    ``frame`` is the radar's frame with the injected detections already merged (injection
    happens in the shell), or None on an idle cycle (no frame within the idle timeout). The
    link problems are a few words on what is wrong with a link for the log, ``""`` while it is
    healthy (radar: newest frame at most ``max_radar_silence_s`` old; PLC: link up and status at
    most ``max_plc_status_age_s`` old)."""

    t_s: float
    """Loop-clock time of the cycle (the frame's dwell centre, or now on an idle cycle)."""
    frame: TaggedFrame | None
    radar_frame_age_s: float
    """Loop-clock seconds since the newest radar frame arrived (inf before the first)."""
    radar_problem: str
    launcher: LauncherStatus
    launcher_problem: str
    operator_armed: bool


@dataclass(frozen=True, slots=True, eq=False)
class TrackChanges:
    """What the tracker's step on this cycle's frame changed (all 0 / empty on an idle
    cycle): detections assigned to tracks, tracks initiated, deleted and confirmed, and the
    ids of the tracks that became confirmed in this cycle and are still there."""

    assigned: int
    initiated: int
    deleted: int
    confirmed: int
    confirmed_ids: IntArray

    @classmethod
    def none(cls) -> TrackChanges:
        return cls(0, 0, 0, 0, np.empty(0, np.int64))


@dataclass(frozen=True, slots=True)
class EngagementEvent:
    """Something that happened to an engagement at ``t_s``: ``kind`` is one of
    :data:`EVENT_KINDS`; ``reason`` says why for refused and aborted (else ``""``)."""

    t_s: float
    kind: str
    track_id: int
    reason: str = ""


@dataclass(frozen=True, slots=True, eq=False)
class CycleOutput:
    """What one cycle decided. ``demand`` is what goes to the launcher (a FIRE the interlocks
    did not all allow is already removed: ``fire_suppressed``); ``interlocks`` are the ones the
    engagement evaluated this cycle (None when it evaluated none); ``phase`` is the
    engagement's phase after the cycle."""

    demand: Demand
    picture: TrackPicture
    track_changes: TrackChanges
    events: tuple[EngagementEvent, ...]
    phase: Phase
    interlocks: Interlocks | None
    fire_suppressed: bool
