"""The house's floors: no import cycle between any two of our modules, and inside ``hil/`` no
room imports a room above it (DESIGN.md, "The data path"; issue 22).

Imports are read from the source (``import_walk``), function-level and ``TYPE_CHECKING`` ones
included: an import hidden in a function is still a dependency, and hiding one is how the
cycles this test now forbids were kept alive. A registry names its implementations as strings
resolved on demand (``hil.rig.RIG_BUILDERS``, ``hil.campaign.executor.EXECUTORS``), which is
not an import.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from import_walk import PACKAGES, ROOT, imports, module_file, module_name

FLOORS: dict[str, int] = {
    # the foundations: the version, the exception tree, how processes log
    "hil": 0,
    "hil.errors": 0,
    "hil.logs": 0,
    # configuration: validated data, nothing that acts
    "hil.config": 1,
    # libraries over the configuration: the tracker, fire control, the recording format
    "hil.tracking": 2,
    "hil.fire_control": 2,
    "hil.recording": 2,
    # the loop: one cycle, its sources, launchers and observers
    "hil.loop": 3,
    # what the loop talks to in each rig mode, and what watches it live
    "hil.rig": 4,
    "hil.telemetry": 4,
    # one run on a rig
    "hil.run": 5,
    # what performs many runs, or checks and services a rig
    "hil.campaign": 6,
    "hil.preflight": 6,
    "hil.plc_tools": 6,
    # the results history: the store of campaigns, trends, comparisons and regressions
    "hil.history": 6,
    # the entry points
    "hil.cli": 7,
    "hil.pytest_plugin": 7,
    "hil.__main__": 7,
}
"""Each room of ``hil/`` and its floor: a module may import its own room and rooms on lower
floors (or on its own floor, when no cycle results), never a higher one. A new room must be
given its floor here."""

NO_EMULATOR_BELOW = 3
"""Rooms below this floor (configuration, tracker, fire control, recording format) never import
``firmware_stubs``: loading a config or the tracker must not load the PLC emulator. From the
loop up it may (the loop's in-process launcher drives the PLC model of a ``sim`` rig)."""


def our_modules() -> dict[str, Path]:
    files = sorted(path for package in PACKAGES for path in (ROOT / package).rglob("*.py"))
    return {module_name(path): path for path in files}


def graph() -> dict[str, set[str]]:
    """Module → the modules of ours it imports."""
    return {
        name: {target for target in imports(path) if module_file(target) is not None} - {name}
        for name, path in our_modules().items()
    }


def cycles(edges: dict[str, set[str]]) -> list[list[str]]:
    """Every strongly connected component of more than one module (Tarjan), sorted."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for target in sorted(edges.get(node, ())):
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in on_stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(edges):
        if node not in index:
            visit(node)
    return sorted(found)


def room(module: str) -> str | None:
    """The ``FLOORS`` room ``module`` lives in (the longest prefix), None outside ``hil``."""
    if module != "hil" and not module.startswith("hil."):
        return None
    parts = module.split(".")
    for end in range(len(parts), 0, -1):
        candidate = ".".join(parts[:end])
        if candidate in FLOORS:
            return candidate
    return None


def test_the_walk_sees_imports_inside_functions(tmp_path: Path) -> None:
    """A function-level import counts: without it the hidden cycles could pass."""
    assert "hil.config.loader" in imports(ROOT / "hil" / "pytest_plugin.py")


def test_cycle_finder_finds_a_cycle() -> None:
    edges = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}
    assert cycles(edges) == [["a", "b", "c"]]
    assert cycles({"a": {"b"}, "b": set()}) == []


def test_no_import_cycle_between_our_modules() -> None:
    found = cycles(graph())
    assert not found, "import cycles: " + "; ".join(" ⇄ ".join(c) for c in found)


def test_every_hil_module_is_in_a_room_with_a_floor() -> None:
    homeless = [name for name in our_modules() if name.startswith("hil") and room(name) is None]
    assert not homeless, f"give these a room in FLOORS: {homeless}"


def test_no_room_imports_a_room_above_it() -> None:
    upward = []
    for name, targets in sorted(graph().items()):
        home = room(name)
        if home is None:
            continue
        for target in sorted(targets):
            there = room(target)
            if there is not None and FLOORS[there] > FLOORS[home]:
                upward.append(f"{name} (floor {FLOORS[home]}) → {target} (floor {FLOORS[there]})")
    assert not upward, "upward imports:\n" + "\n".join(upward)


def test_rooms_below_the_rigs_never_import_the_emulators() -> None:
    offenders = [
        f"{name} → {target}"
        for name, targets in sorted(graph().items())
        if (home := room(name)) is not None and FLOORS[home] < NO_EMULATOR_BELOW
        for target in sorted(targets)
        if target.startswith("firmware_stubs")
    ]
    assert not offenders, offenders


@pytest.mark.parametrize(
    ("module", "absent"),
    [
        ("hil.tracking.tracker", ("firmware_stubs", "hil.config.loader", "hil.rig", "hil.run")),
        ("hil.config.rig", ("firmware_stubs", "hil.preflight", "hil.loop")),
        ("hil.recording.reader", ("hil.run", "hil.rig", "hil.loop")),
        ("hil.rig", ("hil.rig.sim", "hil.rig.devices", "hil.rig.replay", "firmware_stubs")),
        ("hil.campaign.executor", ("distributed", "hil.campaign.executor.dask")),
    ],
)
def test_importing_a_room_loads_only_what_it_needs(module: str, absent: tuple[str, ...]) -> None:
    """What Python actually loads (package ``__init__``s included), in a fresh interpreter."""
    loaded = subprocess.run(
        [sys.executable, "-c", f"import sys, {module}; print(*sorted(sys.modules))"],
        check=True,
        capture_output=True,
        text=True,
        cwd=ROOT,
    ).stdout.split()
    unwanted = [
        name for name in loaded if any(name == a or name.startswith(a + ".") for a in absent)
    ]
    assert not unwanted, f"import {module} loads {unwanted}"


@pytest.mark.parametrize(
    ("argv", "absent"),
    [
        # the emulators every emulated run starts: no tracker, no plots, no Dask, no scipy
        (["stub", "radar"], ("scipy", "matplotlib", "distributed", "hil.tracking", "hil.campaign")),
        (["stub", "plc"], ("scipy", "matplotlib", "distributed", "hil.tracking", "hil.campaign")),
        # one run: the loop, not the campaign's report or Dask
        (["run"], ("matplotlib", "distributed", "hil.campaign")),
        # looking back on the results store: no plotting without --png, no migration tooling
        # for a store at this package's schema
        (["results"], ("matplotlib", "distributed", "alembic")),
    ],
)
def test_a_command_loads_only_its_own_module(argv: list[str], absent: tuple[str, ...]) -> None:
    """``hil.cli.commands`` imports the command being run, not every command's libraries."""
    code = (
        "import sys; from hil.cli.commands import build_parser; "
        f"build_parser({argv!r}); print(*sorted(sys.modules))"
    )
    loaded = subprocess.run(
        [sys.executable, "-c", code], check=True, capture_output=True, text=True, cwd=ROOT
    ).stdout.split()
    unwanted = [
        name for name in loaded if any(name == a or name.startswith(a + ".") for a in absent)
    ]
    assert not unwanted, f"hil {' '.join(argv)} loads {unwanted}"
