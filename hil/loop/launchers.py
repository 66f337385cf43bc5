"""Launcher interfaces: what the loop's demands are sent to.

Both turn a :class:`Demand` into PLC writes — only what changed (mode, axes enable, arm
request) plus the pointing setpoints every cycle while pointing and one FIRE pulse per launch
request (``plan``) — and report the newest :class:`LauncherStatus`.

- :class:`InProcessLauncher`: the emulated PLC's scan logic (``firmware_stubs.plc.model``, the
  same code the Modbus emulator runs), scanned every 10 ms of simulated time, written through
  the same register map and word encoding as the wire, inside the cycle (deterministic). It
  is also a :class:`DirectLauncher`: its writes never wait, so a loop with no event loop runs
  them at once (``run_now``).
- ``hil.loop.plc_launcher.PlcLauncher``: the PLC driver (bench or emulated PLC), its status
  polled and its commands written by tasks beside the loop, so a slow PLC never stalls a cycle.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable, Coroutine
from dataclasses import dataclass, field
from typing import Any, Protocol, TypeVar, cast

from drivers.errors import DriverError
from drivers.plc.driver import PlcStatus, pointing_words
from drivers.plc.register_map import RegisterMap, load_register_map
from drivers.plc.types import Coil, Mode
from firmware_stubs.plc.model import SCAN_MS, PlcModel
from hil.fire_control.engagement import Demand
from hil.fire_control.interlocks import LauncherStatus

log = logging.getLogger(__name__)
HEARTBEAT_MS = 100
T = TypeVar("T")


@dataclass
class SentState:
    """What the launcher has been told so far (None: not yet)."""

    mode: Mode | None = None
    axes_enabled: bool | None = None
    arm: bool | None = None


@dataclass
class CommandCounts:
    """Writes made, by kind (``fire``: FIRE requests that went on the wire)."""

    point: int = 0
    mode: int = 0
    axes: int = 0
    arm: int = 0
    fire: int = 0
    failed: int = 0
    """Writes that raised (no answer, link lost, refused by the PLC)."""
    fire_dropped: int = 0
    """FIRE requests never sent: not on the wire within their window, or overtaken by a disarm."""
    coalesced: int = 0
    """Demands replaced by a newer one before they were written (never written)."""
    status_failures: int = 0
    """Status reads that failed."""
    errors: list[str] = field(default_factory=list)
    """The first failure messages (at most 100)."""


@dataclass(frozen=True, slots=True)
class Op:
    """One write: ``what`` is point (az/el rad), mode, axes / arm (flag) or fire."""

    what: str
    flag: bool = False
    mode: Mode = Mode.IDLE
    az_rad: float = math.nan
    el_rad: float = math.nan


def plan(demand: Demand, sent: SentState) -> list[Op]:
    """The writes that bring the launcher to ``demand``, in sending order — a disarm goes
    first, the FIRE pulse last."""
    ops: list[Op] = []
    if sent.arm is not False and not demand.arm:
        ops.append(Op("arm", False))
    mode = Mode.POINTING if demand.pointing else Mode.IDLE
    if sent.axes_enabled != demand.axes_enabled:
        ops.append(Op("axes", demand.axes_enabled))
    if demand.pointing and math.isfinite(demand.az_rad) and math.isfinite(demand.el_rad):
        ops.append(Op("point", az_rad=demand.az_rad, el_rad=demand.el_rad))
    if sent.mode != mode:
        ops.append(Op("mode", mode=mode))
    if demand.arm and sent.arm is not True:
        ops.append(Op("arm", True))
    if demand.fire:
        ops.append(Op("fire", True))
    return ops


class LauncherWrites(Protocol):
    """The PLC writes a launcher makes (``PlcDriver`` has exactly these)."""

    async def point(self, az_rad: float, el_rad: float) -> None: ...

    async def set_mode(self, mode: Mode) -> None: ...

    async def enable_axes(self, enabled: bool) -> None: ...

    async def request_arm(self, armed: bool) -> None: ...

    async def request_fire(self) -> None: ...


async def send(
    demand: Demand,
    writes: LauncherWrites,
    sent: SentState,
    counts: CommandCounts,
    note: Callable[[str], None],
) -> None:
    """Send the writes ``plan`` asks for. A failed write is counted and noted and ends this
    cycle's sending; after a failed level write (mode, axes, arm) the whole state is resent
    next cycle. FIRE is counted when attempted and never re-sent."""
    for op in plan(demand, sent):
        try:
            await write_op(op, writes, sent, counts)
        except DriverError as error:
            counts.failed += 1
            note(f"{op.what}: {error}")
            if op.what in LEVEL_WRITES:
                sent.mode = sent.axes_enabled = sent.arm = None
            return


LEVEL_WRITES = ("arm", "axes", "mode")
"""Writes of a state the PLC holds; after one fails, what it holds is not known."""


async def write_op(op: Op, writes: LauncherWrites, sent: SentState, counts: CommandCounts) -> None:
    """One write of ``plan``, then recorded in ``sent`` and ``counts`` (a FIRE is counted when
    attempted: it may reach the PLC even if the answer does not). Raises ``DriverError``."""
    if op.what == "point":
        await writes.point(op.az_rad, op.el_rad)
        counts.point += 1
    elif op.what == "mode":
        await writes.set_mode(op.mode)
        sent.mode = op.mode
        counts.mode += 1
    elif op.what == "axes":
        await writes.enable_axes(op.flag)
        sent.axes_enabled = op.flag
        counts.axes += 1
    elif op.what == "arm":
        await writes.request_arm(op.flag)
        sent.arm = op.flag
        counts.arm += 1
    elif op.what == "fire":
        counts.fire += 1
        await writes.request_fire()


class _ModelWrites:
    """``LauncherWrites`` on the in-process PLC model, through the register map's words."""

    def __init__(self, model: PlcModel, register_map: RegisterMap) -> None:
        self.model, self.map = model, register_map

    async def point(self, az_rad: float, el_rad: float) -> None:
        words = pointing_words(self.map, az_rad, el_rad)
        self.model.write_holding(self.map, self.map["AZ_SETPOINT"].address, words)

    async def set_mode(self, mode: Mode) -> None:
        spec = self.map["MODE"]
        self.model.write_holding(self.map, spec.address, spec.to_words(int(mode)))

    async def enable_axes(self, enabled: bool) -> None:
        self.model.write_coil(Coil.AXES_ENABLE, enabled)

    async def request_arm(self, armed: bool) -> None:
        self.model.write_coil(Coil.ARM_REQUEST, armed)

    async def request_fire(self) -> None:
        self.model.write_coil(Coil.FIRE, True)


