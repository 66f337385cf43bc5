"""The rig preflight before a campaign's bench runs (``hil.preflight``, docs/preflight.md).

Once per campaign, before its first ``bench`` run, the campaign's rig is checked as ``hil rig
check`` checks it (``preflight.window_s`` seconds). A red row — unless the operator named it
with ``--ignore-preflight ROW`` — refuses every bench run: each becomes an ``error`` record
naming the red rows and what to do. Only the bench runs are refused: ``sim``, ``emulate`` and
``replay`` runs do not touch the bench hardware, so their results stay worth having. Amber rows
(a device replaced by its emulator under ``allow_emulation_fallback``, a fault a run clears at
its start) do not refuse; they are in ``results.json`` and the report with the rest.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from hil.errors import ConfigError, HilError
from hil.preflight.check import ROWS, run_preflight
from hil.preflight.report import PreflightReport, Verdict
from hil.rig.base import RunSettings


def check_ignored(rows: Sequence[str]) -> tuple[str, ...]:
    """``--ignore-preflight`` names, checked against the preflight's rows (``ConfigError``)."""
    unknown = [row for row in rows if row not in ROWS]
    if unknown:
        raise ConfigError(
            [
                f"--ignore-preflight {', '.join(unknown)}: no such preflight row; rows: "
                f"{', '.join(ROWS)} (docs/preflight.md)"
            ]
        )
    return tuple(dict.fromkeys(rows))


@dataclass
class PreflightGate:
    """Runs the preflight once, before the first bench run, and says whether bench runs may
    go ahead. ``ignored``: the rows ``--ignore-preflight`` lets pass even when red."""

    ignored: tuple[str, ...] = ()
    report: PreflightReport | None = None
    error: str | None = None
    """Why the preflight itself could not be made (an emulator that did not start)."""
    _done: bool = field(default=False, repr=False)

    async def before_bench(self, settings: RunSettings) -> str | None:
        """Why a bench run of ``settings`` must not start (None: it may)."""
        if not self._done:
            self._done = True
            rig = settings.rig
            try:
                self.report = await run_preflight(
                    rig, rig.preflight.window_s, settings.scenario_file, settings.seed
                )
            except HilError as error:
                self.error = str(error).splitlines()[0]
            except asyncio.CancelledError:
                self.error = "the campaign was interrupted during it"
                raise
        return self.refusal()

    def refusal(self) -> str | None:
        if self.error is not None:
            return f"bench runs refused: the rig preflight could not run ({self.error})"
        if self.report is None:
            return None
        red = self.report.red(self.ignored)
        if not red:
            return None
        rows = "; ".join(f"{row.name}: {row.value} ({row.action})" for row in red)
        names = " ".join(f"--ignore-preflight {row.name}" for row in red)
        return f"bench runs refused: rig preflight RED — {rows}; fix the rig, or pass {names}"

    @property
    def ignored_red(self) -> list[str]:
        """The ignored rows that were red (what the operator let pass)."""
        if self.report is None:
            return []
        return [
            r.name for r in self.report.rows if r.verdict is Verdict.RED and r.name in self.ignored
        ]

    def as_json(self) -> dict[str, Any] | None:
        """``results.json``'s ``preflight`` object (None: no bench run, no preflight)."""
        if not self._done:
            return None
        refusal = self.refusal()
        return {
            "verdict": None if self.report is None else self.report.verdict.value,
            "refused_bench_runs": refusal is not None,
            "refusal": refusal,
            "ignored": list(self.ignored),
            "ignored_red": self.ignored_red,
            "error": self.error,
            "report": None if self.report is None else self.report.as_json(),
        }
