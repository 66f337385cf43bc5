"""One run's recording: every cycle's input and output, the drivers' raw traffic, engagement
events, interlock decisions, loop timing, and display topics a viewer draws as a plan view.

``RunRecorder`` is an observer of the loop (``observe(cycle_input, cycle_output)``, after the
cycle's command went out) and the sink of the drivers' taps (``taps()``). It only queues
messages on the ``Recorder``'s bounded queue — the writer thread does the disk work — and it
builds the display topics (JSON, the costly part) at most every ``display_interval_s`` of loop
time, so recording does not show in the loop's latency (``benchmarks/replay_bench.py``).

The topics it writes are ``hil.recording.run_layout``'s (docs/recording.md has every layout).

Log times are nanoseconds since the Unix epoch: loop-clock seconds plus ``epoch_offset_s`` (the
loop clock is host monotonic time on a driver rig, simulated time from 0 in ``sim``); the exact
loop times are inside the cycle records.
"""

from __future__ import annotations

import dataclasses
import math
import time
from collections.abc import Sequence
from typing import Any

import numpy as np

from drivers.plc.transaction import PlcTransaction
from hil.fire_control.interlocks import Interlocks, LauncherStatus
from hil.loop.cycle import CycleInput, CycleOutput, EngagementEvent
from hil.loop.cycle_codec import encode_input, encode_output
from hil.recording import foxglove
from hil.recording.run_layout import (
    RESULT_SCORES,
    TIMING,
    TOPIC_CYCLE_INPUT,
    TOPIC_CYCLE_OUTPUT,
    TOPIC_EVENTS,
    TOPIC_INTERLOCKS,
    TOPIC_LAUNCHER_POSE,
    TOPIC_PLC_TRANSACTIONS,
    TOPIC_RADAR_BYTES,
    TOPIC_RESULT,
    TOPIC_TIMING,
)
from hil.recording.writer import Recorder
from hil.rig.base import DeviceTaps
from sim.coordinates import polar_to_enu

DEFAULT_DISPLAY_INTERVAL_S = 0.2


