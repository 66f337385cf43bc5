"""What every rig mode builds for one run, and what a run is asked to do.

- ``RunSettings`` (with ``ReplayOptions`` for ``replay``): one run's rig, scenario, duration,
  seed, arming and faults — what ``hil run``, a campaign or a test asks for.
- ``Rig``: what a mode's builder (``hil.rig.RIG_BUILDERS``) hands the loop — the frame source,
  the launcher, the ground truth to score against, the tasks beside the loop; ``DirectRig``:
  one that needs no I/O, built by ``hil.rig.DIRECT_RIG_BUILDERS`` for the loop with no event
  loop (``hil.loop.shell.DirectLoop``).
- ``DeviceTaps``: where the drivers' raw traffic goes (a recording); ``LinkDetails``: the
  links' counters at the end of the run.
- ``build_core``: a fresh loop core (tracker and fire control) for a rig over a scenario whose
  radar was put at the rig's antenna site (``resite``).

Positions are rig-local ENU metres; angles in the configs are degrees, radians once built.
"""

from __future__ import annotations

import math
from collections.abc import Awaitable, Callable, Coroutine
from contextlib import AsyncExitStack, ExitStack
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from drivers.plc.transaction import TransactionTap
from drivers.radar.driver import BytesTap
from hil.config.rig import RigConfig
from hil.config.scenario import ScenarioConfig
from hil.fire_control.engagement import Engagement
from hil.loop.core import LoopCore
from hil.loop.launchers import CommandCounts, DirectLauncher, Launcher
from hil.loop.sources import DirectFrameSource, FrameSource
from hil.loop.timing import Histogram
from hil.rig.fault_schedule import FaultSchedule
from hil.rig.faults import FaultEvent
from hil.tracking.measurement import PolarSensor
from hil.tracking.tracker import Tracker
from sim.targets import TargetSet


@dataclass(frozen=True)
class ReplayOptions:
    """What a ``replay`` run plays: the recording, the pace (``rate`` × recorded speed; None:
    as fast as possible), the window (seconds after the recording's first message), the
    launcher (``recorded``: open loop; ``model``: the in-process PLC model, closed loop) and the
    frames (``raw``: re-decoded from the raw radar bytes; ``recorded``: as decoded then; None:
    raw when the recording has raw bytes)."""

    path: Path
    rate: float | None = None
    from_s: float | None = None
    to_s: float | None = None
    launcher: Literal["recorded", "model"] = "recorded"
    frames: Literal["raw", "recorded"] | None = None
    step: Callable[[], Awaitable[None]] | None = None
    """Single-stepping: awaited before each cycle is played (e.g. the operator's Enter)."""


@dataclass(frozen=True)
class RunSettings:
    rig: RigConfig
    scenario: ScenarioConfig
    scenario_file: Path
    duration_s: float
    seed: int = 0
    armed: bool = False
    """The operator armed the session (``--arm``). Nothing arms otherwise."""
    rig_overrides: tuple[str, ...] = ()
    replay: ReplayOptions | None = None
    """The recording a ``replay`` run plays (None for every other mode)."""
    faults: tuple[FaultEvent, ...] = ()
    """Faults injected at given times (``hil.rig.faults``, docs/faults.md): on the emulators
    beside the loop (``hil.rig.fault_schedule``), in ``sim`` on the in-process models
    (``hil.rig.sim_faults``); refused on real bench devices and in ``replay``."""


@dataclass
class LinkDetails:
    """The drivers' health snapshots at the end of the loop (dataclasses, serialised
    generically: fields the drivers add appear in the summary), the radar's longest silence
    as the loop saw it, and what became of the launcher commands."""

    radar_health: object
    plc_health: object
    radar_longest_silence_s: float
    commands: CommandCounts
    command_delivery: Histogram


@dataclass
class Rig:
    """What one run's loop talks to, built by its rig mode's builder (``hil.rig.RIG_BUILDERS``):
    the frame source and launcher, the ground truth to score against, the tasks that run
    beside the loop (name, coroutine function), and what to wait for before the first cycle."""

    source: FrameSource
    launcher: Launcher
    truth: TargetSet
    started: str
    """How the run's start is logged (``sim, 30 s of simulated time``)."""
    beside: tuple[tuple[str, Callable[[], Coroutine[Any, Any, None]]], ...] = ()
    ready: Callable[[], Awaitable[None]] | None = None
    emulated: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    links: Callable[[], LinkDetails] | None = None
    """The links' details once the loop has ended (None: the rig has no device links)."""
    faults: FaultSchedule | None = None
    """The run's faults taken beside the loop (None: none, or applied in process)."""


@dataclass
class DirectRig(Rig):
    """A rig that needs no I/O (sim, a replay as fast as possible): its frame source and
    launcher also run without an event loop; nothing runs beside the loop."""

    source: DirectFrameSource
    launcher: DirectLauncher


@dataclass(frozen=True)
class DeviceTaps:
    """What the drivers of a run hand to the recorder: every raw radar chunk as received
    (``drivers.radar.driver.BytesTap``) and every PLC request with its answer
    (``drivers.plc.driver.TransactionTap``). None: not tapped."""

    radar_bytes: BytesTap | None = None
    plc_transactions: TransactionTap | None = None


RigBuilder = Callable[[RunSettings, ScenarioConfig, AsyncExitStack, DeviceTaps], Awaitable[Rig]]
"""Builds a rig mode's ``Rig`` for a run over the resited scenario, its drivers tapped by the
``DeviceTaps``; what it opens (processes, drivers) it leaves on the exit stack, closed after
the launcher was made safe."""


DirectRigBuilder = Callable[[RunSettings, ScenarioConfig, ExitStack], DirectRig]
"""Builds a rig mode's ``DirectRig`` for a run over the resited scenario, with no event loop;
what it opens (a recording) it leaves on the exit stack."""


def resite(scenario: ScenarioConfig, rig: RigConfig) -> ScenarioConfig:
    """The scenario with its radar at the rig's antenna site and north alignment."""
    radar = scenario.radar.model_copy(
        update={
            "position_enu_m": rig.radar.position_enu_m,
            "north_alignment_deg": rig.radar.north_alignment_deg,
        }
    )
    return scenario.model_copy(update={"radar": radar})


def site_overrides(rig: RigConfig) -> list[str]:
    """``hil stub radar --set`` arguments that put the emulated antenna at the rig's site."""
    e, n, u = rig.radar.position_enu_m
    return [
        "--set",
        f"radar.position_enu_m=[{e!r}, {n!r}, {u!r}]",
        "--set",
        f"radar.north_alignment_deg={rig.radar.north_alignment_deg!r}",
    ]


def build_tracker(rig: RigConfig) -> Tracker:
    sensor = PolarSensor(rig.radar.position_enu_m, math.radians(rig.radar.north_alignment_deg))
    return Tracker(rig.tracker, sensor)


def build_engagement(rig: RigConfig) -> Engagement:
    return Engagement(rig.fire_control, rig.launcher.position_enu_m)


def build_core(rig: RigConfig, scenario: ScenarioConfig) -> LoopCore:
    """A fresh loop core for ``rig`` over the (resited) ``scenario``."""
    beamwidth = math.radians(scenario.radar.beamwidth_deg)
    return LoopCore(build_tracker(rig), build_engagement(rig), beamwidth)
