"""Pseudo-terminals for the emulators: raw pty pairs, and a stable path clients can open.

A pty's slave device name changes every time one is opened, so emulators give clients a
``PtyLink``: a symlink pointed atomically at the current slave and removed on close.

Without a given path the link lives in a fresh temporary directory ``hil-radar-*`` or
``hil-plc-*``, whose lock file ``.lock`` the emulator holds an exclusive ``flock`` on while it
runs. The kernel drops that lock however the process ends, SIGKILL included, so a directory
whose lock is free belongs to a dead emulator (one without a lock file is not ours to judge).
``remove_dead_link`` (called by whoever started the emulator, once it has exited) and
``sweep_orphans`` (called by every new emulator) delete such leftovers. A link that outlives
its emulator is dangerous, not just untidy: its ``/dev/pts/N`` may be reused by another
program, whose terminal a reconnecting client would then write into.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import pty
import shutil
import stat
import tempfile
import time
import tty
from pathlib import Path

from firmware_stubs.errors import EndpointError

TEMP_PREFIXES = ("hil-radar-", "hil-plc-")
LOCK_NAME = ".lock"
SWEEP_MIN_AGE_S = 10.0
"""``sweep_orphans`` leaves younger directories alone: one may be between its creation and its
lock (microseconds apart)."""


def open_raw_pty() -> tuple[int, int]:
    """A pty pair: the slave in raw mode (no echo, no line discipline, whoever opens it), the
    master non-blocking. Returns (master fd, slave fd)."""
    master, slave = pty.openpty()
    tty.setraw(slave)
    os.set_blocking(master, False)
    return master, slave


class PtyLink:
    """The path clients open; ``point_at`` re-targets it without a moment of absence.

    ``path``: where the link goes (its directory must exist; an existing symlink there is
    replaced, any other file is refused); ``None``: ``tty`` in a new locked temporary directory
    named ``<prefix>*``. Raises ``EndpointError`` when the path cannot be used."""

    def __init__(self, path: Path | None, prefix: str) -> None:
        self._tempdir: Path | None = None
        self._lock_fd = -1
        if path is None:
            sweep_orphans()
            self._tempdir = Path(tempfile.mkdtemp(prefix=prefix))
            self._lock_fd = _lock(self._tempdir)
            path = self._tempdir / "tty"
        else:
            _check_link_path(path)
        self.path = path

    def point_at(self, slave_fd: int) -> None:
        temporary = self.path.with_name(f".{self.path.name}.{os.getpid()}")
        try:
            with contextlib.suppress(FileNotFoundError):
                temporary.unlink()
            os.symlink(os.ttyname(slave_fd), temporary)
            os.replace(temporary, self.path)
        except OSError as error:
            raise EndpointError(
                f"pty link {self.path}: cannot create it ({error.strerror}); choose another path"
            ) from error

    def remove(self) -> None:
        """Remove the link (and the temporary directory). Safe to call more than once."""
        with contextlib.suppress(FileNotFoundError):
            self.path.unlink()
        if self._tempdir is not None:
            shutil.rmtree(self._tempdir, ignore_errors=True)
            self._tempdir = None
        if self._lock_fd >= 0:
            os.close(self._lock_fd)
            self._lock_fd = -1


def remove_dead_link(link: Path) -> None:
    """After the emulator that published ``link`` has exited: remove the link if it is still
    there (a SIGKILLed emulator cannot), and its temporary directory if it made one."""
    with contextlib.suppress(OSError):
        if stat.S_ISLNK(os.lstat(link).st_mode):
            link.unlink()
    directory = link.parent
    if directory.parent == Path(tempfile.gettempdir()) and directory.name.startswith(TEMP_PREFIXES):
        remove_orphan(directory)


def sweep_orphans() -> list[Path]:
    """Remove every emulator temporary directory whose owner has died; returns them."""
    removed = []
    now = time.time()
    with contextlib.suppress(OSError):
        for entry in Path(tempfile.gettempdir()).iterdir():
            if not entry.name.startswith(TEMP_PREFIXES):
                continue
            try:
                info = entry.lstat()
            except OSError:
                continue
            if (
                stat.S_ISDIR(info.st_mode)
                and info.st_uid == os.getuid()
                and now - info.st_mtime > SWEEP_MIN_AGE_S
                and remove_orphan(entry)
            ):
                removed.append(entry)
    return removed


def remove_orphan(directory: Path) -> bool:
    """Remove ``directory`` if it has a lock file and no live emulator holds it; True if it
    was removed."""
    try:
        fd = os.open(directory / LOCK_NAME, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC)
    except OSError:
        return False
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:  # held: its emulator is alive
        os.close(fd)
        return False
    try:
        shutil.rmtree(directory, ignore_errors=True)
    finally:
        os.close(fd)
    return True


def _lock(directory: Path) -> int:
    fd = os.open(directory / LOCK_NAME, os.O_RDONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o600)
    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    return fd


def _check_link_path(path: Path) -> None:
    directory = path.parent
    if not directory.is_dir():
        raise EndpointError(
            f"pty link {path}: the directory {directory} does not exist; create it or choose "
            "another path"
        )
    if not os.access(directory, os.W_OK | os.X_OK):
        raise EndpointError(
            f"pty link {path}: the directory {directory} is not writable; choose another path"
        )
    with contextlib.suppress(FileNotFoundError):
        if not stat.S_ISLNK(os.lstat(path).st_mode):
            raise EndpointError(
                f"pty link {path}: a file that is not a symlink is already there and would be "
                "replaced; choose another path"
            )
