"""Running the ``hil`` command line as an operator would: a child process."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
from typing import Any


def hil(
    *args: str, env: dict[str, str] | None = None, timeout_s: float = 120.0
) -> subprocess.CompletedProcess[str]:
    """``python -m hil ARGS`` with ``env`` added to this process's environment."""
    return subprocess.run(
        [sys.executable, "-m", "hil", *args],
        capture_output=True,
        text=True,
        timeout=timeout_s,
        check=False,
        env={**os.environ, **(env or {})},
    )


async def hil_async(*args: str, timeout_s: float = 60.0) -> tuple[int, str, str]:
    """``python -m hil ARGS`` as a child process without blocking this event loop (emulators
    under test may run in it): (exit code, stdout, stderr). A child still running after
    ``timeout_s`` is killed and waited for, then the timeout is raised."""
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "hil",
        *args,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    try:
        async with asyncio.timeout(timeout_s):
            out, err = await process.communicate()
    except TimeoutError:
        process.kill()
        await process.communicate()
        raise
    assert process.returncode is not None
    return process.returncode, out.decode(), err.decode()


def last_json(done: subprocess.CompletedProcess[str]) -> dict[str, Any]:
    """The JSON object on the last line of a command that exited 0 (its ``--json`` summary)."""
    assert done.returncode == 0, done.stderr
    loaded: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return loaded
