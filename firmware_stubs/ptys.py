"""Pseudo-terminals for the emulators: raw pty pairs, and a stable path clients can open.

A pty's slave device name changes every time one is opened, so emulators give clients a
``PtyLink``: a symlink (in a fresh temporary directory unless a path is given) that is pointed
atomically at the current slave and removed, with its directory, on close.
"""

from __future__ import annotations

import contextlib
import os
import pty
import shutil
import tempfile
import tty
from pathlib import Path


def open_raw_pty() -> tuple[int, int]:
    """A pty pair: the slave in raw mode (no echo, no line discipline, whoever opens it), the
    master non-blocking. Returns (master fd, slave fd)."""
    master, slave = pty.openpty()
    tty.setraw(slave)
    os.set_blocking(master, False)
    return master, slave


class PtyLink:
    """The path clients open; ``point_at`` re-targets it without a moment of absence."""

    def __init__(self, path: Path | None, prefix: str) -> None:
        self._tempdir: Path | None = None
        if path is None:
            self._tempdir = Path(tempfile.mkdtemp(prefix=prefix))
            path = self._tempdir / "tty"
        self.path = path

    def point_at(self, slave_fd: int) -> None:
        temporary = self.path.with_name(f".{self.path.name}.{os.getpid()}")
        with contextlib.suppress(FileNotFoundError):
            temporary.unlink()
        os.symlink(os.ttyname(slave_fd), temporary)
        os.replace(temporary, self.path)

    def remove(self) -> None:
        with contextlib.suppress(FileNotFoundError):
            self.path.unlink()
        if self._tempdir is not None:
            shutil.rmtree(self._tempdir, ignore_errors=True)
            self._tempdir = None