class RunRecorder:
    """Records one run into ``recorder`` (see the module doc). Positions in rig ENU metres;
    ``north_alignment_rad`` turns the radar's turntable azimuths into bearings."""

    def __init__(
        self,
        recorder: Recorder,
        *,
        epoch_offset_s: float,
        radar_position_enu_m: Sequence[float],
        north_alignment_rad: float,
        launcher_position_enu_m: Sequence[float],
        display_interval_s: float = DEFAULT_DISPLAY_INTERVAL_S,
    ) -> None:
        self.recorder = recorder
        self.epoch_offset_s = epoch_offset_s
        self._site = np.asarray(radar_position_enu_m, dtype=np.float64)
        self._alignment = north_alignment_rad
        self._launcher = np.asarray(launcher_position_enu_m, dtype=np.float64)
        self._display_interval_s = display_interval_s
        self._next_display_s = -math.inf
        self._pending: list[tuple[np.ndarray, np.ndarray, np.ndarray]] = []
        """Each frame's detections since the last display message (range m, azimuth rad in the
        radar's frame, elevation rad), put on the map once per display message (the same bits
        as frame by frame: every step is elementwise)."""
        self._last_interlocks: Interlocks | None = None
        self._engaged: dict[int, str] = {}
        """Track id → what happened last to its engagement (for the display's label)."""

    def taps(self) -> DeviceTaps:
        return DeviceTaps(self.on_radar_bytes, self.on_plc_transaction)

    def _ns(self, t_s: float) -> int:
        return round((t_s + self.epoch_offset_s) * 1e9)

    def finish(
        self,
        start_s: float,
        duration_s: float,
        stopped_early: bool,
        digest: str,
        summary: dict[str, Any],
    ) -> None:
        """The run's last message: how it ended and its scores (``RESULT_SCORES`` of the
        summary; a score that is not a finite number is recorded as null)."""
        scores = {
            key: value if _finite_or_none(value) else None
            for key, value in summary.items()
            if key in RESULT_SCORES
        }
        self.recorder.record_json(
            TOPIC_RESULT,
            self._ns(start_s + duration_s),
            {
                "start_s": start_s,
                "duration_s": duration_s,
                "stopped_early": stopped_early,
                "digest": digest,
                "scores": scores,
            },
        )

    # --- taps (called by the drivers on the event loop) ------------------------------------

    def on_radar_bytes(self, data: bytes, host_receive_time_s: float) -> None:
        self.recorder.record(TOPIC_RADAR_BYTES, self._ns(host_receive_time_s), bytes(data))

    def on_plc_transaction(self, transaction: PlcTransaction) -> None:
        message = dataclasses.asdict(transaction)
        message["outcome"] = str(transaction.outcome.value)
        message["values"] = list(transaction.values)
        message["response"] = list(transaction.response)
        self.recorder.record_json(
            TOPIC_PLC_TRANSACTIONS, self._ns(transaction.t_receive_s), message
        )

    # --- the observer -----------------------------------------------------------------------

    def run_ended(self, events: tuple[EngagementEvent, ...], final: LauncherStatus | None) -> None:
        """What closing the open engagement did, on the events topic (a FIRE seen through to
        its launch once the launcher was made safe is a ``launched`` event like any other)."""
        for event in events:
            self.recorder.record_json(TOPIC_EVENTS, self._ns(event.t_s), dataclasses.asdict(event))

    def observe(self, cycle_input: CycleInput, cycle_output: CycleOutput) -> None:
        t_s = cycle_input.t_s
        t_ns = self._ns(t_s)
        rec = self.recorder
        rec.record(TOPIC_CYCLE_INPUT, t_ns, encode_input(cycle_input))
        rec.record(TOPIC_CYCLE_OUTPUT, t_ns, encode_output(cycle_output))
        frame = cycle_input.frame
        latency = math.nan if frame is None else time.perf_counter() - frame.t_arrival_s
        rec.record(TOPIC_TIMING, t_ns, TIMING.pack(t_s, latency))
        for event in cycle_output.events:
            rec.record_json(TOPIC_EVENTS, self._ns(event.t_s), dataclasses.asdict(event))
            self._engaged[event.track_id] = event.kind
            if event.kind in ("aborted", "refused"):
                self._engaged.pop(event.track_id, None)
        interlocks = cycle_output.interlocks
        if interlocks is not None and interlocks != self._last_interlocks:
            self._last_interlocks = interlocks
            rec.record_json(
                TOPIC_INTERLOCKS,
                t_ns,
                {
                    "t_s": t_s,
                    "all_hold": interlocks.all_hold,
                    "failing": list(interlocks.failing),
                    "interlocks": dataclasses.asdict(interlocks),
                },
            )
        if frame is not None and len(frame):
            self._pending.append((frame.range_m, frame.az_rad, frame.el_rad))
        if t_s >= self._next_display_s:
            self._next_display_s = t_s + self._display_interval_s
            self._display(t_ns, cycle_input, cycle_output)

    def _display(self, t_ns: int, cycle_input: CycleInput, cycle_output: CycleOutput) -> None:
        """The plan view: the detections since the last display message, the track picture,
        the antenna's and the launcher's pointing, and the open engagements."""
        rec = self.recorder
        detections = np.empty((0, 3))
        if self._pending:
            parts = zip(*self._pending, strict=True)
            range_m, az_rad, el_rad = (np.concatenate(part) for part in parts)
            detections = self._site + polar_to_enu(range_m, az_rad + self._alignment, el_rad)
        self._pending = []
        rec.record_json(
            foxglove.TOPIC_DETECTIONS, t_ns, foxglove.detections_update(t_ns, detections)
        )
        picture = cycle_output.picture
        rec.record_json(
            foxglove.TOPIC_TRACKS,
            t_ns,
            foxglove.tracks_update(
                t_ns,
                picture.ids,
                picture.position_enu_m,
                picture.velocity_enu_mps,
                np.ones(len(picture.ids), dtype=bool),
            ),
        )
        frame = cycle_input.frame
        if frame is not None:
            rec.record_json(
                foxglove.TOPIC_RIG_POSE,
                t_ns,
                foxglove.rig_pose(
                    t_ns,
                    frame.beam_az_rad + self._alignment,
                    frame.beam_el_rad,
                    self._site,
                ),
            )
        status = cycle_input.launcher
        if math.isfinite(status.az_rad) and math.isfinite(status.el_rad):
            rec.record_json(
                TOPIC_LAUNCHER_POSE,
                t_ns,
                foxglove.rig_pose(
                    t_ns, status.az_rad, status.el_rad, self._launcher, child_frame_id="launcher"
                ),
            )
        rows = [int(i) for i, track in enumerate(picture.ids.tolist()) if track in self._engaged]
        rec.record_json(
            foxglove.TOPIC_ENGAGEMENTS,
            t_ns,
            foxglove.engagement_markers(
                t_ns,
                [int(picture.ids[i]) for i in rows],
                picture.position_enu_m[rows].reshape(-1, 3),
                [f"T{int(picture.ids[i])} {self._engaged[int(picture.ids[i])]}" for i in rows],
                self._launcher,
            ),
        )


def _finite_or_none(value: object) -> bool:
    return value is None or (isinstance(value, int | float) and math.isfinite(value))
