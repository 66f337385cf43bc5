"""``hil replay --step``: one cycle at a time, the operator pressing Enter between them.

``Stepper`` is the replay's step (awaited before each cycle): it waits for a line on stdin —
Enter for the next cycle, ``c`` to play the rest without stopping; end of input also plays the
rest. A terminal or a pipe is read through the event loop (``add_reader``), so Ctrl-C still ends
the replay cleanly while it waits. Stdin that the event loop cannot wait on — a regular file,
``/dev/null`` — never blocks, so it is read directly, a line per step; no stdin at all (closed)
is the end of input. ``CyclePrinter`` is an observer that prints each played cycle as one line
on stderr (stdout keeps the summary, and ``--json``'s last line)."""

from __future__ import annotations

import asyncio
import math
import sys
from typing import TextIO

from hil.loop.cycle import CycleInput, CycleOutput

PROMPT = "  [Enter: next cycle, c: play the rest]"


class Stepper:
    def __init__(self, stream: TextIO | None = None) -> None:
        self._stream = stream if stream is not None else sys.stdin
        self.stepping = True

    async def __call__(self) -> None:
        if not self.stepping:
            return
        text = await self._next_line()
        if text == "" or text.strip().lower() in ("c", "continue"):
            self.stepping = False

    async def _next_line(self) -> str:
        """The next line of input ("" at its end)."""
        stream = self._stream
        if stream is None or stream.closed:  # started with stdin closed
            return ""
        try:
            fd = stream.fileno()
        except (OSError, ValueError):
            return ""
        loop = asyncio.get_running_loop()
        line: asyncio.Future[str] = loop.create_future()

        def readable() -> None:
            if not line.done():
                line.set_result(stream.readline())

        try:
            loop.add_reader(fd, readable)
        except PermissionError:  # a regular file or /dev/null: epoll refuses it, reads never block
            return stream.readline()
        try:
            return await line
        finally:
            loop.remove_reader(fd)


class CyclePrinter:
    """One line per played cycle on stderr while ``stepper`` is stepping: loop time,
    detections, tracks, the engagement's phase, the demand and the interlocks not holding."""

    def __init__(self, stepper: Stepper, stream: TextIO | None = None) -> None:
        self._stepper = stepper
        self._stream = stream if stream is not None else sys.stderr
        self._count = 0

    def observe(self, cycle_input: CycleInput, cycle_output: CycleOutput) -> None:
        self._count += 1
        if not self._stepper.stepping:
            return
        frame = cycle_input.frame
        if frame is None:
            seen = "idle (no frame)"
        else:
            seen = f"{len(frame)} detections ({frame.injected_count} injected)"
        demand = cycle_output.demand
        acts = [name for name in ("arm", "fire") if getattr(demand, name)]
        pointing = (
            f"point az {math.degrees(demand.az_rad):.2f}° el {math.degrees(demand.el_rad):.2f}°"
            if demand.pointing
            else "no pointing"
        )
        failing = cycle_output.interlocks.failing if cycle_output.interlocks else ()
        print(
            f"cycle {self._count} t={cycle_input.t_s:.3f} s: {seen}, "
            f"{len(cycle_output.picture.ids)} tracks, {cycle_output.phase.name.lower()}, "
            f"{pointing}{''.join(' ' + a.upper() for a in acts)}"
            + (f", not holding: {', '.join(failing)}" if failing else "")
            + PROMPT,
            file=self._stream,
            flush=True,
        )
