"""A ``sim`` run's faults, applied in process on the simulated clock (deterministic by seed).

Times count from the loop's start (simulated time 0); each action takes effect at the first
dwell (10 ms) or PLC scan at or after its time and is noted in the run's notes.

The faulted radar and launcher below run with or without an event loop, as the in-process
radar and launcher they wrap do.

Radar faults take frames away from the in-process radar (:class:`FaultedSimRadar`); the sensor
model still runs every dwell, so the frames that do arrive are the ones a run without the
fault would have had. While no frame arrives the loop still cycles every ``IDLE_TIMEOUT_S``, as
on the driver's idle timeout, so it sees the radar fall silent:

- ``radar_stall``: no frame for ``duration_s``;
- ``radar_disconnect``: no frame for ``RECONNECT_S`` (0.1 s), the driver's first reconnect
  backoff: on the emulated rig the driver sees the pty hang up and opens the new one at once
  (longest gap between frames over the hang-up, 4 runs: 17–126 ms, no frame lost: those sent
  meanwhile wait in the new pty), so the driver's 2 s worst-case backoff is not what happens;
- ``radar_corrupt``: each frame is lost with the chance that one of its bytes is corrupted,
  1 − (1 − rate)^bytes (a corrupted frame fails its CRC and is dropped by the driver).

PLC faults act on the in-process PLC model (:class:`FaultedLauncher`):

- ``estop`` / ``interlock_open``: the bench panel's inputs, as on the emulated PLC;
- ``plc_delay``: the PLC answers ``value`` ms late: the loop sees a status that old and its
  writes reach the model that much later (there is no link to time out in process);
- ``plc_drop``: the launcher's next ``value`` writes are lost, each counted as a failed write
  (the launcher then re-sends its whole state, as after a timeout on the wire).
"""

from __future__ import annotations

import collections
import contextlib
import math
from collections.abc import AsyncGenerator, Generator, Sequence

import numpy as np

from drivers.errors import DriverTimeoutError
from drivers.plc.types import Mode
from drivers.radar.framing import CRC_SIZE, HEADER_SIZE
from drivers.radar.messages import DETECTION_RECORD, DETECTIONS_HEADER
from firmware_stubs.plc.model import PlcModel
from hil.fire_control.engagement import Demand
from hil.fire_control.interlocks import LauncherStatus
from hil.loop.injection import TaggedFrame
from hil.loop.launchers import InProcessLauncher, LauncherWrites
from hil.loop.sources import SimulatedRadar, yielding
from hil.rig.fault_schedule import FaultAction, note, timeline
from hil.rig.faults import RADAR_FAULTS, FaultEvent

RECONNECT_S = 0.1
"""A ``radar_disconnect`` in sim: seconds without frames (see the module doc)."""
IDLE_TIMEOUT_S = 0.1
"""Simulated seconds between the loop's cycles while no frame arrives (the driver's default)."""
FAULT_SEED_SALT = 0x_FA_017
"""Mixed into the run's seed for the corruption draws (independent of the sensor's noise)."""


def frame_bytes(detections: int) -> int:
    """Bytes on the wire of a DETECTIONS frame with ``detections`` records."""
    return HEADER_SIZE + DETECTIONS_HEADER.size + detections * DETECTION_RECORD.itemsize + CRC_SIZE


class FaultedSimRadar:
    """The in-process radar with the run's radar faults (see the module doc)."""

    real_time = False

    def __init__(
        self, radar: SimulatedRadar, faults: Sequence[FaultEvent], seed: int, notes: list[str]
    ) -> None:
        self.radar = radar
        self.name = radar.name
        self.notes = notes
        self._actions = collections.deque(
            a for a in timeline(faults) if a.fault.kind in RADAR_FAULTS
        )
        self._rng = np.random.default_rng([seed, FAULT_SEED_SALT])
        self._silent_until = -math.inf
        self._corrupt_rate = 0.0
        self._last_frame_s = -math.inf
        self._last_cycle_s = -math.inf
        self.frames_lost = 0

    def now_s(self) -> float:
        return self.radar.now_s()

    def frame_age_s(self, now_s: float) -> float:
        return now_s - self._last_frame_s

    def link_problem(self) -> str:
        return f"in-process model: {self.frames_lost} frames lost to injected faults"

    def frames(self) -> AsyncGenerator[TaggedFrame | None, None]:
        return yielding(self.frames_now())

    def frames_now(self) -> Generator[TaggedFrame | None, None, None]:
        with contextlib.closing(self.radar.frames_now()) as frames:
            for frame in frames:
                if frame is None:
                    yield None
                    continue
                t = frame.t_s
                self._take_until(t)
                if self._lost(t, len(frame)):
                    self.frames_lost += 1
                    if t - self._last_cycle_s >= IDLE_TIMEOUT_S:
                        self._last_cycle_s = t
                        yield None  # the loop's idle cycle: it sees the silence
                    continue
                self._last_frame_s = self._last_cycle_s = t
                yield frame

    def _lost(self, t_s: float, detections: int) -> bool:
        if t_s < self._silent_until:
            return True
        if not self._corrupt_rate:
            return False
        intact = (1.0 - self._corrupt_rate) ** frame_bytes(detections)
        return bool(self._rng.random() >= intact)

    def _take_until(self, t_s: float) -> None:
        while self._actions and self._actions[0].t_s <= t_s:
            action = self._actions.popleft()
            self.notes.append(note(action, t_s, self._take(action, t_s)))

    def _take(self, action: FaultAction, t_s: float) -> str:
        fault = action.fault
        if fault.kind == "radar_corrupt":
            self._corrupt_rate = 0.0 if action.undo else fault.value
            if action.undo:
                return "radar corruption ended"
            return f"radar corrupting {fault.value:g} per byte"
        if fault.kind == "radar_stall":
            if action.undo:
                return "radar stall over"
            self._silent_until = max(self._silent_until, fault.at_s + fault.duration_s)
            return f"radar stalled for {fault.duration_s:g} s"
        self._silent_until = max(self._silent_until, t_s + RECONNECT_S)
        return f"radar link hung up (no frames for {RECONNECT_S:g} s)"


