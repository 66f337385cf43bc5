"""A minimal Chrome DevTools Protocol client over ``--remote-debugging-pipe`` (no websocket, no
extra package): headless Chromium reads commands from its fd 3 and writes answers and events to
its fd 4, each a JSON object ended by a NUL byte.

``HeadlessChromium`` starts the browser in its own process group, opens one page and records
every event; on exit it closes the browser, waits for it, and kills whatever of its process
group is left, so no Chromium process outlives the test.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import select
import signal
import subprocess
import time
from pathlib import Path
from types import TracebackType
from typing import Any

FLAGS = (
    "--headless",
    "--no-sandbox",  # running as root, as CI does
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--remote-debugging-pipe",
)


def _above_9(fd: int) -> int:
    """``fd`` moved to a free descriptor number of at least 10."""
    moved = fcntl.fcntl(fd, fcntl.F_DUPFD_CLOEXEC, 10)
    os.close(fd)
    return moved


class HeadlessChromium:
    """Headless Chromium with one page target, driven over the DevTools pipe."""

    def __init__(self, executable: str, user_data_dir: Path, timeout_s: float = 30.0) -> None:
        self.executable = executable
        self.user_data_dir = user_data_dir
        self.log_path = user_data_dir.with_name(f"{user_data_dir.name}.log")
        """Chromium's stderr, quoted when it exits early."""
        self.timeout_s = timeout_s
        self.events: list[dict[str, Any]] = []
        self.session = ""
        self._next_id = 0
        self._buffer = b""

    def __enter__(self) -> HeadlessChromium:
        to_browser_r, self._to_browser = os.pipe()
        self._from_browser, from_browser_w = os.pipe()
        # the browser wants the pipe on fds 3 and 4 exactly: bash puts them there (dash takes
        # no fd above 9), from fds above 9 so neither redirection overwrites the other's source
        to_browser_r = _above_9(to_browser_r)
        from_browser_w = _above_9(from_browser_w)
        command = [
            "/bin/bash", "-c", f'exec "$@" 3<&{to_browser_r} 4>&{from_browser_w}', "bash",
            self.executable, *FLAGS, f"--user-data-dir={self.user_data_dir}", "about:blank",
        ]  # fmt: skip
        try:
            log = self.log_path.open("wb")
            self.process = subprocess.Popen(
                command,
                pass_fds=(to_browser_r, from_browser_w),
                start_new_session=True,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                stderr=log,
            )
        finally:
            log.close()
            os.close(to_browser_r)
            os.close(from_browser_w)
        try:
            target = self.call("Target.createTarget", {"url": "about:blank"})["targetId"]
            attached = self.call("Target.attachToTarget", {"targetId": target, "flatten": True})
            self.session = attached["sessionId"]
        except BaseException:
            self._stop()
            raise
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self._stop()

    def _stop(self) -> None:
        with contextlib.suppress(OSError):  # OSError: it is already gone
            self._send("Browser.close", {}, "")
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.process.wait(timeout=10)
        with contextlib.suppress(ProcessLookupError):  # helpers left in its process group
            os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait()
        os.close(self._to_browser)
        os.close(self._from_browser)

    def _send(self, method: str, params: dict[str, Any], session: str) -> int:
        self._next_id += 1
        message: dict[str, Any] = {"id": self._next_id, "method": method, "params": params}
        if session:
            message["sessionId"] = session
        os.write(self._to_browser, json.dumps(message).encode() + b"\0")
        return self._next_id

    def _receive(self, deadline: float) -> dict[str, Any]:
        while b"\0" not in self._buffer:
            ready, _, _ = select.select([self._from_browser], [], [], deadline - time.monotonic())
            if not ready:
                raise TimeoutError("Chromium did not answer over the DevTools pipe in time")
            chunk = os.read(self._from_browser, 1 << 20)
            if not chunk:
                log = self.log_path.read_text(errors="replace").strip().splitlines()[-5:]
                raise EOFError(
                    "Chromium closed the DevTools pipe (it exited); its stderr ends: "
                    + " | ".join(log)
                )
            self._buffer += chunk
        raw, self._buffer = self._buffer.split(b"\0", 1)
        message: dict[str, Any] = json.loads(raw)
        return message

    def call(self, method: str, params: dict[str, Any] | None = None) -> dict[str, Any]:
        """Send a command (to the page once attached) and return its result; events that
        arrive meanwhile are kept in ``events``."""
        wanted = self._send(method, params or {}, self.session)
        deadline = time.monotonic() + self.timeout_s
        while True:
            message = self._receive(deadline)
            if message.get("id") == wanted:
                if "error" in message:
                    raise RuntimeError(f"{method}: {message['error']}")
                result: dict[str, Any] = message.get("result", {})
                return result
            if "method" in message:
                self.events.append(message)

    def wait_event(self, method: str) -> dict[str, Any]:
        """The first event named ``method`` (already received, or the next to arrive)."""
        for event in self.events:
            if event["method"] == method:
                return event
        deadline = time.monotonic() + self.timeout_s
        while True:
            message = self._receive(deadline)
            if "method" in message:
                self.events.append(message)
                if message["method"] == method:
                    return message

    def evaluate(self, expression: str) -> Any:
        """The JSON value of a JavaScript expression in the page."""
        result = self.call("Runtime.evaluate", {"expression": expression, "returnByValue": True})
        if "exceptionDetails" in result:
            raise RuntimeError(f"{expression!r} threw: {result['exceptionDetails']}")
        return result["result"].get("value")

    def console_errors(self) -> list[str]:
        """Console errors, uncaught exceptions and browser log errors (a resource that failed
        to load) seen so far."""
        errors = []
        for event in self.events:
            method, params = event["method"], event.get("params", {})
            if method == "Runtime.consoleAPICalled" and params.get("type") in ("error", "assert"):
                errors.append(" ".join(str(a.get("value")) for a in params.get("args", [])))
            elif method == "Runtime.exceptionThrown":
                errors.append(str(params.get("exceptionDetails", {}).get("text")))
            elif method == "Log.entryAdded" and params["entry"].get("level") == "error":
                entry = params["entry"]
                errors.append(f"{entry.get('text')} ({entry.get('url', '')})")
        return errors

    def requested_urls(self) -> list[str]:
        """Every URL the page requested (``Network.enable`` must have been called)."""
        return [
            e["params"]["request"]["url"]
            for e in self.events
            if e["method"] == "Network.requestWillBeSent"
        ]
