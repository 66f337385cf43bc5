"""A real mosquitto broker for a test: its own config file in the test's tmp_path, a free
loopback port, ready when a TCP connect succeeds (within ``READY_S``), killed and waited for at
teardown. Outside CI a missing mosquitto skips the test with the apt-get command; under CI it
fails (``tests/debian_tools.py``). mosquitto lives in /usr/sbin, which is not on every PATH.

Configured for tests: ``max_queued_messages 0`` (mosquitto's default of 1000 queued messages
per client drops the rest silently), ``persistence false``, anonymous clients allowed unless a
password file is given (made with mosquitto_passwd), ``log_type all`` into ``log`` (tests read
which clients subscribed), optionally a TLS listener.
"""

from __future__ import annotations

import os
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
SBIN = ("/usr/sbin", "/sbin", "/usr/bin")


def mosquitto_path(command: str = "mosquitto") -> str:
    """``command`` on PATH or in the sbin directories; skip or fail (CI) when absent."""
    search = os.pathsep.join([os.environ.get("PATH", ""), *SBIN])
    found = shutil.which(command, path=search)
    return found if found is not None else require_tool(command, "mosquitto")


def free_port() -> int:
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
        lines = [
            f"listener {self.port} 127.0.0.1",
            "persistence false",
            "max_queued_messages 0",
            f"log_dest file {self.log}",
            f"log_type {'all' if log_all else 'error'}",
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
            lines += ["allow_anonymous false", f"password_file {password_file}"]
        else:
            lines.append("allow_anonymous true")
        if tls is not None:
            lines += [
                f"cafile {tls.ca_file}",
                f"certfile {tls.cert_file}",
                f"keyfile {tls.key_file}",
            ]
        self.config.write_text("\n".join(lines) + "\n")
        self.scheme = "mqtts" if tls is not None else "mqtt"
        self.url = f"{self.scheme}://127.0.0.1:{self.port}"
        self._executable = mosquitto_path()
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        """Start mosquitto and return once it accepts TCP connections."""
        assert self.process is None
        self.process = subprocess.Popen(
            [self._executable, "-c", str(self.config)],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + READY_S
        while True:
            if self.process.poll() is not None:
                log = self.log.read_text() if self.log.exists() else ""
                pytest.fail(f"mosquitto exited with {self.process.returncode}: {log[-500:]}")
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.5):
                    return
            except OSError:
                if time.monotonic() > deadline:
                    self.kill()
                    pytest.fail(f"mosquitto did not accept connections within {READY_S} s")
                time.sleep(0.02)  # not listening yet: a connect attempt is the only probe

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
