"""Pseudo-terminals for the emulators: raw pty pairs, and a stable path clients can open.

A pty's slave device name changes every time one is opened, so emulators give clients a
``PtyLink``: a symlink pointed atomically at the current slave and removed on close, by default
``tty`` in a fresh temporary directory ``hil-radar-*`` or ``hil-plc-*``.

A link that outlives its emulator is dangerous, not just untidy: its ``/dev/pts/N`` may be reused
by another program, whose terminal a reconnecting client would then write into. So every link
has an owner: the emulator holds an exclusive ``flock`` on a lock file beside it
(``.<name>.lock``) while it runs, and the kernel drops that lock however the process ends,
SIGKILL included. A link whose lock is free is a dead emulator's: ``remove_dead_link`` (called by
whoever started the emulator, once it has exited) and ``sweep_orphans`` (called by every new
emulator, for the temporary directories) remove it. A link with no lock file is not ours to
judge and is left alone; a link whose lock is held belongs to a live emulator, and a second
emulator refuses to publish the same path.
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

    ``path``: where the link goes (its directory must exist; a dead emulator's symlink there is
    replaced; any other file, or a live emulator's link, is refused); ``None``: ``tty`` in a
    new temporary directory named ``<prefix>*``. Raises ``EndpointError`` when the path cannot
    be used."""

    def __init__(self, path: Path | None, prefix: str) -> None:
        self._tempdir: Path | None = None
        if path is None:
            sweep_orphans()
            self._tempdir = Path(tempfile.mkdtemp(prefix=prefix))
            path = self._tempdir / "tty"
        else:
            _check_link_path(path)
        self.path = path
        try:
            self._lock_fd = _claim(path)
        except EndpointError:
            if self._tempdir is not None:
                shutil.rmtree(self._tempdir, ignore_errors=True)
            raise

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
        """Remove the link, its lock file and the temporary directory. Safe to call more than
        once; raises ``EndpointError`` (after the rest of the cleanup) if the link stays."""
        if self._lock_fd < 0:
            return
        failure = None
        try:
            self.path.unlink()
        except (FileNotFoundError, NotADirectoryError):  # gone already
            pass
        except OSError as error:
            failure = error
        with contextlib.suppress(OSError):
            lock_path(self.path).unlink()
        if self._tempdir is not None:
            shutil.rmtree(self._tempdir, ignore_errors=True)
            self._tempdir = None
        os.close(self._lock_fd)
        self._lock_fd = -1
        if failure is not None:
            raise EndpointError(
                f"pty link {self.path}: cannot remove it ({failure.strerror}); remove it by hand"
            ) from failure


def lock_path(link: Path) -> Path:
    """The lock file whose ``flock`` marks ``link``'s emulator as alive."""
    return link.with_name(f".{link.name}.lock")


def remove_dead_link(link: Path) -> bool:
    """Remove ``link``, its lock file and its temporary directory if the emulator that
    published it has died (its lock is free). True if it was removed."""
    try:
        fd = os.open(lock_path(link), os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC)
    except OSError:  # no lock file: not a link an emulator of ours owns
        return False
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:  # held: its emulator is alive
            return False
        with contextlib.suppress(OSError):
            if stat.S_ISLNK(os.lstat(link).st_mode):
                link.unlink()
        with contextlib.suppress(OSError):
            lock_path(link).unlink()
        directory = link.parent
        if directory.parent == Path(tempfile.gettempdir()) and directory.name.startswith(
            TEMP_PREFIXES
        ):
            shutil.rmtree(directory, ignore_errors=True)
        return True
    finally:
        os.close(fd)


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
                and remove_dead_link(entry / "tty")
            ):
                removed.append(entry)
    return removed


def _claim(link: Path) -> int:
    """Lock ``link``'s lock file for this process; the fd holds the lock."""
    try:
        fd = os.open(
            lock_path(link), os.O_RDONLY | os.O_CREAT | os.O_NOFOLLOW | os.O_CLOEXEC, 0o600
        )
    except OSError as error:
        raise EndpointError(
            f"pty link {link}: cannot create its lock file {lock_path(link)} "
            f"({error.strerror}); choose another path"
        ) from error
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError as error:
        os.close(fd)
        raise EndpointError(
            f"pty link {link}: another running emulator publishes it; stop that one or choose "
            "another path"
        ) from error
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
