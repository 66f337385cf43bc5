"""Pacing recorded messages against a clock, separate from reading them (python-can
``MessageSync``, rosbag2 ``PlayerClock``).

``Player`` takes any iterable of ``RecordedMessage`` (a ``Recording.messages(...)`` stream, with
its topic set and time range) and yields each message when it is due: at recorded speed × rate
against an injected ``PlaybackClock`` (``MonotonicClock`` on the bench, ``ManualClock`` in tests,
which never sleeps), as fast as possible (``rate=None``), or one message per ``step`` call. It
never skips a message: a consumer slower than the rate makes playback late, not lossy (``late_s``
says by how much at most).
"""

from __future__ import annotations

import asyncio
import math
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable
from typing import Protocol

from hil.recording.reader import RecordedMessage

NS_PER_S = 1_000_000_000


class PlaybackClock(Protocol):
    """Seconds on some monotonic scale, and a way to wait until a moment on it."""

    def now_s(self) -> float: ...

    async def wait_until(self, t_s: float) -> None: ...


class MonotonicClock:
    """The host's monotonic clock; waits with ``asyncio.sleep``."""

    def now_s(self) -> float:
        return time.monotonic()

    async def wait_until(self, t_s: float) -> None:
        delay_s = t_s - time.monotonic()
        if delay_s > 0:
            await asyncio.sleep(delay_s)


class ManualClock:
    """A clock that jumps to each moment waited for, at once, and keeps the list of waits
    (for tests and for offline runs that still want the recorded timing)."""

    def __init__(self, start_s: float = 0.0) -> None:
        self._now_s = start_s
        self.waits: list[float] = []

    def now_s(self) -> float:
        return self._now_s

    def advance(self, dt_s: float) -> None:
        """Let ``dt_s`` pass, as a slow consumer would."""
        self._now_s += dt_s

    async def wait_until(self, t_s: float) -> None:
        self.waits.append(t_s)
        self._now_s = max(self._now_s, t_s)


def window_ns(
    start_ns: int, from_s: float | None, to_s: float | None
) -> tuple[int | None, int | None]:
    """``--from S``/``--to S`` (seconds after ``start_ns``: the run's first cycle, see
    ``hil.rig.replay.first_cycle_ns``) as the absolute ``(start_ns, end_ns)`` range a
    reader takes (end exclusive)."""
    for name, value in (("--from", from_s), ("--to", to_s)):
        if value is not None and not (math.isfinite(value) and value >= 0):
            raise ValueError(f"{name} {value}: must be a finite number of seconds ≥ 0")
    if from_s is not None and to_s is not None and to_s < from_s:
        raise ValueError(f"--to {to_s} s comes before --from {from_s} s")
    start = None if from_s is None else start_ns + round(from_s * NS_PER_S)
    end = None if to_s is None else start_ns + round(to_s * NS_PER_S)
    return start, end


class Player:
    """Yields ``messages`` paced by ``clock``: ``rate`` × recorded speed (1.0 real time, 10.0 ten
    times faster), ``None`` as fast as possible. With ``step``, each message first waits for
    ``step(message)`` (a key press, a test's event) and timing restarts after it, so pausing never
    makes the next messages late."""

    def __init__(
        self,
        messages: Iterable[RecordedMessage],
        clock: PlaybackClock,
        *,
        rate: float | None = 1.0,
        step: Callable[[RecordedMessage], Awaitable[None]] | None = None,
    ) -> None:
        if rate is not None and not (math.isfinite(rate) and rate > 0):
            raise ValueError(f"rate {rate}: must be a finite number > 0, or None for max")
        self._messages = messages
        self._clock = clock
        self._rate = rate
        self._step = step
        self.late_s = 0.0
        """The most any message was yielded after it was due, in clock seconds."""

    async def __aiter__(self) -> AsyncIterator[RecordedMessage]:
        anchor: tuple[int, float] | None = None  # (recorded ns, clock s) that match
        for message in self._messages:
            if self._step is not None:
                await self._step(message)
                anchor = None
            if self._rate is not None:
                if anchor is None:
                    anchor = (message.log_time_ns, self._clock.now_s())
                recorded_ns, clock_s = anchor
                due_s = clock_s + (message.log_time_ns - recorded_ns) / NS_PER_S / self._rate
                await self._clock.wait_until(due_s)
                self.late_s = max(self.late_s, self._clock.now_s() - due_s)
            yield message
