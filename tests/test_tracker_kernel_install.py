"""The compiled tracker as installed: what ``hil.tracking`` loads, where numba's cache goes, and
that a read-only install with no writable cache anywhere still tracks (compiling in memory).
Each case runs in a fresh interpreter, as a user's process would."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
UNWRITABLE = "/proc/hil-no-such-dir"
"""A directory nobody can create, root included (the suite may run as root, where file modes
do not stop a write)."""

STEP = """
import json, sys, warnings
warnings.simplefilter("error")
import numpy as np
from hil.config.tracker import TrackerConfig
from hil.tracking import _jit
from hil.tracking.measurement import PolarSensor
from hil.tracking.tracker import DetectionBatch, Tracker

tracker = Tracker(TrackerConfig(motion=sys.argv[1]), PolarSensor())
for k in range(4):
    t = float(k)
    tracker.step(DetectionBatch(t, np.array([5000.0 + 100 * t]), np.array([0.3]),
                                np.array([0.05]), np.array([100.0])))
from hil.tracking import kernels
print(json.dumps({
    "confirmed": int(len(tracker.tracks_at(3.0).ids)),
    "caching": _jit.CACHING,
    "kernels": kernels.__file__,
    "misses": {name: len(getattr(kernels, name).stats.cache_misses) for name in
               ("predict_rows", "gate", "update_rows")},
}))
"""


def run_step(env: dict[str, str], cwd: Path, motion: str = "cv") -> dict[str, object]:
    out = subprocess.run(
        [sys.executable, "-W", "error", "-c", STEP, motion],
        check=True,
        capture_output=True,
        text=True,
        cwd=cwd,
        env=env,
        timeout=540,  # read-only: every kernel compiles in memory, minutes on a loaded machine
    )
    result: dict[str, object] = json.loads(out.stdout)
    return result


def clean_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("NUMBA_", "XDG_"))}
    env.pop("PYTHONPATH", None)
    env.update(extra)
    return env


def test_the_tracker_loads_nothing_outside_its_package_numpy_scipy_and_numba() -> None:
    """``import hil.tracking.*`` and a compiled step load no other project module (the caller
    builds its ``TrackerConfig``: the tracker itself needs neither ``hil.config`` nor pydantic),
    and numba only once a compiled tracker is built."""
    code = (
        "import sys\n"
        "import hil.tracking, hil.tracking.tracker, hil.tracking.metrics, hil.tracking.scoring\n"
        "print('numba' in sys.modules)\n"
        "from hil.tracking import kernels\n"
        "print(*sorted(m for m in sys.modules if m.split('.')[0] in "
        "('hil', 'sim', 'drivers', 'firmware_stubs', 'pydantic', 'numba')))\n"
    )
    lines = subprocess.run(
        [sys.executable, "-c", code], check=True, capture_output=True, text=True, cwd=ROOT
    ).stdout.splitlines()
    assert lines[0] == "False"
    outside = [
        name
        for name in lines[1].split()
        if name != "hil" and not name.startswith(("hil.tracking", "numba"))
    ]
    assert not outside, outside


KERNELS = {"predict_rows", "gate", "update_rows", "visible", "succession_parents", "initiate"}
KERNELS |= {"maintain"}


@pytest.mark.timeout(600)
def test_the_kernels_compile_once_into_numba_cache_dir(tmp_path: Path) -> None:
    """Cold: ``python -m hil.tracking.warm`` compiles every kernel into ``NUMBA_CACHE_DIR``;
    warm: a tracker loads them, nothing recompiled."""
    cache = tmp_path / "numba-cache"
    env = clean_env(NUMBA_CACHE_DIR=str(cache))
    out = subprocess.run(
        [sys.executable, "-W", "error", "-m", "hil.tracking.warm"],
        check=True,
        capture_output=True,
        text=True,
        cwd=ROOT,
        env=env,
        timeout=540,
    ).stdout
    assert "cached on disk" in out
    indexed = {path.name.split(".")[1].split("-")[0] for path in cache.rglob("*.nbi")}
    assert indexed >= KERNELS, KERNELS - indexed
    assert list(cache.rglob("*.nbc"))
    warm = run_step(env, ROOT, "imm")
    assert warm["confirmed"] == 1
    assert warm["misses"] == {"predict_rows": 0, "gate": 0, "update_rows": 0}
    caching = warm["caching"]
    assert isinstance(caching, dict) and caching and all(caching.values())


@pytest.mark.timeout(600)
def test_a_read_only_install_compiles_in_memory(tmp_path: Path) -> None:
    """An install where neither the package's ``__pycache__``, ``NUMBA_CACHE_DIR`` nor the home
    directory is writable: numba cannot cache, the tracker compiles in memory and works, with
    no warning (``-W error``) and nothing written beside its source."""
    site = tmp_path / "site"
    for package in ("hil/tracking", "hil/config"):
        shutil.copytree(
            ROOT / package, site / package, ignore=shutil.ignore_patterns("__pycache__")
        )
    shutil.copy(ROOT / "hil/__init__.py", site / "hil/__init__.py")
    # __pycache__ as a file: no directory can be made there, whoever runs the test
    (site / "hil/tracking/__pycache__").write_text("read-only install\n")
    before = sorted(p.relative_to(site) for p in site.rglob("*"))
    for path in site.rglob("*"):
        path.chmod(0o555 if path.is_dir() else 0o444)
    try:
        result = run_step(
            clean_env(
                PYTHONPATH=str(site),
                PYTHONDONTWRITEBYTECODE="1",
                NUMBA_CACHE_DIR=UNWRITABLE,
                HOME=UNWRITABLE,
                XDG_CACHE_HOME=UNWRITABLE,
            ),
            tmp_path,
        )
    finally:
        for path in site.rglob("*"):
            path.chmod(0o755 if path.is_dir() else 0o644)
    assert result["kernels"] == str(site / "hil/tracking/kernels.py")
    assert result["confirmed"] == 1
    caching = result["caching"]
    assert isinstance(caching, dict) and caching and not any(caching.values())
    assert sorted(p.relative_to(site) for p in site.rglob("*")) == before
