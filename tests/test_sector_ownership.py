"""Who owns the no-fire sectors, and the package layering that keeps it so (issue 11).

Fire control must not depend on the emulator: a change to ``firmware_stubs`` must never change
the bench's interlocks. The import graph is read from the source (each module's ``import``
statements, followed transitively through the repository's own modules), so these tests see
what a module's code depends on. They do not follow a package's ``__init__`` merely because a
submodule is imported: that is what Python loads alongside, not what the code uses.
"""

from __future__ import annotations

import math
from pathlib import Path

import pytest
from import_walk import imports as _imports
from import_walk import module_file as _module_file
from import_walk import module_name as _module_name

from firmware_stubs.plc.model import DEFAULT_INHIBIT_SECTORS, PlcSettings
from hil.config.fire_control import DEFAULT_SECTORS, FireControlConfig
from hil.config.loader import load_plc_emulator
from hil.rig.emulators import plc_settings
from sim.sectors import InhibitSector

ROOT = Path(__file__).resolve().parents[1]


def _path_to(start: Path, forbidden: str) -> list[str] | None:
    """An import chain from ``start`` to a module in package ``forbidden``, or None."""
    chains = {_module_name(start): [_module_name(start)]}
    todo = [start]
    while todo:
        path = todo.pop()
        chain = chains[_module_name(path)]
        for name in sorted(_imports(path)):
            if name == forbidden or name.startswith(forbidden + "."):
                return [*chain, name]
            target = _module_file(name)
            if target is not None and name not in chains:
                chains[name] = [*chain, name]
                todo.append(target)
    return None


FIRE_CONTROL_SIDE = sorted(
    [
        *(ROOT / "hil" / "fire_control").glob("*.py"),
        ROOT / "hil" / "config" / "fire_control.py",
        ROOT / "hil" / "config" / "sectors.py",
        ROOT / "hil" / "config" / "rig.py",
    ]
)


@pytest.mark.parametrize("path", FIRE_CONTROL_SIDE, ids=lambda p: str(p.relative_to(ROOT)))
def test_fire_control_never_imports_the_emulator(path: Path) -> None:
    chain = _path_to(path, "firmware_stubs")
    assert chain is None, " imports ".join(chain or [])


def test_the_import_walk_sees_an_import_of_the_emulator() -> None:
    """The rig's emulators legitimately build ``PlcSettings``: the walk must find it, or the
    test above could never fail."""
    chain = _path_to(ROOT / "hil" / "rig" / "emulators.py", "firmware_stubs")
    assert chain is not None
    assert chain[0] == "hil.rig.emulators"
    assert chain[-1].startswith("firmware_stubs.")


@pytest.mark.parametrize(
    ("package", "forbidden"),
    [
        ("sim", "hil"),
        ("sim", "drivers"),
        ("sim", "firmware_stubs"),
        ("drivers", "hil"),
        ("drivers", "firmware_stubs"),
        ("firmware_stubs", "hil"),
    ],
)
def test_package_layering(package: str, forbidden: str) -> None:
    """DESIGN.md: sim is pure, drivers know only wire protocols, firmware_stubs may use sim and
    drivers but never hil."""
    for path in sorted((ROOT / package).rglob("*.py")):
        chain = _path_to(path, forbidden)
        assert chain is None, " imports ".join(chain)


def _radians(sectors: tuple[InhibitSector, ...]) -> list[tuple[float, ...]]:
    return [(s.az_from_rad, s.az_to_rad, s.el_min_rad, s.el_max_rad) for s in sectors]


def test_fire_control_default_sectors_equal_the_emulators_own() -> None:
    """Each side owns its copy; they start equal (the ICD's defaults), and a change to one that
    is not made to the other fails here instead of passing silently."""
    software = tuple(s.to_sector() for s in DEFAULT_SECTORS)
    assert FireControlConfig().inhibit_sectors == DEFAULT_SECTORS
    emulator_file = load_plc_emulator(ROOT / "configs" / "plc" / "emulator-default.toml")
    assert _radians(software) == _radians(plc_settings(emulator_file).inhibit_sectors)
    assert _radians(software) == _radians(PlcSettings().inhibit_sectors)
    assert _radians(DEFAULT_INHIBIT_SECTORS) == [
        (math.radians(170.0), math.radians(190.0), -math.pi / 2, math.pi / 2),
        (0.0, 0.0, -math.pi / 2, math.radians(3.0)),
    ]
