"""Running the ``hil`` command line as an operator would: a child process."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import subprocess
import sys
from typing import Any

import psutil

STACKS_GRACE_S = 10.0
"""How long a hung child has to write its threads' stacks after SIGABRT (faulthandler)."""


class HilHungError(AssertionError):
    """A ``hil`` child outlived its timeout; the message holds what it wrote, its threads'
    stacks (faulthandler, on SIGABRT) last."""

    def __init__(self, args: tuple[str, ...], timeout_s: float, stderr: str) -> None:
        super().__init__(
            f"hil {' '.join(args)} still running after {timeout_s:g} s; its stderr:\n{stderr}"
        )


def abort_tree(pid: int) -> None:
    """SIGABRT to process ``pid`` and every process under it, deepest first: each Python among
    them (faulthandler on, as ``PYTHONFAULTHANDLER`` is inherited) writes its threads' stacks to
    its stderr — for a campaign's run workers and emulators, the campaign's own stderr."""
    try:
        top = psutil.Process(pid)
        tree = [*reversed(top.children(recursive=True)), top]
    except psutil.NoSuchProcess:
        return
    for process in tree:
        with contextlib.suppress(psutil.NoSuchProcess):
            process.send_signal(signal.SIGABRT)


def hil(
    *args: str, env: dict[str, str] | None = None, timeout_s: float = 120.0
) -> subprocess.CompletedProcess[str]:
    """``python -m hil ARGS`` with ``env`` added to this process's environment. A child still
    running after ``timeout_s`` is sent SIGABRT with everything it started (``abort_tree``), so
    faulthandler writes every thread's stack to its stderr, then killed; ``HilHungError``
    carries that stderr, so a hang in CI says where it hung."""
    command = [sys.executable, "-m", "hil", *args]
    with subprocess.Popen(
        command,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONFAULTHANDLER": "1", **(env or {})},
    ) as child:
        try:
            out, err = child.communicate(timeout=timeout_s)
        except subprocess.TimeoutExpired:
            abort_tree(child.pid)
            try:
                out, err = child.communicate(timeout=STACKS_GRACE_S)
            except subprocess.TimeoutExpired:
                child.kill()
                out, err = child.communicate()
            raise HilHungError(args, timeout_s, err) from None
    return subprocess.CompletedProcess(command, child.returncode, out, err)


async def hil_async(
    *args: str, timeout_s: float = 60.0, pids: list[int] | None = None
) -> tuple[int, str, str]:
    """``python -m hil ARGS`` as a child process without blocking this event loop (emulators
    under test may run in it): (exit code, stdout, stderr); its pid is appended to ``pids``.
    A child still running after ``timeout_s`` is sent SIGABRT (its threads' stacks to its
    stderr), then killed, and ``HilHungError`` raised with that stderr, as ``hil`` does."""
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "hil",
        *args,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        env={**os.environ, "PYTHONFAULTHANDLER": "1"},
    )
    if pids is not None:
        pids.append(process.pid)
    try:
        async with asyncio.timeout(timeout_s):
            out, err = await process.communicate()
    except TimeoutError:
        abort_tree(process.pid)
        try:
            async with asyncio.timeout(STACKS_GRACE_S):
                _, err = await process.communicate()
        except TimeoutError:
            process.kill()
            _, err = await process.communicate()
        raise HilHungError(args, timeout_s, err.decode(errors="replace")) from None
    assert process.returncode is not None
    return process.returncode, out.decode(), err.decode()


def last_json(done: subprocess.CompletedProcess[str]) -> dict[str, Any]:
    """The JSON object on the last line of a command that exited 0 (its ``--json`` summary)."""
    assert done.returncode == 0, done.stderr
    loaded: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return loaded
