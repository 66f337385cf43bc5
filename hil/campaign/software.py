"""Which software a process runs, to tell a campaign's client from a Dask worker that would not
give the same digests: the hil version, its checkout's commit and a digest of the source of the
four packages, with the Python, numpy and scipy versions the numbers depend on."""

from __future__ import annotations

import functools
import hashlib
import platform
import subprocess
from importlib import import_module
from importlib.metadata import version
from pathlib import Path

from hil import __version__

PACKAGES = ("hil", "sim", "drivers", "firmware_stubs")
REPO = Path(__file__).resolve().parents[2]


def _git(*args: str) -> str:
    done = subprocess.run(
        ["git", "-C", str(REPO), *args], capture_output=True, text=True, timeout=5, check=True
    )
    return done.stdout.strip()


def git_commit() -> str | None:
    """The checkout's commit (``+dirty`` with uncommitted changes); None outside a checkout."""
    try:
        head = _git("rev-parse", "HEAD")
        dirty = _git("status", "--porcelain", "--untracked-files=no")
    except (OSError, subprocess.SubprocessError):
        return None
    return f"{head}+dirty" if dirty else head or None


def source_digest() -> str:
    """SHA-256 (first 16 hex digits) of every ``.py`` file of the four packages, by path
    relative to its package: equal digests, equal code, whatever the commit says."""
    digest = hashlib.sha256()
    for name in PACKAGES:
        root = Path(str(import_module(name).__file__)).parent
        for path in sorted(root.rglob("*.py")):
            digest.update(f"{name}/{path.relative_to(root).as_posix()}\0".encode())
            digest.update(path.read_bytes())
    return digest.hexdigest()[:16]


@functools.cache
def identity() -> dict[str, str | None]:
    """This process's software (computed once per process)."""
    return {
        "hil": __version__,
        "commit": git_commit(),
        "source": source_digest(),
        "python": platform.python_version(),
        "numpy": version("numpy"),
        "scipy": version("scipy"),
    }


def differences(mine: dict[str, str | None], theirs: dict[str, str | None]) -> list[str]:
    """``key: theirs (here: mine)`` for every item that differs; a commit unknown on either side
    (not a checkout) is not compared — the source digest still is."""
    found = []
    for key, value in mine.items():
        other = theirs.get(key)
        if key == "commit" and (value is None or other is None):
            continue
        if other != value:
            found.append(f"{key} {other} (here: {value})")
    return found
