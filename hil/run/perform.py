"""One run of the fire-control loop on a rig: ``hil run`` without the command line.

The rig file's mode decides what the loop talks to (``hil.rig.RIG_BUILDERS``: sim, emulate,
bench, replay). The scenario's ``real`` targets are what the emulated/in-process radar sees;
its ``injected`` targets are added by the loop to every frame, on any rig. The antenna site is
the rig's: the scenario's ``[radar]`` site is replaced by the rig file's before anything is
built.

Faults at given times (``RunSettings.faults``, docs/faults.md) are checked
(``hil.rig.faults.check_faults``) before anything starts, then act on the emulators through a
schedule beside the loop, or in ``sim`` on the in-process models.

A rig file with a ``[telemetry]`` table publishes the run live over MQTT (``hil.telemetry``,
docs/telemetry.md; not in ``replay``): started before the rig is built, stopped last.

A run that needs no I/O — ``sim`` without telemetry, a ``replay`` as fast as possible and not
stepped (``runs_direct``) — can run with no event loop at all (``perform_run_now``): the same
cycle, observers and result through ``hil.loop.shell.DirectLoop``, several times faster than
through the async shell for the same loop. Everything else needs ``perform_run``.

The caller may add observers of every cycle (``perform_run(observers=...)``, made once the rig
is built) and tap the drivers' raw traffic (``DeviceTaps``): that is how a run is recorded
(``hil.run.recorded``).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Sequence
from contextlib import AsyncExitStack, ExitStack
from dataclasses import dataclass, field

from drivers.cancelling import cancel_and_wait
from drivers.errors import DriverError
from hil.errors import HilError
from hil.loop.injection import Injector
from hil.loop.launchers import CommandCounts
from hil.loop.observers import CycleObserver
from hil.loop.shell import DirectLoop, FireControlLoop, LoopResult, LoopShell
from hil.rig import DIRECT_RIG_BUILDERS, direct_rig_builder, rig_builder
from hil.rig.base import DeviceTaps, LinkDetails, Rig, RigBuilder, RunSettings, build_core, resite
from hil.rig.faults import check_faults, hardware_only
from hil.telemetry.session import RunIdentity, TelemetrySession, TelemetryStats

log = logging.getLogger(__name__)


@dataclass
class RunResult:
    mode: str
    settings: RunSettings
    loop: LoopResult
    emulated_devices: tuple[str, ...] = ()
    """Devices replaced by emulators on a bench rig (empty unless the fallback was used)."""
    notes: list[str] = field(default_factory=list)
    links: LinkDetails | None = None
    """The device links' counters at the end of the run (None in ``sim``: no links)."""
    telemetry: TelemetryStats | None = None
    """What the run's telemetry published and dropped (None: the rig has no telemetry)."""


class StopSwitch:
    """Lets a signal handler end a run cleanly: the loop finishes its cycle, the launcher is
    made safe, the emulators are stopped, and the summary is still printed."""

    def __init__(self) -> None:
        self.requested = False
        self._loop: LoopShell | None = None

    def attach(self, loop: LoopShell) -> None:
        self._loop = loop
        loop.stop_requested = self.requested

    def stop(self) -> None:
        self.requested = True
        if self._loop is not None:
            self._loop.stop_requested = True


ObserverFactory = Callable[[Rig], Sequence[CycleObserver]]
"""The caller's observers of a run, made once its rig is built (they may act on the rig)."""


async def perform_run(
    settings: RunSettings,
    observers: ObserverFactory | None = None,
    stop: StopSwitch | None = None,
    taps: DeviceTaps | None = None,
) -> RunResult:
    """One run of the loop on the settings' rig (see the module doc). ``observers`` adds the
    caller's observers of every cycle; ``stop`` lets a signal handler end the run early;
    ``taps`` receive the drivers' raw traffic (a recording)."""
    builder = rig_builder(settings.rig.rig.mode)
    _check_faults(settings)
    try:
        return await _perform(settings, builder, observers, stop or StopSwitch(), taps)
    except DriverError as error:
        raise _stopped(error) from error


def runs_direct(settings: RunSettings) -> bool:
    """The run needs no event loop (``perform_run_now`` can perform it): a ``sim`` run without
    telemetry (MQTT is I/O), or a ``replay`` as fast as possible and not single-stepped."""
    mode = settings.rig.rig.mode
    if mode not in DIRECT_RIG_BUILDERS:
        return False
    if mode == "replay":
        options = settings.replay
        return options is None or (options.rate is None and options.step is None)
    return settings.rig.telemetry is None