class _DroppingWrites:
    """The model's writes, of which the next ``drop`` are lost (as unanswered requests)."""

    def __init__(self, writes: LauncherWrites) -> None:
        self.writes = writes
        self.drop = 0

    def _lose(self) -> bool:
        if self.drop <= 0:
            return False
        self.drop -= 1
        return True

    def _check(self) -> None:
        if self._lose():
            raise DriverTimeoutError("request dropped by the PLC (injected fault)")

    async def point(self, az_rad: float, el_rad: float) -> None:
        self._check()
        await self.writes.point(az_rad, el_rad)

    async def set_mode(self, mode: Mode) -> None:
        self._check()
        await self.writes.set_mode(mode)

    async def enable_axes(self, enabled: bool) -> None:
        self._check()
        await self.writes.enable_axes(enabled)

    async def request_arm(self, armed: bool) -> None:
        self._check()
        await self.writes.request_arm(armed)

    async def request_fire(self) -> None:
        self._check()
        await self.writes.request_fire()


class FaultedLauncher(InProcessLauncher):
    """The in-process PLC model with the run's PLC faults (see the module doc)."""

    def __init__(self, model: PlcModel, faults: Sequence[FaultEvent], notes: list[str]) -> None:
        super().__init__(model)
        self.notes = notes
        self._actions = collections.deque(
            a for a in timeline(faults) if a.fault.kind not in RADAR_FAULTS
        )
        self._dropping = _DroppingWrites(self._writes)
        self._writes = self._dropping  # type: ignore[assignment]
        self._delay_s = 0.0
        self._pending: collections.deque[tuple[float, Demand]] = collections.deque()
        self._history: collections.deque[LauncherStatus] = collections.deque()

    def status_at(self, t_s: float) -> LauncherStatus:
        while self._actions and self._actions[0].t_s <= t_s:
            action = self._actions.popleft()
            self.advance_to(max(self._t_s, action.t_s))
            self.notes.append(note(action, self._t_s, self._take(action)))
        status = super().status_at(t_s)
        if not self._delay_s:
            self._history.clear()
            return status
        self._history.append(status)
        while len(self._history) > 1 and self._history[1].t_s <= t_s - self._delay_s:
            self._history.popleft()
        return self._history[0]

    async def apply(self, demand: Demand) -> None:
        if self._delay_s or self._pending:
            self._pending.append((self._t_s + self._delay_s, demand))
        else:
            await super().apply(demand)
        while self._pending and self._pending[0][0] <= self._t_s:
            await super().apply(self._pending.popleft()[1])

    async def make_safe(self) -> LauncherStatus | None:
        self._delay_s = 0.0
        while self._pending:  # what was on its way arrives, then the safe demand
            await super().apply(self._pending.popleft()[1])
        return await super().make_safe()

    def _note(self, message: str) -> None:
        if len(self.counts.errors) < 100:
            self.counts.errors.append(message)

    def _take(self, action: FaultAction) -> str:
        fault, undo = action.fault, action.undo
        if fault.kind == "estop":
            self.model.estop_pressed = not undo
            return "e-stop released" if undo else "e-stop pressed"
        if fault.kind == "interlock_open":
            self.model.interlock_open = not undo
            return "interlock chain closed" if undo else "interlock chain opened"
        if fault.kind == "plc_delay":
            self._delay_s = 0.0 if undo else fault.value / 1000
            return "PLC answers on time again" if undo else f"PLC answering {fault.value:g} ms late"
        self._dropping.drop = round(fault.value)
        return f"PLC leaving its next {round(fault.value)} requests unanswered"
