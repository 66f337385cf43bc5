"""Faults injected at given times of a run (campaign cases; ``RunSettings.faults``).

A fault is applied ``at_s`` seconds after the run's first cycle and, when it lasts, undone
``duration_s`` later. Radar faults act on the emulated radar's link, PLC faults on the
emulated PLC (its response delay and dropped requests) and on the bench panel (e-stop pressed,
interlock chain open): they need the emulators, so a run on real devices refuses them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

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
