"""A preflight's rows and verdict, and how they are shown: a rich table on a terminal, plain
lines otherwise, one JSON object with ``--json``.

Verdicts (docs/preflight.md):

- ``green``: inside its limit.
- ``amber``: the rig can run, but look first: a device replaced by its emulator
  (``allow_emulation_fallback``), a fault a run clears at its start (a watchdog tripped by the
  last host session), a measurement too short to decide (clock drift).
- ``red``: outside its limit, or not measured because its device is unreachable; the row says
  what to do. A campaign refuses its bench runs on a red row (``hil campaign run
  --ignore-preflight ROW`` lets a named one pass).

Exit codes of ``hil rig check``: 0 every row green; 1 a row is red; 6 no row red but one amber;
2 usage or configuration error (a ``sim`` or ``replay`` rig has no devices to check).
"""

from __future__ import annotations

import enum
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

EXIT_GREEN = 0
EXIT_RED = 1
EXIT_AMBER = 6


class Verdict(enum.StrEnum):
    GREEN = "green"
    AMBER = "amber"
    RED = "red"


RANK = {Verdict.GREEN: 0, Verdict.AMBER: 1, Verdict.RED: 2}

Measured = float | int | str | bool | None


@dataclass(frozen=True, slots=True)
class Row:
    """One check: ``name`` (``device.check``, what ``--ignore-preflight`` takes), its verdict,
    the measured value in words (``value``) and as a number or word in the row's ``unit``
    (``measured``, SI or as the ICD gives it), the limit in words, and what to do when the
    row is not green."""

    name: str
    verdict: Verdict
    value: str
    limit: str = ""
    action: str = ""
    measured: Measured = None
    unit: str = ""

    def as_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "verdict": self.verdict.value,
            "value": self.value,
            "measured": self.measured,
            "unit": self.unit,
            "limit": self.limit,
            "action": self.action or None,
        }


def not_checked(names: Iterable[str], why: str) -> list[Row]:
    """Red rows for the checks ``names`` that could not be made, saying ``why``."""
    return [
        Row(name, Verdict.RED, f"not checked: {why}", action="make the device reachable first")
        for name in names
    ]


def worst(verdicts: Iterable[Verdict]) -> Verdict:
    return max(verdicts, key=RANK.__getitem__, default=Verdict.GREEN)


@dataclass
class PreflightReport:
    """Every row of one preflight of ``rig`` (its name and mode) over ``seconds`` of
    measurement; ``emulated`` names the devices checked through their emulators."""

    rig: str
    mode: str
    seconds: float
    rows: list[Row] = field(default_factory=list)
    emulated: tuple[str, ...] = ()
    notes: list[str] = field(default_factory=list)

    @property
    def verdict(self) -> Verdict:
        return worst(row.verdict for row in self.rows)

    def red(self, ignored: Sequence[str] = ()) -> list[Row]:
        """The red rows not named in ``ignored``."""
        return [r for r in self.rows if r.verdict is Verdict.RED and r.name not in ignored]

    @property
    def exit_code(self) -> int:
        return {Verdict.GREEN: EXIT_GREEN, Verdict.AMBER: EXIT_AMBER, Verdict.RED: EXIT_RED}[
            self.verdict
        ]

    def as_json(self) -> dict[str, Any]:
        return {
            "rig": self.rig,
            "mode": self.mode,
            "seconds": self.seconds,
            "verdict": self.verdict.value,
            "emulated": list(self.emulated),
            "notes": list(self.notes),
            "rows": [row.as_json() for row in self.rows],
        }


def plain_lines(report: PreflightReport) -> list[str]:
    """One line per row (``VERDICT  name  value  [limit]``), its action indented below it,
    then the notes and the overall verdict."""
    width = max((len(row.name) for row in report.rows), default=0)
    lines = []
    for row in report.rows:
        limit = f"  [limit {row.limit}]" if row.limit else ""
        lines.append(f"{row.verdict.value.upper():<5}  {row.name:<{width}}  {row.value}{limit}")
        if row.action and row.verdict is not Verdict.GREEN:
            lines.append(f"{'':<5}  {'':<{width}}  → {row.action}")
    lines.extend(f"note: {note}" for note in report.notes)
    lines.append(summary_line(report))
    return lines


def summary_line(report: PreflightReport) -> str:
    counts = {v: sum(r.verdict is v for r in report.rows) for v in Verdict}
    emulated = f"; EMULATED: {', '.join(report.emulated)}" if report.emulated else ""
    return (
        f"rig {report.rig} ({report.mode}): {report.verdict.value.upper()} — "
        f"{counts[Verdict.GREEN]} green, {counts[Verdict.AMBER]} amber, "
        f"{counts[Verdict.RED]} red over {report.seconds:g} s{emulated}"
    )


STYLES = {Verdict.GREEN: "bold green", Verdict.AMBER: "bold yellow", Verdict.RED: "bold red"}


def rich_table(report: PreflightReport) -> Any:
    """The rows as a ``rich`` table (imported here: only a terminal needs it)."""
    from rich.table import Table

    table = Table(title=f"hil rig check — {report.rig} ({report.mode})", show_lines=False)
    for column in ("verdict", "check", "measured", "limit", "what to do"):
        table.add_column(column, overflow="fold")
    for row in report.rows:
        table.add_row(
            f"[{STYLES[row.verdict]}]{row.verdict.value.upper()}[/]",
            row.name,
            row.value,
            row.limit,
            row.action if row.verdict is not Verdict.GREEN else "",
        )
    return table
