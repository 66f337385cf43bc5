"""Frame sources: where the loop's radar frames come from.

Both yield :class:`TaggedFrame` objects — or ``None`` when no frame came within the idle
timeout, so the loop still runs its fire control and notices a silent radar — and say how old
the newest frame is on the loop clock.

- :class:`SimulatedRadar`: the in-process sensor model over the scenario's ``real`` targets,
  dwell by dwell on a simulated clock (as fast as the CPU allows, deterministic by seed). It is
  a :class:`DirectFrameSource`: ``frames_now`` is a plain iterator for the loop with no event
  loop; ``frames`` is the same iterator for the async shell (``yielding``), handing control
  back to the event loop every ``YIELD_INTERVAL_S`` of wall time so signal handlers (Ctrl-C,
  SIGTERM) run during a long run; wall time never reaches the simulation.
- :class:`DriverRadar`: the radar driver (bench or emulated radar). The loop clock is the host
  monotonic clock; each frame's time is its device time mapped to the host clock by the driver.
  Scenario time is the radar's device time (the emulated radar starts its scenario at boot) or
  the time since the run started (a bench radar's clock is unrelated to the scenario).
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import math
import time
from collections.abc import AsyncGenerator, Generator
from typing import Literal, Protocol

import numpy as np

from drivers.errors import DriverTimeoutError
from drivers.radar.driver import RadarDriver
from drivers.radar.messages import Detections
from hil.loop.injection import TaggedFrame, frame_from_dwell
from hil.loop.sim_scenario import SimulatedScenario
from sim.clock import SimClock

YIELD_INTERVAL_S = 0.02
"""Wall-clock seconds between the simulated radar's yields to the event loop (bounds how long
a stop request waits; ~1 yield per 50 dwells at today's speed, no measurable cost)."""


class FrameClock(Protocol):
    """What a cycle reads from a frame source beside its frames (both loop shells)."""

    name: str
    real_time: bool
    """Frames arrive at the radar's pace (arrival jitter means something)."""

    def frame_age_s(self, now_s: float) -> float:
        """Loop-clock seconds since the newest frame (inf before the first)."""
        ...

    def now_s(self) -> float:
        """The loop clock (s)."""
        ...

    def link_problem(self) -> str:
        """What is wrong with the frames right now, in a few words (for the log)."""
        ...


class FrameSource(FrameClock, Protocol):
    """Frames for the async shell (``hil.loop.shell.FireControlLoop``)."""

    def frames(self) -> AsyncGenerator[TaggedFrame | None, None]: ...


class DirectFrameSource(FrameSource, Protocol):
    """A frame source that needs no I/O: ``frames_now`` yields the same frames as ``frames``,
    for the loop with no event loop (``hil.loop.shell.DirectLoop``)."""

    def frames_now(self) -> Generator[TaggedFrame | None, None, None]: ...


async def yielding(
    frames: Generator[TaggedFrame | None, None, None],
) -> AsyncGenerator[TaggedFrame | None, None]:
    """``frames`` (an in-process source's, computed as fast as the CPU allows) for the async
    shell: control goes back to the event loop every ``YIELD_INTERVAL_S`` of wall time — nothing
    else awaits, and without it the event loop would never run its signal handlers, so a stop
    request would wait for the end of the run. A frame yielded after such a pause is stamped
    as arriving after it (the pause is not loop latency)."""
    next_yield = time.perf_counter() + YIELD_INTERVAL_S
    with contextlib.closing(frames):
        for frame in frames:
            if time.perf_counter() >= next_yield:
                await asyncio.sleep(0)
                arrival = time.perf_counter()
                next_yield = arrival + YIELD_INTERVAL_S
                if frame is not None:
                    frame = dataclasses.replace(frame, t_arrival_s=arrival)
            yield frame


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

    def link_problem(self) -> str:
        return "in-process model (no link)"

    def frames(self) -> AsyncGenerator[TaggedFrame | None, None]:
        return yielding(self.frames_now())

    def frames_now(self) -> Generator[TaggedFrame | None, None, None]:
        scan, sensor, targets = self.scenario.scan, self.scenario.sensor, self.scenario.targets
        for t in scan.iter_dwell_centres(0.0, self.duration_s):
            self.clock.advance_to(t)
            dwell = sensor.observe(scan.pose_at(t), targets.state_at(t), self._rng)
            arrival = time.perf_counter()  # the radar model's own time is not loop latency
            self._last_frame_s = t
            yield frame_from_dwell(dwell, t, t, arrival)


class DriverRadar:
    """Frames from the radar driver (see the module doc). ``sweep_rad`` is the azimuth arc the
    beam covers during one dwell at the commanded turntable speed. The frame age and
    ``longest_silence_s`` count DETECTIONS frames only (host monotonic s): a radar that answers
    pings but sends no frames is silent."""

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
        self.longest_silence_s = 0.0
        """The longest gap between DETECTIONS frames (from the start, to the last call of
        ``frame_age_s``)."""
        self._last_frame_s = self.started_s
        self._have_frame = False

    def now_s(self) -> float:
        return time.monotonic()

    def frame_age_s(self, now_s: float) -> float:
        """Since the newest frame's arrival, on the host clock now (``now_s``, a frame's
        device time mapped to the host, can lie before its own arrival)."""
        age = self.now_s() - self._last_frame_s
        self.longest_silence_s = max(self.longest_silence_s, age)
        return age if self._have_frame else math.inf

    def link_problem(self) -> str:
        age = self.now_s() - self._last_frame_s
        health = self.driver.health()
        what = f"no frame for {age:.1f} s" if self._have_frame else "no frame yet"
        return f"{what}, link {health.link_state}" + (
            f" ({health.last_error})" if health.last_error else ""
        )

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
            self.longest_silence_s = max(
                self.longest_silence_s, received.t_rx_host_s - self._last_frame_s
            )
            self._last_frame_s = received.t_rx_host_s
            self._have_frame = True
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