class LauncherView(Protocol):
    """What a cycle reads from a launcher (both loop shells, ``hil.loop.shell``)."""

    name: str
    counts: CommandCounts

    def status_at(self, t_s: float) -> LauncherStatus:
        """The status a cycle at loop time ``t_s`` (s) sees: the in-process model first runs
        its scans up to ``t_s``; a PLC's is the newest one polled."""
        ...

    def link_problem(self) -> str:
        """What is wrong with the link right now, in a few words (for the log)."""
        ...


class Launcher(LauncherView, Protocol):
    """A launcher the async shell (``hil.loop.shell.FireControlLoop``) commands."""

    def status(self) -> LauncherStatus: ...

    async def apply(self, demand: Demand) -> None: ...

    async def make_safe(self) -> LauncherStatus | None:
        """Disarm, stop pointing, disable the axes; the final status, or None if unknown."""
        ...


class DirectLauncher(Launcher, Protocol):
    """A launcher that needs no I/O, so a loop with no event loop (``hil.loop.shell.DirectLoop``)
    can apply its demands: ``apply_now`` and ``make_safe_now`` do what ``apply`` and
    ``make_safe`` do, at once."""

    def apply_now(self, demand: Demand) -> None: ...

    def make_safe_now(self) -> LauncherStatus | None: ...


