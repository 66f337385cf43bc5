"""Frame sources: where the loop's radar frames come from.

Both yield :class:`TaggedFrame` objects — or ``None`` when no frame came within the idle
timeout, so the loop still runs its fire control and notices a silent radar — and say how old
the newest frame is on the loop clock.

- :class:`SimulatedRadar`: the in-process sensor model over the scenario's ``real`` targets,
  dwell by dwell on a simulated clock (as fast as the CPU allows, deterministic by seed).
- :class:`DriverRadar`: the radar driver (bench or emulated radar). The loop clock is the host
  monotonic clock; each frame's time is its device time mapped to the host clock by the driver.
  Scenario time is the radar's device time (the emulated radar starts its scenario at boot) or
  the time since the run started (a bench radar's clock is unrelated to the scenario).
"""

from __future__ import annotations

import math
import time
from collections.abc import AsyncGenerator
from typing import Literal, Protocol

import numpy as np

from drivers.errors import DriverTimeoutError
from drivers.radar.driver import RadarDriver
from drivers.radar.messages import Detections
from hil.loop.frames import TaggedFrame, frame_from_dwell
from hil.scenario import SimulatedScenario
from sim.clock import SimClock


class FrameSource(Protocol):
    name: str
    real_time: bool
    """Frames arrive at the radar's pace (arrival jitter means something)."""

    def frames(self) -> AsyncGenerator[TaggedFrame | None, None]: ...

    def frame_age_s(self, now_s: float) -> float:
        """Loop-clock seconds since the newest frame (inf before the first)."""
        ...

    def now_s(self) -> float:
        """The loop clock (s)."""
        ...


class SimulatedRadar:
    """The in-process sensor model on a simulated clock (see the module doc)."""

    name = "in-process sensor model"
    real_time = False

    def __init__(
        self, scenario: SimulatedScenario, seed: int, duration_s: float, clock: SimClock
    ) -> None:
        self.scenario = scenario
        self.duration_s = duration_s
        self.clock = clock
        self._rng = np.random.default_rng(seed)
        self._last_frame_s = -math.inf

    def now_s(self) -> float:
        return self.clock.now()

    def frame_age_s(self, now_s: float) -> float:
        return now_s - self._last_frame_s

    async def frames(self) -> AsyncGenerator[TaggedFrame | None, None]:
        scan, sensor, targets = self.scenario.scan, self.scenario.sensor, self.scenario.targets
        for t in scan.dwell_centres(0.0, self.duration_s).tolist():
            self.clock.advance_to(t)
            dwell = sensor.observe(scan.pose_at(t), targets.state_at(t), self._rng)
            arrival = time.perf_counter()  # the radar model's own time is not loop latency
            self._last_frame_s = t
            yield frame_from_dwell(dwell, t, t, arrival)


class DriverRadar:
    """Frames from the radar driver (see the module doc). ``sweep_rad`` is the azimuth arc the
    beam covers during one dwell at the commanded turntable speed."""

    def __init__(
        self,
        driver: RadarDriver,
        sweep_rad: float,
        scenario_time: Literal["device", "run"],
        idle_timeout_s: float = 0.1,
    ) -> None:
        self.driver = driver
        self.name = driver.name
        self.real_time = True
        self.sweep_rad = sweep_rad
        self.scenario_time = scenario_time
        self.idle_timeout_s = idle_timeout_s
        self.started_s = time.monotonic()
        self.non_detection_messages = 0

    def now_s(self) -> float:
        return time.monotonic()

    def frame_age_s(self, now_s: float) -> float:
        age = self.driver.last_frame_age_s
        return math.inf if age is None else age

    async def frames(self) -> AsyncGenerator[TaggedFrame | None, None]:
        while True:
            try:
                received = await self.driver.receive(self.idle_timeout_s)
            except DriverTimeoutError:
                yield None
                continue
            message = received.message
            if not isinstance(message, Detections):
                self.non_detection_messages += 1
                continue
            t = received.t_host_s
            device = self.scenario_time == "device"
            scenario_t = message.t_us / 1e6 if device else t - self.started_s
            n = len(message.range_m)
            # the arrival on the latency clock: the driver's host receive time, re-based
            arrival = time.perf_counter() - (time.monotonic() - received.t_rx_host_s)
            yield TaggedFrame(
                t,
                scenario_t,
                message.scan_id,
                message.antenna_az_rad,
                message.antenna_el_rad,
                self.sweep_rad,
                message.range_m,
                message.az_rad,
                message.el_rad,
                message.vr_mps,
                np.zeros(n, bool),
                np.full(n, -1, np.int64),
                arrival,
            )
