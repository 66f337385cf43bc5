"""A real mosquitto broker for a test: its own config file in the test's tmp_path, a free
loopback port, ready when mosquitto says it is running (within ``READY_S``), killed and waited
for at teardown. mosquitto 2.0 cannot listen on port 0 (``listener 0`` is a unix socket), so a
port is picked free and a start that finds it taken meanwhile (another test process picked it
too: ``Address already in use``) is retried on another; readiness is mosquitto's own "running"
line on its stderr, printed once every listener is bound, so the broker a test talks to is
never some other process that happens to listen on the port. Outside CI a missing mosquitto
skips the test with the apt-get command; under CI it fails (``tests/debian_tools.py``).
mosquitto lives in /usr/sbin, which is not on every PATH.

Configured for tests: ``max_queued_messages 0`` (mosquitto's default of 1000 queued messages
per client drops the rest silently), ``persistence false``, anonymous clients allowed unless a
password file is given (made with mosquitto_passwd), ``log_type all`` into ``log`` (tests read
which clients subscribed), optionally a TLS listener.
"""

from __future__ import annotations

import os
import selectors
import shutil
import signal
import socket
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from debian_tools import require_tool

READY_S = 10.0
START_ATTEMPTS = 5
"""Ports tried by a first start whose port is taken meanwhile (each a fresh free port)."""
SBIN = ("/usr/sbin", "/sbin", "/usr/bin")


def mosquitto_path(command: str = "mosquitto") -> str:
    """``command`` on PATH or in the sbin directories; skip or fail (CI) when absent."""
    search = os.pathsep.join([os.environ.get("PATH", ""), *SBIN])
    found = shutil.which(command, path=search)
    return found if found is not None else require_tool(command, "mosquitto")


def free_port() -> int:
    """A loopback port free now (it may be taken before it is used: see ``Broker.start``)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@dataclass(frozen=True)
class TlsFiles:
    """A CA and a server certificate for 127.0.0.1 signed by it (PEM files)."""

    ca_file: Path
    cert_file: Path
    key_file: Path


def make_tls_files(directory: Path) -> TlsFiles:
    """A throw-away CA and a server certificate for IP 127.0.0.1, made with openssl."""
    openssl = require_tool("openssl")
    directory.mkdir(parents=True, exist_ok=True)
    ca_key, ca = directory / "ca.key", directory / "ca.pem"
    key, csr, cert = directory / "server.key", directory / "server.csr", directory / "server.pem"
    ext = directory / "server.ext"
    ext.write_text("subjectAltName = IP:127.0.0.1\n")
    run = [
        [openssl, "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
         "-subj", "/CN=hil test CA", "-keyout", ca_key, "-out", ca],
        [openssl, "req", "-newkey", "rsa:2048", "-nodes", "-subj", "/CN=127.0.0.1",
         "-keyout", key, "-out", csr],
        [openssl, "x509", "-req", "-in", csr, "-CA", ca, "-CAkey", ca_key, "-CAcreateserial",
         "-days", "2", "-extfile", ext, "-out", cert],
    ]  # fmt: skip
    for command in run:
        subprocess.run([str(c) for c in command], check=True, capture_output=True, timeout=60)
    return TlsFiles(ca, cert, key)


class Broker:
    """One mosquitto process on ``port`` (``url``); ``kill`` and ``start`` again on the same
    port to take it away mid-test."""

    def __init__(
        self,
        directory: Path,
        passwords: dict[str, str] | None = None,
        tls: TlsFiles | None = None,
        log_all: bool = True,
    ) -> None:
        self.directory = directory
        directory.mkdir(parents=True, exist_ok=True)
        self.port = free_port()
        self.log = directory / "mosquitto.log"
        self.config = directory / "mosquitto.conf"
        self.tls = tls
        self._settings = [
            "persistence false",
            "max_queued_messages 0",
            f"log_dest file {self.log}",
            "log_dest stderr",  # read up to the "running" line, then closed (see ``start``)
            f"log_type {'all' if log_all else 'error'}",
            "log_type information",  # the "running" line
            "user root" if os.geteuid() == 0 else "",
        ]
        if passwords:
            password_file = directory / "passwords"
            password_file.touch(mode=0o600)
            tool = mosquitto_path("mosquitto_passwd")
            for user, password in passwords.items():
                subprocess.run(
                    [tool, "-b", str(password_file), user, password],
                    check=True,
                    capture_output=True,
                    timeout=30,
                )
            self._settings += ["allow_anonymous false", f"password_file {password_file}"]
        else:
            self._settings.append("allow_anonymous true")
        if tls is not None:
            self._settings += [
                f"cafile {tls.ca_file}",
                f"certfile {tls.cert_file}",
                f"keyfile {tls.key_file}",
            ]
        self.scheme = "mqtts" if tls is not None else "mqtt"
        self._executable = mosquitto_path()
        self.process: subprocess.Popen[bytes] | None = None
        self._started = False

    @property
    def url(self) -> str:
        return f"{self.scheme}://127.0.0.1:{self.port}"

    def start(self) -> None:
        """Start mosquitto and return once it is running. The first start retries on another
        free port if its port was taken meanwhile; a restart (after ``kill``) keeps the port
        its clients know, and fails if that is taken."""
        assert self.process is None
        attempts = 1 if self._started else START_ATTEMPTS
        for attempt in range(attempts):
            if attempt > 0:
                self.port = free_port()
            outcome = self._start_once()
            if outcome is None:
                self._started = True
                return
            if "Address already in use" not in outcome or attempt == attempts - 1:
                pytest.fail(f"mosquitto did not start on port {self.port}: {outcome[-500:]}")

    def _start_once(self) -> str | None:
        """One start on ``self.port``: None once running, else what mosquitto said."""
        self.config.write_text("\n".join([f"listener {self.port} 127.0.0.1", *self._settings, ""]))
        process = subprocess.Popen(
            [self._executable, "-c", str(self.config)],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        assert process.stderr is not None
        said = b""
        deadline = time.monotonic() + READY_S
        with selectors.DefaultSelector() as selector:
            selector.register(process.stderr, selectors.EVENT_READ)
            while b" running\n" not in said:
                left_s = deadline - time.monotonic()
                if left_s <= 0 or not selector.select(left_s):
                    said += f"(no running line within {READY_S} s)".encode()
                    break
                chunk = os.read(process.stderr.fileno(), 4096)
                if not chunk:  # it exited
                    break
                said += chunk
        # mosquitto ignores SIGPIPE: from here on it logs to its file only
        process.stderr.close()
        if b" running\n" in said and process.poll() is None:
            self.process = process
            return None
        if process.poll() is None:
            process.kill()
        process.wait(timeout=10)
        return said.decode(errors="replace")

    def kill(self) -> None:
        """SIGKILL and wait (no clean shutdown: clients see their connection die)."""
        process, self.process = self.process, None
        if process is not None and process.poll() is None:
            process.send_signal(signal.SIGKILL)
        if process is not None:
            process.wait(timeout=10)

    def log_text(self) -> str:
        return self.log.read_text(errors="replace") if self.log.exists() else ""


@pytest.fixture
def mosquitto(tmp_path: Path) -> Iterator[Broker]:
    """A running anonymous broker on a free loopback port."""
    broker = Broker(tmp_path / "broker")
    broker.start()
    try:
        yield broker
    finally:
        broker.kill()