def run_now(step: Coroutine[Any, Any, T]) -> T:
    """Run a coroutine that never suspends (an in-process launcher's writes: nothing in them
    awaits I/O) to its end, without an event loop: the same code as the async shell runs, not
    a copy of it. ``RuntimeError`` if it does suspend (it needed an event loop after all)."""
    try:
        step.send(None)
    except StopIteration as done:
        return cast("T", done.value)
    step.close()
    raise RuntimeError("an in-process launcher's write waited for I/O (needs an event loop)")


class InProcessLauncher:
    """The PLC's scan logic in process, on the simulated clock (see the module doc)."""

    name = "in-process PLC model"

    def __init__(self, model: PlcModel | None = None, register_map: RegisterMap | None = None):
        self.model = model or PlcModel()
        self.map = register_map or load_register_map()
        self.counts = CommandCounts()
        self._sent = SentState()
        self._writes = _ModelWrites(self.model, self.map)
        self._t_s = 0.0
        self._next_heartbeat_ms = 0

    def advance_to(self, t_s: float) -> None:
        """Run PLC scans up to ``t_s`` (s), toggling the heartbeat every 100 ms as a host."""
        m = self.model
        while m.time_ms + SCAN_MS <= t_s * 1e3 + 1e-6:
            if m.time_ms >= self._next_heartbeat_ms:
                m.write_coil(Coil.HEARTBEAT, not m.coils[Coil.HEARTBEAT])
                self._next_heartbeat_ms = m.time_ms + HEARTBEAT_MS
            m.scan()
        self._t_s = t_s

    def status_at(self, t_s: float) -> LauncherStatus:
        """The model scanned up to ``t_s`` (s), then its status."""
        self.advance_to(t_s)
        return self.status()

    def status(self) -> LauncherStatus:
        m = self.model
        return LauncherStatus(
            t_s=self._t_s,
            link_up=True,
            az_rad=m.az.position_rad,
            el_rad=m.el.position_rad,
            arm_state=int(m.arm_state),
            ready_to_fire=m.ready_to_fire,
            in_position=m.in_position,
            estop_ok=m.estop_ok_input,
            interlock_chain_ok=m.chain_ok_input,
            fault_code=int(m.fault_code),
            launch_count=m.launch_count,
            fire_reject_count=m.fire_reject_count,
            rounds_ready=m.rounds_ready,
        )

    async def apply(self, demand: Demand) -> None:
        await send(demand, self._writes, self._sent, self.counts, self._note)

    async def make_safe(self) -> LauncherStatus | None:
        await self.apply(Demand())
        self.advance_to(self._t_s + 0.05)
        return self.status()

    def apply_now(self, demand: Demand) -> None:
        """``apply`` without an event loop (the model's writes never wait)."""
        run_now(self.apply(demand))

    def make_safe_now(self) -> LauncherStatus | None:
        """``make_safe`` without an event loop."""
        return run_now(self.make_safe())

    def link_problem(self) -> str:
        return "in-process model (no link)"

    def _note(self, message: str) -> None:
        raise AssertionError(f"in-process PLC refused a write: {message}")  # never: no link


def status_from_plc(status: PlcStatus, link_up: bool, t_s: float) -> LauncherStatus:
    return LauncherStatus(
        t_s=t_s,
        link_up=link_up,
        az_rad=status.az_rad,
        el_rad=status.el_rad,
        arm_state=int(status.arm_state),
        ready_to_fire=status.ready_to_fire,
        in_position=status.in_position,
        estop_ok=status.estop_ok,
        interlock_chain_ok=status.interlock_chain_ok,
        fault_code=int(status.fault_code),
        launch_count=status.launch_count,
        fire_reject_count=status.fire_reject_count,
        rounds_ready=status.rounds_ready,
    )
