"""A real PostgreSQL server for the results-store tests: one per test process (session scope,
so one per xdist worker), each test in a database of its own (``postgres_url``).

The server is made with the Debian ``postgresql`` package's ``initdb`` and started with
``pg_ctl`` in a temporary folder: its data directory, its unix socket and its log there, TCP on
a loopback port. PostgreSQL cannot listen on port 0, so a port is picked free and a start that
finds it taken meanwhile (another test process picked it too) is retried on another
(``START_ATTEMPTS``). ``pg_ctl start -w`` returns once the server accepts connections. initdb
refuses to run as root and CI runs as root: then every server command runs as the ``postgres``
user (``runuser``), in a folder that user owns. At the end of the session the server is stopped
(``pg_ctl stop -m fast``, then SIGKILL of its postmaster if it is still there) and its folder
removed: nothing outlives the session.

Outside CI a missing initdb skips the test with the apt-get command; under CI it fails
(``tests/debian_tools.py``). Debian keeps the binaries in /usr/lib/postgresql/<version>/bin,
which is not on PATH: they are looked for there too.
"""

from __future__ import annotations

import contextlib
import glob
import os
import pwd
import shutil
import signal
import subprocess
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from debian_tools import require_tool
from mosquitto import free_port

START_ATTEMPTS = 5
START_TIMEOUT_S = 30
SUPERUSER = "hil"
PORT_TAKEN = ("could not bind", "Address already in use", "could not create any TCP/IP sockets")


def postgres_bin(command: str) -> str:
    """``command`` (``initdb``, ``pg_ctl``) on PATH or in the newest
    /usr/lib/postgresql/<version>/bin; skip or fail (CI) when absent."""
    found = shutil.which(command)
    if found is not None:
        return found
    folders = sorted(
        glob.glob("/usr/lib/postgresql/*/bin"),
        key=lambda folder: int(folder.split("/")[-2]) if folder.split("/")[-2].isdigit() else 0,
    )
    for folder in reversed(folders):
        candidate = Path(folder) / command
        if candidate.exists():
            return str(candidate)
    return require_tool(command, "postgresql")


def postgres_available() -> bool:
    """Whether initdb can be found (the benchmark skips without it)."""
    return shutil.which("initdb") is not None or bool(glob.glob("/usr/lib/postgresql/*/bin/initdb"))


class PostgresServer:
    """One PostgreSQL server in ``directory``, trust authentication for ``SUPERUSER`` on
    127.0.0.1:``port``."""

    def __init__(self) -> None:
        self.initdb = postgres_bin("initdb")
        self.pg_ctl = postgres_bin("pg_ctl")
        self.as_root = os.geteuid() == 0
        self.directory = Path(tempfile.mkdtemp(prefix="hil-postgres-"))
        if self.as_root:
            account = pwd.getpwnam("postgres")
            os.chown(self.directory, account.pw_uid, account.pw_gid)
        self.data = self.directory / "data"
        self.log = self.directory / "server.log"
        self.port = 0
        self.running = False

    def _command(self, *argv: str) -> list[str]:
        prefix = ["runuser", "-u", "postgres", "--"] if self.as_root else []
        return [*prefix, *argv]

    def _run(self, *argv: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            self._command(*argv),
            capture_output=True,
            text=True,
            timeout=timeout,
            stdin=subprocess.DEVNULL,
            check=False,
        )

    def create(self) -> None:
        made = self._run(
            self.initdb, "-D", str(self.data), "-U", SUPERUSER, "--auth=trust",
            "--encoding=UTF8", "--no-sync", "--no-instructions",
        )  # fmt: skip
        if made.returncode != 0:
            pytest.fail(f"initdb failed: {(made.stderr or made.stdout)[-800:]}")

    def start(self) -> None:
        """Start on a free loopback port, retrying on another when the port was taken."""
        for attempt in range(START_ATTEMPTS):
            self.port = free_port()
            options = (
                f"-p {self.port} -k {self.directory} -c listen_addresses=127.0.0.1 "
                "-c fsync=off -c synchronous_commit=off -c full_page_writes=off "
                "-c max_connections=50"
            )
            started = self._run(
                self.pg_ctl, "start", "-D", str(self.data), "-l", str(self.log), "-w",
                "-t", str(START_TIMEOUT_S), "-o", options,
                timeout=START_TIMEOUT_S + 10,
            )  # fmt: skip
            if started.returncode == 0:
                self.running = True
                return
            said = self.log.read_text(errors="replace") if self.log.exists() else ""
            said += started.stdout + started.stderr
            taken = any(marker in said for marker in PORT_TAKEN)
            if not taken or attempt == START_ATTEMPTS - 1:
                self.stop()
                pytest.fail(f"PostgreSQL did not start on port {self.port}: {said[-800:]}")

    def _postmaster_pid(self) -> int | None:
        pid_file = self.data / "postmaster.pid"
        try:
            return int(pid_file.read_text().split("\n", 1)[0])
        except (OSError, ValueError):
            return None

    def stop(self) -> None:
        """Stop fast (then SIGKILL if it lingers) and remove the folder."""
        pid = self._postmaster_pid()
        if self.data.exists():
            self._run(self.pg_ctl, "stop", "-D", str(self.data), "-m", "fast", "-w", "-t", "20")
        pid_after = self._postmaster_pid()
        if pid_after is not None and pid_after == pid:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid_after, signal.SIGKILL)
        self.running = False
        shutil.rmtree(self.directory, ignore_errors=True)

    def url(self, database: str = "postgres") -> str:
        return f"postgresql://{SUPERUSER}@127.0.0.1:{self.port}/{database}"

    def create_database(self) -> str:
        """A new empty database; returns its name."""
        import psycopg

        name = f"test_{uuid.uuid4().hex[:16]}"
        with psycopg.connect(self.url(), autocommit=True, connect_timeout=10) as connection:
            connection.execute(f'CREATE DATABASE "{name}"')
        return name

    def drop_database(self, name: str) -> None:
        import psycopg

        with psycopg.connect(self.url(), autocommit=True, connect_timeout=10) as connection:
            connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[PostgresServer]:
    """This test process's PostgreSQL server (made on first use)."""
    server = PostgresServer()
    try:
        server.create()
        server.start()
        yield server
    finally:
        server.stop()


@pytest.fixture
def postgres_url(postgres_server: PostgresServer) -> Iterator[str]:
    """``postgresql://hil@127.0.0.1:PORT/test_…``: an empty database of this test's own."""
    name = postgres_server.create_database()
    try:
        yield postgres_server.url(name)
    finally:
        postgres_server.drop_database(name)
