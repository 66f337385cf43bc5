"""The bounded queue between the loop's thread (one producer) and the publisher's event loop.

``offer`` never waits and never raises: when the queue holds ``capacity`` items the item is
dropped and counted (``dropped``); once the consumer has closed it, every item is refused and
counted apart (``refused``). The consumer awaits ``ready`` on its own event loop; the producer
wakes it (``call_soon_threadsafe``) only when it is waiting, so a busy publisher costs the loop
nothing but a deque append.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections import deque
from typing import Generic, TypeVar

T = TypeVar("T")


class HandOff(Generic[T]):
    """At most ``capacity`` items from one producer thread to one consumer event loop."""

    def __init__(self, capacity: int) -> None:
        self.capacity = capacity
        self.dropped = 0
        """Items refused because the queue was full."""
        self.refused = 0
        """Items refused because the queue was closed (the consumer had ended)."""
        self.closed = False
        """Set when the consumer will take nothing more: every offer is then dropped."""
        self._items: deque[T] = deque()
        self._waiter: tuple[asyncio.AbstractEventLoop, asyncio.Event] | None = None

    def __len__(self) -> int:
        return len(self._items)

    def offer(self, item: T, *, always: bool = False) -> bool:
        """Queue ``item`` unless full or closed (then count it, ``dropped`` or ``refused``,
        and return False). ``always``: queue it even when full (the run's final status)."""
        if self.closed:
            self.refused += 1
            return False
        if len(self._items) >= self.capacity and not always:
            self.dropped += 1
            return False
        self._items.append(item)
        waiter = self._waiter
        if waiter is not None:
            self._waiter = None
            loop, event = waiter
            with contextlib.suppress(RuntimeError):  # the consumer's loop has closed
                loop.call_soon_threadsafe(event.set)
        return True

    def take_all(self) -> list[T]:
        """Every item waiting, oldest first."""
        return self.take(len(self._items))

    def take(self, count: int) -> list[T]:
        """At most ``count`` items, oldest first."""
        items: list[T] = []
        for _ in range(count):
            try:
                items.append(self._items.popleft())
            except IndexError:
                break
        return items

    def close(self) -> int:
        """Refuse every later offer; returns the number of items that were still waiting
        (discarded, counted in neither ``dropped`` nor ``refused``)."""
        self.closed = True
        return len(self.take_all())

    async def ready(self) -> None:
        """Return once at least one item is waiting (at once if one is)."""
        event = asyncio.Event()
        self._waiter = (asyncio.get_running_loop(), event)
        try:
            if self._items:
                return
            await event.wait()
        finally:
            self._waiter = None
