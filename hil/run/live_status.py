"""A run's live status on a terminal: what ``hil run`` (and a campaign's emulate or bench run)
shows while the loop runs.

- :class:`RunCounters` is a cycle observer that only copies counters (a few integer additions
  and one histogram bin per cycle): it never slows the loop.
- :func:`status_text` renders them as one line; a rich ``Live`` redraws it at most four times a
  second from its own refresh thread (:class:`LiveRunStatus`), never once per cycle.

Shown: elapsed / duration (loop-clock seconds), frames, detections, tracks (tentative /
confirmed), engagements and the current phase, the interlocks not holding at the last
evaluation, the links' health and the loop latency p99 so far (ms, from a frame's arrival to
this observer: the frame→command latency of the summary plus the loop's own observers).
"""

from __future__ import annotations

import logging
import sys
import time
from dataclasses import dataclass, field
from typing import Any, TextIO

from rich.console import Console
from rich.live import Live
from rich.text import Text

from hil.fire_control.engagement import Phase
from hil.fire_control.interlocks import LauncherStatus
from hil.loop.cycle import CycleInput, CycleOutput, EngagementEvent
from hil.loop.timing import Histogram

REFRESH_PER_SECOND = 4


@dataclass
class RunCounters:
    """Counters of a run as its cycles pass (loop-clock seconds); read by the display thread."""

    start_s: float | None = None
    now_s: float = 0.0
    cycles: int = 0
    frames: int = 0
    detections: int = 0
    tracks: int = 0
    """Live tracks, tentative and confirmed (initiated minus deleted)."""
    confirmed: int = 0
    """Confirmed tracks in the latest picture."""
    engagements: int = 0
    launches: int = 0
    refused: int = 0
    aborted: int = 0
    phase: Phase = Phase.IDLE
    engaged_track: int | None = None
    not_holding: tuple[str, ...] | None = None
    """The interlocks that did not hold at the latest evaluation (None: none evaluated yet)."""
    radar_problem: str = ""
    plc_problem: str = ""
    latency: Histogram = field(default_factory=Histogram)
    """Frame arrival → this observer, perf_counter seconds."""

    def observe(self, cycle_input: CycleInput, cycle_output: CycleOutput) -> None:
        if self.start_s is None:
            self.start_s = cycle_input.t_s
        self.now_s = cycle_input.t_s
        self.cycles += 1
        frame = cycle_input.frame
        if frame is not None:
            self.frames += 1
            self.detections += len(frame)
            self.latency.add(time.perf_counter() - frame.t_arrival_s)
        changes = cycle_output.track_changes
        self.tracks += changes.initiated - changes.deleted
        self.confirmed = len(cycle_output.picture.ids)
        self._count(cycle_output.events)
        self.phase = cycle_output.phase
        if cycle_output.interlocks is not None:
            self.not_holding = cycle_output.interlocks.failing
        self.radar_problem = cycle_input.radar_problem
        self.plc_problem = cycle_input.launcher_problem

    def run_ended(self, events: tuple[EngagementEvent, ...], final: LauncherStatus | None) -> None:
        """A launch seen only once the launcher was made safe counts like any other."""
        self._count(events)

    def _count(self, events: tuple[EngagementEvent, ...]) -> None:
        for event in events:
            if event.kind == "designated":
                self.engagements += 1
                self.engaged_track = event.track_id
            elif event.kind == "launched":
                self.launches += 1
            elif event.kind == "refused":
                self.refused += 1
            elif event.kind == "aborted":
                self.aborted += 1

    @property
    def elapsed_s(self) -> float:
        return 0.0 if self.start_s is None else self.now_s - self.start_s


def status_text(counters: RunCounters, duration_s: float | None, label: str = "") -> Text:
    """The counters as one line (``label`` first, e.g. the mode or the campaign's case); before
    the first cycle, that the run is starting."""
    c = counters
    text = Text(f"{label}  " if label else "", style="bold")
    total = f" / {duration_s:g}" if duration_s is not None else ""
    if c.cycles == 0:
        run = f" a {duration_s:g} s run" if duration_s is not None else ""
        text.append(f"starting{run}: devices connecting, waiting for the first frame…")
        return text
    text.append(f"{c.elapsed_s:6.1f}{total} s  frames {c.frames}  detections {c.detections}  ")
    tentative = max(0, c.tracks - c.confirmed)
    text.append(f"tracks {tentative} tentative / {c.confirmed} confirmed  ")
    phase = c.phase.value.upper()
    if c.phase is not Phase.IDLE and c.engaged_track is not None:
        phase += f" track {c.engaged_track}"
    text.append(f"engagements {c.engagements} ({phase}")
    if c.launches or c.refused or c.aborted:
        text.append(f"; launched {c.launches} refused {c.refused} aborted {c.aborted}")
    text.append(")  ")
    if c.not_holding is None:
        text.append("interlocks not evaluated  ", style="dim")
    elif c.not_holding:
        text.append(f"not holding: {', '.join(c.not_holding)}  ", style="yellow")
    else:
        text.append("interlocks all hold  ", style="bold red")
    for name, problem in (("radar", c.radar_problem), ("PLC", c.plc_problem)):
        if problem:
            text.append(f"{name} DOWN ({problem})  ", style="bold red")
        else:
            text.append(f"{name} ok  ", style="green")
    p99 = c.latency.percentile_s(99)
    text.append("latency p99 " + ("—" if p99 is None else f"{p99 * 1e3:.2f} ms"))
    return text


def show_live(out: TextIO = sys.stdout) -> bool:
    """Whether a live display belongs on ``out``: only on a terminal."""
    return out.isatty()


class LiveRunStatus:
    """One run's status line, redrawn at ``REFRESH_PER_SECOND`` while the context is open and
    removed when it closes (the run's summary follows unchanged). Log lines written to stderr
    meanwhile print above it."""

    def __init__(self, duration_s: float | None, label: str = "") -> None:
        self.counters = RunCounters()
        self.duration_s = duration_s
        self.label = label
        self.live = Live(
            get_renderable=self.render,
            console=Console(),
            refresh_per_second=REFRESH_PER_SECOND,
            transient=True,
            redirect_stderr=stderr_is_a_terminal(),
        )
        self._handlers = LogAboveLive()

    def render(self) -> Text:
        return status_text(self.counters, self.duration_s, self.label)

    def __enter__(self) -> LiveRunStatus:
        self.live.start()
        self._handlers.enter()
        return self

    def __exit__(self, *exc: object) -> None:
        self._handlers.exit()
        self.live.stop()


def stderr_is_a_terminal() -> bool:
    """Whether the process's stderr is a terminal (then it shares the screen with the live
    display; a file or pipe keeps its log lines)."""
    return sys.__stderr__ is not None and sys.__stderr__.isatty()


class LogAboveLive:
    """While a rich ``Live`` redirects a terminal's stderr, the root logger's stderr handlers
    write through the redirection (so their lines print above the live display, not through
    it). A stderr that is a file or a pipe is left alone."""

    def __init__(self) -> None:
        self._moved: list[tuple[logging.StreamHandler[Any], Any]] = []

    def enter(self) -> None:
        if sys.stderr is sys.__stderr__ or not stderr_is_a_terminal():
            return  # not redirected, or stderr goes to a file or pipe: it stays there
        for handler in logging.getLogger().handlers:
            if isinstance(handler, logging.StreamHandler) and handler.stream is sys.__stderr__:
                self._moved.append((handler, handler.stream))
                handler.setStream(sys.stderr)

    def exit(self) -> None:
        for handler, stream in self._moved:
            handler.setStream(stream)
        self._moved.clear()
