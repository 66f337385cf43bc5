"""Pytest plugin: fail any test that leaks an asyncio task, thread, child process, socket or pty.

Used by the suite's conftest (``pytest_plugins = ["leakguard"]``). Resources are compared before
and after each test (after the test's own fixtures are torn down, since the guard is autouse and
set up first). Leaked threads are joined and leaked processes waited for up to one second — both
are awaitable conditions, not sleeps — before they count as leaks; leaked processes are then
killed so one bad test does not poison the next. Garbage is collected first: a socket dropped in
a reference cycle is not a leak, and its ResourceWarning belongs to the test that dropped it.
"""

from __future__ import annotations

import asyncio
import gc
import os
import threading
from collections.abc import AsyncIterator, Iterator

import psutil
import pytest
import pytest_asyncio

GRACE_S = 1.0


def _watched_fds() -> dict[int, str]:
    """Open sockets and pseudo-terminals of this process, fd → target."""
    found = {}
    for name in os.listdir("/proc/self/fd"):
        try:
            target = os.readlink(f"/proc/self/fd/{name}")
        except OSError:
            continue
        if target.startswith(("socket:", "/dev/pts/")) or target == "/dev/ptmx":
            found[int(name)] = target
    return found


_frozen = False


@pytest.fixture(autouse=True)
def leak_guard() -> Iterator[None]:
    global _frozen
    if not _frozen:
        # what the process holds before its first test (numba, scipy, hypothesis: ~10^5
        # objects) moves out of the collector's reach for good, so the full collection after
        # each test scans only what tests made: 0.1-0.3 s a test before, an eighth of the suite
        gc.collect()
        gc.freeze()
        _frozen = True
    threads_before = set(threading.enumerate())
    me = psutil.Process()
    children_before = {child.pid for child in me.children(recursive=True)}
    fds_before = _watched_fds()
    yield
    # garbage first: a socket or pipe transport the test dropped is closed (and its
    # ResourceWarning raised) here, in the test that dropped it, not in a later one
    gc.collect()
    leaks = []
    for thread in set(threading.enumerate()) - threads_before:
        thread.join(GRACE_S)
        if thread.is_alive():
            leaks.append(f"thread {thread.name!r}")
    children = [c for c in me.children(recursive=True) if c.pid not in children_before]
    _, alive = psutil.wait_procs(children, timeout=GRACE_S)
    for process in alive:
        leaks.append(f"child process {process.pid} ({' '.join(process.cmdline()[:3])})")
        process.kill()
    psutil.wait_procs(alive, timeout=GRACE_S)
    fds_after = _watched_fds()
    leaks.extend(
        f"fd {fd} → {target}"
        for fd, target in sorted(fds_after.items())
        if fds_before.get(fd) != target
    )
    if leaks:
        pytest.fail("test leaked: " + "; ".join(leaks), pytrace=False)


@pytest_asyncio.fixture(autouse=True)
async def asyncio_task_guard() -> AsyncIterator[None]:
    """Fail a test whose event loop still runs tasks it started once the test has finished."""
    before = asyncio.all_tasks()
    yield
    current = asyncio.current_task()
    leftover = [t for t in asyncio.all_tasks() - before if t is not current and not t.done()]
    for task in leftover:
        task.cancel()
    if leftover:
        await asyncio.gather(*leftover, return_exceptions=True)
        names = ", ".join(f"{t.get_name()!r} ({t.get_coro()!r})" for t in leftover)
        pytest.fail(f"test leaked asyncio tasks: {names}", pytrace=False)
