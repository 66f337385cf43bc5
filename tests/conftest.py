"""Suite-wide fixtures: the leak guard on every test, and the bench-hardware opt-in."""

from __future__ import annotations

from pathlib import Path

import pytest

pytest_plugins = ["leakguard"]

REPO = Path(__file__).resolve().parents[1]
CONFIGS = REPO / "configs"
DATA = Path(__file__).resolve().parent / "data"


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--rig",
        action="store",
        default=None,
        metavar="FILE",
        help="run hardware tests against the bench described by this rig config",
    )


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if config.getoption("--rig"):
        return
    skip = pytest.mark.skip(reason="bench hardware test: pass --rig configs/rigs/<bench>.toml")
    for item in items:
        if "rig" in item.keywords:
            item.add_marker(skip)
