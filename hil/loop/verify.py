"""Replay recorded cycles into a fresh core and check every output is bit-identical.

``verify_cycles`` is the loop's regression test for any recording (sim, emulate or bench): the
core is pure (``hil.loop.core``), so the recorded inputs alone must reproduce the recorded
outputs. Outputs are compared as their ``hil.loop.cycle_codec`` bytes; the first difference is
reported as the cycle's index (0-based, in recording order) and the name of the first output
field (``cycle_codec.OUTPUT_FIELDS`` order) whose bytes differ.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass

from hil.loop.core import LoopCore
from hil.loop.cycle import CycleInput, CycleOutput
from hil.loop.cycle_codec import OUTPUT_FIELDS, decode_input, decode_output, encode_output


@dataclass(frozen=True, slots=True)
class Mismatch:
    """The first recorded cycle whose output the core does not reproduce."""

    cycle: int
    """Index of the cycle (0-based, in recording order)."""
    field: str
    """The first differing output field (``demand``, ``picture``, ``track_changes``, ...)."""

    def __str__(self) -> str:
        return f"cycle {self.cycle}: {self.field} differs from the recording"


def verify_cycles(
    pairs: Iterable[tuple[bytes | CycleInput, bytes | CycleOutput]],
    core_factory: Callable[[], LoopCore],
) -> Mismatch | None:
    """Step a fresh core (``core_factory()``) through the recorded inputs of ``pairs``
    (input, output — records as ``cycle_codec`` bytes, or decoded) in order; the first cycle
    whose output differs from the recorded one, or None when all are identical."""
    core = core_factory()
    for index, (recorded_input, recorded_output) in enumerate(pairs):
        cycle_input = (
            decode_input(recorded_input) if isinstance(recorded_input, bytes) else recorded_input
        )
        output = core.step(cycle_input)
        expected = (
            recorded_output
            if isinstance(recorded_output, bytes)
            else encode_output(recorded_output)
        )
        if encode_output(output) != expected:
            return Mismatch(index, _first_difference(output, decode_output(expected)))
    return None


def _first_difference(output: CycleOutput, recorded: CycleOutput) -> str:
    for name, encode in OUTPUT_FIELDS:
        if encode(output) != encode(recorded):
            return name
    return "version"  # every field equal: only the record's version byte can differ