def perform_run_now(
    settings: RunSettings,
    observers: ObserverFactory | None = None,
    stop: StopSwitch | None = None,
) -> RunResult:
    """``perform_run`` with no event loop, for a run that needs none (``runs_direct``; a
    ``HilError`` otherwise): the same cycles, observers and result. There is nothing to tap."""
    builder = direct_rig_builder(settings.rig.rig.mode)
    if builder is None or not runs_direct(settings):
        raise HilError(
            f"a {settings.rig.rig.mode} run with telemetry or pacing needs the event loop "
            "(perform_run)"
        )
    _check_faults(settings)
    stop = stop or StopSwitch()
    scenario = resite(settings.scenario, settings.rig)
    try:
        with ExitStack() as stack:
            rig = builder(settings, scenario, stack)
            injector = Injector(scenario, settings.seed)
            loop = DirectLoop(
                rig.source,
                rig.launcher,
                build_core(settings.rig, scenario),
                injector=injector if len(injector) else None,
                truth=rig.truth,
                operator_armed=settings.armed,
                observers=list(observers(rig)) if observers is not None else [],
            )
            stop.attach(loop)
            log.info("run started: %s", rig.started)
            result = loop.run(settings.duration_s)
    except DriverError as error:
        raise _stopped(error) from error
    rig.notes.extend(command_notes(rig.launcher.counts))
    return RunResult(settings.rig.rig.mode, settings, result, (), rig.notes)


def _check_faults(settings: RunSettings) -> None:
    """The run's faults checked before anything starts (``hil.rig.faults.check_faults``)."""
    if settings.faults:
        mode = settings.rig.rig.mode
        real = hardware_only(mode, settings.rig.rig.allow_emulation_fallback)
        check_faults(settings.faults, mode, settings.duration_s, real_devices=real)


def _stopped(error: DriverError) -> HilError:
    return HilError(f"{error} (the run stopped; the launcher was made safe if reachable)")


async def _perform(
    settings: RunSettings,
    builder: RigBuilder,
    observers: ObserverFactory | None,
    stop: StopSwitch,
    taps: DeviceTaps | None,
) -> RunResult:
    scenario = resite(settings.scenario, settings.rig)
    identity = RunIdentity(
        settings.rig.rig.mode, scenario.scenario.name, settings.seed, settings.armed
    )
    telemetry = TelemetrySession.for_run(settings.rig, identity)
    # before any device link is up: building the tracker loads its compiled kernels (~1 s; a
    # cold numba cache compiles them), which would otherwise stall the links' watchdogs
    core = build_core(settings.rig, scenario)
    async with AsyncExitStack() as stack:
        if telemetry is not None:  # first in, last out: its final status follows the shutdown
            await stack.enter_async_context(telemetry)
        rig = await builder(settings, scenario, stack, taps or DeviceTaps())
        watchers = list(observers(rig)) if observers is not None else []
        if telemetry is not None:
            watchers.append(telemetry.observer(rig.source.now_s()))
        injector = Injector(scenario, settings.seed)
        loop = FireControlLoop(
            rig.source,
            rig.launcher,
            core,
            injector=injector if len(injector) else None,
            truth=rig.truth,
            operator_armed=settings.armed,
            observers=watchers,
        )
        stop.attach(loop)
        # the tasks beside the loop run in a task group; the loop's own errors are kept out of
        # it so they reach the caller as themselves, not wrapped in an ExceptionGroup
        failure: Exception | None = None
        beside = list(rig.beside)
        if rig.faults is not None:
            rig.faults.on_failure = stop.stop
            beside.append(("fault schedule", rig.faults.run))
        async with asyncio.TaskGroup() as group:
            helpers = [group.create_task(run(), name=name) for name, run in beside]
            try:
                if rig.ready is not None:
                    await rig.ready()
                log.info("run started: %s", rig.started)
                if rig.faults is not None:
                    rig.faults.start(rig.source.now_s())
                result = await loop.run(settings.duration_s)
            except Exception as error:
                failure = error
            finally:
                await cancel_and_wait(helpers)  # a lost cancel (pymodbus) is repeated
        if failure is not None:
            raise failure
        if rig.faults is not None and rig.faults.failure is not None:
            raise rig.faults.failure
        links = rig.links() if rig.links is not None else None
        rig.notes.extend(command_notes(rig.launcher.counts))
        # the notes list is the rig's: stopping its emulators may still add to it
        return RunResult(
            settings.rig.rig.mode,
            settings,
            result,
            tuple(rig.emulated),
            rig.notes,
            links,
            telemetry.stats if telemetry is not None else None,
        )


def command_notes(counts: CommandCounts) -> list[str]:
    """One note on failed launcher writes (the first message), none when all went out."""
    if not counts.failed:
        return []
    first = counts.errors[0] if counts.errors else "no message"
    return [f"{counts.failed} launcher writes failed (first: {first})"]
