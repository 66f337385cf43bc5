"""The maintenance writes of ``hil plc command``, and the one function that sends them.

The tool never arms and never fires: those stay with the fire-control loop and its interlocks.
Every write it can make is one of ``ALLOWED_WRITES`` — (register, wire value) pairs by register
map name — and ``send`` refuses anything else before it reaches the driver. ARM_REQUEST and
FIRE are in no pair (a test holds the set against the register map, and a wire tap on the
emulated PLC checks every subcommand).

Each verb is confirmed by reading back: the register or coil as the PLC holds it, and its
effect one scan later (faults cleared, drives enabled or not, and why not).
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

from drivers.plc.driver import PlcDriver
from drivers.plc.transaction import PlcOutcome, PlcTransaction
from drivers.plc.types import Mode
from hil.errors import HilError
from hil.plc_tools.snapshot import PlcSnapshot, read_snapshot

SCAN_WAIT_S = 1.0
"""How long a read-back waits for the PLC to have handled a write (the ICD's scan is 10 ms)."""
READ_BACK_PERIOD_S = 0.02
"""Pace of the read-back polls (two PLC scans)."""
NEVER_WRITTEN = frozenset({"ARM_REQUEST", "FIRE"})
"""What this tool must never write."""


@dataclass(frozen=True, slots=True)
class MaintenanceWrite:
    """One write: the register-map ``register`` (a coil or a holding register) set to ``value``
    (wire value: 0/1 for a coil, the code for MODE)."""

    register: str
    value: int


VERBS: dict[str, MaintenanceWrite] = {
    "fault-reset": MaintenanceWrite("FAULT_RESET", 1),
    "stow": MaintenanceWrite("MODE", int(Mode.STOW)),
    "idle": MaintenanceWrite("MODE", int(Mode.IDLE)),
    "axes on": MaintenanceWrite("AXES_ENABLE", 1),
    "axes off": MaintenanceWrite("AXES_ENABLE", 0),
}
"""``hil plc command`` verb → its one write."""
ALLOWED_WRITES = frozenset(VERBS.values())
"""Every write the tool can make."""


class ForbiddenWriteError(HilError):
    """A write outside ``ALLOWED_WRITES``: nothing was sent."""


async def send(plc: PlcDriver, write: MaintenanceWrite) -> None:
    """The tools' only write path: ``write`` if it is allowed, else ``ForbiddenWriteError``
    before anything reaches the driver."""
    if write not in ALLOWED_WRITES or write.register in NEVER_WRITTEN:
        raise ForbiddenWriteError(
            f"{write.register}={write.value} is not a maintenance write; this tool never arms "
            "or fires"
        )
    if write.register == "FAULT_RESET":
        await plc.reset_faults()
    elif write.register == "MODE":
        await plc.set_mode(Mode(write.value))
    else:
        await plc.enable_axes(bool(write.value))


@dataclass(frozen=True, slots=True)
class Outcome:
    """What a verb did: ``changes`` (one text per thing that changed, ``before → after``),
    ``ok`` (the read-back shows the request took effect) and, if not, ``problem`` (why, and
    what to do)."""

    verb: str
    before: PlcSnapshot
    after: PlcSnapshot
    changes: list[str]
    ok: bool
    problem: str = ""


async def perform(plc: PlcDriver, verb: str) -> Outcome:
    """Read, write ``VERBS[verb]``, read back until the PLC has handled it (at most
    ``SCAN_WAIT_S``), and say what changed."""
    write = VERBS[verb]
    before = await read_snapshot(plc)
    await send(plc, write)
    after = await _handled(plc, write)
    return _judge(verb, write, before, after)


async def _handled(plc: PlcDriver, write: MaintenanceWrite) -> PlcSnapshot:
    """The first read-back at least two PLC scans after the write was applied (its effects
    published) and, for FAULT_RESET, with the coil cleared; the last one read if that takes
    longer than ``SCAN_WAIT_S``."""
    after = await read_snapshot(plc)
    first_scan = after.status.scan_counter  # published before or after the write: +2 is after
    try:
        async with asyncio.timeout(SCAN_WAIT_S):
            while not _settled(write, first_scan, after):
                await asyncio.sleep(READ_BACK_PERIOD_S)  # pacing the read-back
                after = await read_snapshot(plc)
    except TimeoutError:
        pass  # judged on the last read: _judge says what did not happen
    return after


def _settled(write: MaintenanceWrite, first_scan: int, after: PlcSnapshot) -> bool:
    scans = (after.status.scan_counter - first_scan) & 0xFFFF
    if write.register == "FAULT_RESET" and after.requests.fault_reset:
        return False
    return scans >= 2


def _judge(verb: str, write: MaintenanceWrite, before: PlcSnapshot, after: PlcSnapshot) -> Outcome:
    changes = describe_changes(before, after)
    s, r, f = after.status, after.requests, after.flags()
    stopping = ", ".join(after.stopping())
    problem = ""
    if write.register == "FAULT_RESET":
        if f["fault"]:
            problem = (
                f"fault {s.fault_code.name} still latched ({stopping}); the PLC clears faults "
                "only with the e-stop released, the interlock chain closed and a live heartbeat"
            )
    elif write.register == "MODE":
        if int(r.mode) != write.value:
            problem = f"MODE reads back {r.mode.name}, not {Mode(write.value).name}"
        elif write.value == Mode.STOW and not f["axes_enabled"]:
            changes.append(
                "the axes hold until enabled: "
                + (stopping or "AXES_ENABLE is 0 (hil plc command URL axes on)")
            )
    elif r.axes_enable != bool(write.value):
        problem = f"AXES_ENABLE reads back {int(r.axes_enable)}"
    elif f["axes_enabled"] != bool(write.value):
        problem = f"AXES_ENABLED stays {int(f['axes_enabled'])}: " + (
            f"{stopping}; clear it (fault-reset) and try again"
            if stopping
            else f"the PLC did not follow AXES_ENABLE within {SCAN_WAIT_S:g} s"
        )
    return Outcome(verb, before, after, changes, not problem, problem)


def describe_changes(before: PlcSnapshot, after: PlcSnapshot) -> list[str]:
    """``NAME old → new`` for each host request, mode, flag and fault code that changed."""
    changes: list[str] = []
    old_r, new_r = before.requests, after.requests
    for name in ("heartbeat", "arm_request", "fire", "fault_reset", "axes_enable"):
        old, new = int(getattr(old_r, name)), int(getattr(new_r, name))
        if old != new and name != "heartbeat":  # the heartbeat toggles by design
            changes.append(f"{name.upper()} {old} → {new}")
    if old_r.mode is not new_r.mode:
        changes.append(f"MODE {old_r.mode.name} → {new_r.mode.name}")
    old_f, new_f = before.flags(), after.flags()
    for name, old_flag in old_f.items():
        if old_flag != new_f[name]:
            changes.append(f"{name.upper()} {int(old_flag)} → {int(new_f[name])}")
    old_s, new_s = before.status, after.status
    if old_s.fault_code is not new_s.fault_code:
        changes.append(f"FAULT_CODE {old_s.fault_code.name} → {new_s.fault_code.name}")
    if old_s.arm_state is not new_s.arm_state:
        changes.append(f"ARM_STATE {old_s.arm_state.name} → {new_s.arm_state.name}")
    return changes


class HeartbeatWatch:
    """A transaction tap: ``live`` is set once the driver's heartbeat has written the coil
    twice, so the PLC has seen it change (the ICD's FAULT_RESET needs a live heartbeat)."""

    def __init__(self) -> None:
        self.beats = 0
        self.live = asyncio.Event()

    def __call__(self, transaction: PlcTransaction) -> None:
        if transaction.what == "HEARTBEAT" and transaction.outcome is PlcOutcome.OK:
            self.beats += 1
            if self.beats >= 2:
                self.live.set()
