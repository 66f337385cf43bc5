"""Faults injected at given times of a run (campaign cases; ``RunSettings.faults``).

A fault is applied ``at_s`` seconds after the run's first cycle and, when it lasts, undone
``duration_s`` later. Radar faults act on the emulated radar's link, PLC faults on the
emulated PLC (its response delay and dropped requests) and on the bench panel (e-stop pressed,
interlock chain open): they need the emulators, so a run on real devices refuses them.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from typing import Literal, get_args

from hil.errors import ConfigError

FaultKind = Literal[
    "radar_corrupt",
    "radar_stall",
    "radar_disconnect",
    "plc_delay",
    "plc_drop",
    "estop",
    "interlock_open",
]
"""What goes wrong:

- ``radar_corrupt``: each byte the radar sends has one bit flipped with probability ``value``
  (in (0, 1]) for ``duration_s``;
- ``radar_stall``: the radar sends nothing for ``duration_s``;
- ``radar_disconnect``: the radar's link is closed (the emulator then offers a new one);
- ``plc_delay``: the PLC answers ``value`` ms late for ``duration_s``;
- ``plc_drop``: the PLC leaves its next ``value`` requests unanswered;
- ``estop``: the bench panel's e-stop is pressed for ``duration_s`` (0: until the run ends);
- ``interlock_open``: the bench panel's interlock chain opens for ``duration_s`` (0: until the
  run ends).
