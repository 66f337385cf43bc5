"""One exception root per package family (DESIGN convention 7): every exception class defined
in ``hil``, ``drivers`` or ``firmware_stubs`` descends from its family's root, and the tree drawn
in the root's module docstring names it; ``sim`` (pure models) defines none."""

from __future__ import annotations

import importlib
import inspect
import pkgutil
import re
import sys

import pytest

from drivers.errors import DriverError
from firmware_stubs.errors import StubError
from hil.errors import HilError

ROOTS: dict[str, type[Exception] | None] = {
    "hil": HilError,
    "drivers": DriverError,
    "firmware_stubs": StubError,
    "sim": None,
}
"""Package family → its exception root (None: the family defines no exception)."""


def exception_classes(family: str) -> dict[str, type[BaseException]]:
    """Every exception class defined at the top level of a module of ``family`` (its
    ``__main__`` aside, which runs the command line), by qualified name."""
    package = importlib.import_module(family)
    names = [family] + [
        module.name
        for module in pkgutil.walk_packages(package.__path__, f"{family}.")
        if module.name.rsplit(".", 1)[-1] != "__main__"
    ]
    found: dict[str, type[BaseException]] = {}
    for name in names:
        module = importlib.import_module(name)
        for attribute, value in vars(module).items():
            if (
                inspect.isclass(value)
                and issubclass(value, BaseException)
                and value.__module__ == name
            ):
                found[f"{name}.{attribute}"] = value
    return found


@pytest.mark.parametrize("family", sorted(ROOTS))
def test_every_exception_of_a_family_descends_from_its_root(family: str) -> None:
    root = ROOTS[family]
    classes = exception_classes(family)
    if root is None:
        assert not classes, f"{family} defines exceptions but has no root: {sorted(classes)}"
        return
    assert f"{root.__module__}.{root.__name__}" in classes  # the walk reached the root
    assert root.__bases__ == (Exception,)
    outside = {name for name, cls in classes.items() if not issubclass(cls, root)}
    assert not outside, f"outside {root.__name__}: {sorted(outside)}; make each a subclass of it"


@pytest.mark.parametrize("family", sorted(f for f, root in ROOTS.items() if root is not None))
def test_the_drawn_tree_names_every_exception_of_the_family(family: str) -> None:
    root = ROOTS[family]
    assert root is not None
    drawing = sys.modules[root.__module__].__doc__ or ""
    classes = exception_classes(family)
    drawn = set(re.findall(r"\b\w+\b", drawing))
    missing = sorted(name for name, cls in classes.items() if cls.__name__ not in drawn)
    assert not missing, f"{root.__module__}'s docstring tree does not name {missing}"
    elsewhere = sorted(
        name
        for name, cls in classes.items()
        if cls.__module__ != root.__module__ and f"``{cls.__module__}``" not in drawing
    )
    assert not elsewhere, (
        f"{root.__module__}'s tree does not say where these live (``module`` beside them): "
        f"{elsewhere}"
    )
