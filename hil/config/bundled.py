"""The configs that ship inside hil-testbed: the files of the checkout's top-level ``configs/``
folder (rigs, scenarios, the PLC map and emulator settings, the demo campaign), installed as the
data package ``hil.bundled`` (``setup.py`` maps it to that folder).

One code path for every install: ``importlib.resources`` finds the checkout's ``configs/`` in an
editable install and ``site-packages/hil/bundled/`` in a wheel install. The defaults of ``hil
run``, ``hil campaign run``, ``hil sim``, ``hil stub plc``, the preflight and the pytest plugin
are read here, never beside the source tree. A bundled file is a real file on disk, so the paths
inside it (a campaign's ``rig = "../rigs/emulate.toml"``) resolve beside it as for any other.
``drivers.plc.register_map`` reads the PLC map through the same package name by itself, because
``drivers`` may not import ``hil`` code (the package holds no code, only the files).
"""

from __future__ import annotations

import atexit
import functools
from contextlib import ExitStack
from importlib.resources import as_file, files
from pathlib import Path

PACKAGE = "hil.bundled"
"""The data package that holds the bundled configs."""


@functools.cache
def bundled_root() -> Path:
    """The bundled configs' folder on disk (``configs/`` of an editable install,
    ``…/site-packages/hil/bundled`` of a wheel). Installed packages are folders, so this is the
    folder itself; from a zip archive (Python ≥ 3.12) the whole tree is extracted once, kept
    until the interpreter exits, so relative paths between the files still resolve."""
    stack = ExitStack()
    root = stack.enter_context(as_file(files(PACKAGE)))
    atexit.register(stack.close)
    return Path(root)


def bundled_file(name: str) -> Path:
    """The bundled config ``name``, relative to ``configs/`` with ``/`` separators
    (``"rigs/emulate.toml"``), as a path on disk. Not checked here: the loaders name a missing
    file with its full path."""
    return bundled_root().joinpath(*name.split("/"))