"""

RADAR_FAULTS: frozenset[str] = frozenset({"radar_corrupt", "radar_stall", "radar_disconnect"})
PLC_FAULTS: frozenset[str] = frozenset({"plc_delay", "plc_drop", "estop", "interlock_open"})


@dataclass(frozen=True, slots=True)
class FaultEvent:
    """One fault of a run: ``kind`` at ``at_s`` (s after the run's first cycle) for
    ``duration_s`` (s; 0 for an instantaneous fault or one that lasts to the end), with the
    kind's ``value`` (see :data:`FaultKind`)."""

    at_s: float
    kind: FaultKind
    duration_s: float = 0.0
    value: float = 0.0


FAULT_KINDS: tuple[str, ...] = get_args(FaultKind)
MODES_WITH_FAULTS = ("emulate", "bench", "sim")
"""Rig modes that can apply faults (``bench``: only on devices replaced by their emulators)."""
MAX_PLC_DELAY_MS = 60_000
MAX_PLC_DROP = 65_535
"""DROP_NEXT_N is one 16-bit register of the bench panel."""
INSTANT_KINDS = frozenset({"radar_disconnect", "plc_drop"})
"""Faults that happen at one moment: their ``duration_s`` is 0."""
LASTING_KINDS = frozenset({"radar_corrupt", "radar_stall", "plc_delay"})
"""Faults that need a ``duration_s`` > 0 (e-stop and interlock may also last to the end: 0)."""


def device_of(kind: str) -> str:
    """``radar`` or ``plc``: the device a fault kind acts on (the bench panel is the PLC's)."""
    return "radar" if kind in RADAR_FAULTS else "plc"


def describe(fault: FaultEvent) -> str:
    """``radar_corrupt at 5 s for 2 s (value 0.01)``: a fault in a few words, for lines."""
    text = f"{fault.kind} at {fault.at_s:g} s"
    if fault.duration_s:
        text += f" for {fault.duration_s:g} s"
    if fault.value:
        text += f" (value {fault.value:g})"
    return text


def hardware_only(mode: str, allow_emulation_fallback: bool) -> tuple[str, ...]:
    """The devices known before a run starts to be real hardware, so no fault may act on them:
    both on a ``bench`` rig without emulation fallback, none otherwise (with the fallback, which
    devices are real is known only once they are opened)."""
    return ("radar", "plc") if mode == "bench" and not allow_emulation_fallback else ()


def check_faults(
    faults: Sequence[FaultEvent],
    mode: str,
    duration_s: float,
    *,
    where: str = "faults",
    real_devices: Collection[str] = (),
) -> None:
    """Refuse faults a run of ``duration_s`` seconds in rig ``mode`` cannot apply, with one line
    per problem naming ``where[i]`` (the key the caller read them from) and the fix. Devices in
    ``real_devices`` (``radar``, ``plc``) are real bench hardware: no fault may act on them.
    Raises ``hil.errors.ConfigError``."""
    problems: list[str] = []
    for index, fault in enumerate(faults):
        problem = _problem(fault, mode, duration_s, real_devices)
        if problem:
            problems.append(f"{where}[{index}] ({fault.kind}): {problem}")
    problems.extend(_overlaps(faults, where))
    if problems:
        raise ConfigError(problems)


def _problem(fault: FaultEvent, mode: str, duration_s: float, real_devices: Collection[str]) -> str:
    kind = fault.kind
    if kind not in FAULT_KINDS:
        return f"unknown fault kind; use one of {', '.join(FAULT_KINDS)}"
    if mode == "replay":
        return "a replay plays recorded traffic and cannot take faults; use an emulate or sim rig"
    if mode not in MODES_WITH_FAULTS:
        return f"rig mode {mode!r} cannot apply faults; use an emulate or sim rig"
    device = device_of(kind)
    if device in real_devices:
        return (
            f"the {device} is the real bench device, faults act only on emulated devices; "
            "run this case on an emulate rig"
        )
    at_s, lasting, value = fault.at_s, fault.duration_s, fault.value
    for name, number in (("at_s", at_s), ("duration_s", lasting), ("value", value)):
        if not math.isfinite(number):
            return f"{name} = {number} is not a finite number"
    if at_s < 0 or at_s >= duration_s:
        return f"at_s = {at_s:g} s lies outside the run; use 0 <= at_s < {duration_s:g} s"
    if lasting < 0:
        return f"duration_s = {lasting:g} is negative; use seconds >= 0"
    if kind in INSTANT_KINDS and lasting:
        return f"duration_s = {lasting:g}: {kind} happens at one moment; leave duration_s out"
    if kind in LASTING_KINDS and not lasting:
        return "duration_s is missing; give how long the fault lasts, in seconds > 0"
    return _value_problem(kind, value)


def _value_problem(kind: str, value: float) -> str:
    if kind == "radar_corrupt":
        if not 0.0 < value <= 1.0:
            return (
                f"value = {value:g} is not a corruption rate; use a probability per byte in (0, 1]"
            )
    elif kind == "plc_delay":
        if not 0.0 <= value <= MAX_PLC_DELAY_MS:
            return f"value = {value:g} ms is not a response delay; use 0..{MAX_PLC_DELAY_MS} ms"
    elif kind == "plc_drop":
        if value != int(value) or not 1 <= value <= MAX_PLC_DROP:
            return (
                f"value = {value:g} is not a request count; use a whole number "
                f"1..{MAX_PLC_DROP} of requests to leave unanswered"
            )
    elif value:
        return f"value = {value:g} means nothing for {kind}; leave value out"
    return ""


def _overlaps(faults: Sequence[FaultEvent], where: str) -> list[str]:
    """Two faults of one kind whose windows overlap (an instant fault's window is its moment;
    a lasting one with duration 0 lasts to the end of the run)."""
    problems: list[str] = []
    by_kind: dict[str, list[tuple[float, float, int]]] = {}
    for index, fault in enumerate(faults):
        if fault.kind in INSTANT_KINDS or not math.isfinite(fault.at_s + fault.duration_s):
            continue
        end = fault.at_s + fault.duration_s if fault.duration_s else math.inf
        by_kind.setdefault(fault.kind, []).append((fault.at_s, end, index))
    for kind, windows in by_kind.items():
        windows.sort()
        for (_, end, first), (start, _, second) in itertools.pairwise(windows):
            if start < end:
                problems.append(
                    f"{where}[{second}] ({kind}): starts at {start:g} s while {where}[{first}] "
                    f"still lasts (to {'the end' if math.isinf(end) else f'{end:g} s'}); "
                    "make them one fault or move one"
                )
    return problems
