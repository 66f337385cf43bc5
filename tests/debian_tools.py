"""Debian tools a test needs (mbpoll, chromium, and mosquitto next): one rule for all of them.

Outside CI a missing tool skips the test with the command that installs it; under CI (``CI`` set
and not ``false``/``0``; ``.ci/run`` installs every tool) a missing tool fails the test, so a CI
run can never pass by skipping what it was meant to prove.
"""

from __future__ import annotations

import os
import shutil

import pytest


def running_in_ci() -> bool:
    """Whether ``CI`` is set as CI services set it (any value but empty, ``0``, ``false``)."""
    return os.environ.get("CI", "").strip().lower() not in ("", "0", "false", "no")


def require_tool(command: str, package: str | None = None) -> str:
    """The path of ``command``; if it is not installed, skip (outside CI) or fail (under CI)
    the calling test, naming the Debian package that provides it (default: the command's name)."""
    path = shutil.which(command)
    if path is not None:
        return path
    install = f"apt-get install {package or command}"
    if running_in_ci():
        pytest.fail(
            f"{command} is not installed and CI must run this test: {install} "
            "(.ci/run installs it)",
            pytrace=False,
        )
    pytest.skip(f"{command} is not installed: {install}")
