"""Progress of a campaign as it runs: a live table on a terminal (rich), with the running
``emulate`` or ``bench`` run's status line under it (``hil.run.live_status``); one line per finished
run otherwise, nothing with ``--json`` (stdout is then the results' summary alone)."""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, TextIO

from rich.console import Console, Group, RenderableType
from rich.live import Live
from rich.table import Table

from hil.campaign.criteria import run_identity
from hil.campaign.execute import RunJob
from hil.campaign.plan import PlannedCase
from hil.loop.observers import CycleObserver
from hil.run.live_status import LogAboveLive, RunCounters, status_text


def say(text: str, out: TextIO | None = None) -> None:
    """One line to ``out`` (default stdout), flushed. A reader that went away (``hil campaign
    run | head``) ends the output, not the campaign: the runs go on, the results are written,
    and later lines go nowhere."""
    out = sys.stdout if out is None else out
    try:
        print(text, file=out, flush=True)
    except BrokenPipeError:
        _drop(out)


def _drop(out: TextIO) -> None:
    try:
        descriptor = out.fileno()
    except (OSError, ValueError):  # not a file (a test's capture): nothing to redirect
        return
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, descriptor)
    os.close(devnull)


VERDICT_STYLE = {"pass": "green", "fail": "bold red", "error": "bold magenta", "not_run": "dim"}


@dataclass
class CaseProgress:
    name: str
    mode: str
    total: int
    done: int = 0
    running: list[int] = field(default_factory=list)
    counts: dict[str, int] = field(default_factory=dict)
    emulated: bool = False
    started_s: float | None = None
    finished_s: float | None = None

    @property
    def verdict(self) -> str:
        """The verdict so far: fail, error, pass (of the runs finished), or waiting."""
        for verdict in ("fail", "error"):
            if self.counts.get(verdict):
                return verdict
        return "pass" if self.counts.get("pass") else "waiting"


class _Cases:
    def __init__(self, planned: Sequence[PlannedCase]) -> None:
        self.cases = {
            p.case.name: CaseProgress(p.case.name, p.case.mode, len(p.jobs)) for p in planned
        }

    def watchers(self, job: RunJob) -> Sequence[CycleObserver]:
        """No observers: only the live table shows a running run (``LiveProgress``)."""
        return ()

    def started(self, case: str, seed: int) -> CaseProgress:
        progress = self.cases[case]
        progress.running.append(seed)
        if progress.started_s is None:
            progress.started_s = time.monotonic()
        return progress

    def finished(self, case: str, record: dict[str, Any]) -> CaseProgress:
        progress = self.cases[case]
        if record["seed"] in progress.running:
            progress.running.remove(record["seed"])
        elif progress.running:
            progress.running.pop(0)  # a replay run learns its recorded seed as it runs
        progress.done += 1
        progress.counts[record["verdict"]] = progress.counts.get(record["verdict"], 0) + 1
        progress.emulated |= bool(record.get("emulated"))
        if progress.done == progress.total:
            progress.finished_s = time.monotonic()
        return progress


class LineProgress(_Cases):
    """One line per finished run (stdout not a terminal: a CI log)."""

    def __init__(self, planned: Sequence[PlannedCase], out: TextIO = sys.stdout) -> None:
        super().__init__(planned)
        self.out = out

    def run_started(self, case: str, seed: int) -> None:
        self.started(case, seed)

    def run_finished(self, case: str, record: dict[str, Any]) -> None:
        progress = self.finished(case, record)
        emulated = " EMULATED" if record.get("emulated") else ""
        why = f" — {record['error']}" if record.get("error") else ""
        say(
            f"{case} {run_identity(record)}{emulated}: {record['verdict'].upper()} "
            f"({record['wall_s']:.1f} s, {progress.done}/{progress.total}){why}",
            self.out,
        )

    def __enter__(self) -> LineProgress:
        return self

    def __exit__(self, *exc: object) -> None:
        return None


class SilentProgress(_Cases):
    def run_started(self, case: str, seed: int) -> None:
        self.started(case, seed)

    def run_finished(self, case: str, record: dict[str, Any]) -> None:
        self.finished(case, record)

    def __enter__(self) -> SilentProgress:
        return self

    def __exit__(self, *exc: object) -> None:
        return None


class LiveProgress(_Cases):
    """A table redrawn four times a second: case, mode, runs done, seeds running, elapsed,
    verdict so far; under it, the running emulate or bench run's live status line (sim and
    replay runs go in worker processes and show none)."""

    def __init__(self, planned: Sequence[PlannedCase], title: str) -> None:
        super().__init__(planned)
        self.title = title
        self.current: tuple[str, int, RunCounters, float | None] | None = None
        """The run being watched: case, seed, its counters, its duration (s)."""
        self._logs = LogAboveLive()
        self.live = Live(get_renderable=self._view, console=Console(), refresh_per_second=4)

    def _view(self) -> RenderableType:
        table = self._table()
        current = self.current
        if current is None:
            return table
        case, seed, counters, duration_s = current
        return Group(table, status_text(counters, duration_s, f"{case} seed {seed}"))

    def _table(self) -> Table:
        table = Table(title=self.title)
        for column in ("case", "mode", "runs", "running seeds", "elapsed", "verdict so far"):
            table.add_column(column)
        now = time.monotonic()
        for case in self.cases.values():
            elapsed = ""
            if case.started_s is not None:
                elapsed = f"{(case.finished_s or now) - case.started_s:.1f} s"
            seeds = ", ".join(str(s) for s in case.running[:6]) + (
                " …" if len(case.running) > 6 else ""
            )
            verdict = case.verdict
            style = VERDICT_STYLE.get(verdict, "")
            shown = f"[{style}]{verdict.upper()}[/]" if style else verdict
            mode = f"{case.mode} [bold yellow]EMULATED[/]" if case.emulated else case.mode
            table.add_row(case.name, mode, f"{case.done}/{case.total}", seeds, elapsed, shown)
        return table

    def watchers(self, job: RunJob) -> Sequence[CycleObserver]:
        """A fresh status line's counters for ``job``, run in this process (``execute``)."""
        counters = RunCounters()
        duration = None if job.settings is None else job.settings.duration_s
        self.current = (job.case, job.seed, counters, duration)
        return (counters,)

    def run_started(self, case: str, seed: int) -> None:
        self.started(case, seed)

    def run_finished(self, case: str, record: dict[str, Any]) -> None:
        self.finished(case, record)
        if self.current is not None and self.current[0] == case:
            self.current = None

    def __enter__(self) -> LiveProgress:
        self.live.start()
        self._logs.enter()
        return self

    def __exit__(self, *exc: object) -> None:
        self._logs.exit()
        self.live.stop()
