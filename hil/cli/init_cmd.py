"""``hil init [DIR] [--force]``: write a starter bench repository into DIR (default: here).

A bench team edits these files instead of the package's bundled configs: the emulated rig and a
bench rig (``rigs/``), a scenario, an acceptance campaign, ``tests/test_bench.py`` on the pytest
plugin's fixtures, a ``pytest.ini`` and a README. The templates are package data
(``hil/cli/init_template/``) and every path in them is relative to DIR, so the folder can be
moved and committed as it is; ``pytest`` and ``hil campaign run campaigns/acceptance.toml`` work
there at once.

Exit codes (as for every ``hil`` command): 0 written; 2 nothing written: a file it would write
exists (the first is named; ``--force`` replaces them), or DIR is not a folder or cannot be
written.
"""

from __future__ import annotations

import argparse
import shlex
from importlib.resources import files
from pathlib import Path
from typing import Any

from hil.errors import ConfigError

TEMPLATE_PACKAGE = "hil.cli"
TEMPLATE_FOLDER = "init_template"
FILES = (
    "README.md",
    "pytest.ini",
    "rigs/emulate.toml",
    "rigs/bench.toml",
    "scenarios/approach.toml",
    "campaigns/acceptance.toml",
    "tests/test_bench.py",
)
"""What ``hil init`` writes, relative to DIR (and to the template folder)."""
CAMPAIGN = "campaigns/acceptance.toml"


def register(commands: Any) -> None:
    parser = commands.add_parser(
        "init",
        help="write a starter bench repository: rigs, a scenario, a campaign, pytest tests",
        description="Write a starter bench repository into DIR: rigs/emulate.toml (the "
        "emulators), rigs/bench.toml (our bench, to edit), scenarios/approach.toml, "
        "campaigns/acceptance.toml, tests/test_bench.py (the pytest plugin's hil_rig fixture "
        "and rig marker), pytest.ini and README.md; paths in them are relative to DIR. "
        "Exit codes: 0 written, 2 nothing written (a file exists: --force replaces it; DIR "
        "not a folder or not writable).",
    )
    parser.add_argument(
        "dir",
        type=Path,
        nargs="?",
        default=Path("."),
        metavar="DIR",
        help="the folder to write into, made if missing (default: the current folder)",
    )
    parser.add_argument(
        "--force",
        action="store_true",
        help="replace files of the same names (other files in DIR are left alone)",
    )
    parser.set_defaults(handler=_handle)


def template(name: str) -> bytes:
    """The template of ``name`` (one of ``FILES``), as packaged."""
    resource = files(TEMPLATE_PACKAGE).joinpath(TEMPLATE_FOLDER, *name.split("/"))
    return resource.read_bytes()


def write_starter(folder: Path, force: bool = False) -> list[Path]:
    """Write every file of ``FILES`` into ``folder`` (made if missing); returns their paths.
    Without ``force`` an existing file is a ``ConfigError`` naming it, and nothing is written;
    a folder that cannot be made or written is one too (no file written if a folder failed)."""
    if folder.exists() and not folder.is_dir():
        raise ConfigError([f"{folder}: not a folder; hil init writes a repository into a folder"])
    targets = [folder.joinpath(*name.split("/")) for name in FILES]
    existing = [path for path in targets if path.exists() or path.is_symlink()]
    if existing and not force:
        more = f" (and {len(existing) - 1} more it writes)" if len(existing) > 1 else ""
        raise ConfigError(
            [f"{existing[0]}: exists{more}; hil init wrote nothing (--force replaces them)"]
        )
    contents = {path: template(name) for path, name in zip(targets, FILES, strict=True)}
    try:
        for path in targets:  # every folder first: one that cannot be made stops it before a file
            path.parent.mkdir(parents=True, exist_ok=True)
        for path, data in contents.items():
            path.unlink(missing_ok=True)  # a symlink is replaced, not written through
            path.write_bytes(data)
    except OSError as error:
        message = f"{error.filename or folder}: cannot be written ({error.strerror})"
        raise ConfigError([message]) from error
    return targets


def _handle(args: argparse.Namespace) -> int:
    folder: Path = args.dir
    written = write_starter(folder, force=args.force)
    print(f"hil init: wrote {len(written)} files in {folder}:")
    for path in written:
        print(f"  {path.relative_to(folder)}")
    print("next:")
    if folder.resolve() != Path.cwd().resolve():
        print(f"  cd {shlex.quote(str(folder))}")
    print("  pytest                                       # the bench tests, on the emulated rig")
    print(f"  hil campaign run {CAMPAIGN}   # armed emulated run and sim sweep")
    return 0
