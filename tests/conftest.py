"""Suite-wide fixtures: the leak guard on every test. The bench-hardware opt-in (``--rig FILE``,
the ``rig`` marker, the ``bench_rig`` and ``hil_rig`` fixtures) is the package's pytest plugin,
``hil.pytest_plugin``, active once the package is installed (``pip install -e .``)."""

from __future__ import annotations

import os
import signal
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from cli_support import hil, last_json
from hypothesis import settings

pytest_plugins = ["leakguard", "mosquitto", "postgres"]

# Hypothesis profiles. "default" (make test, and CI) is derandomised: every run tries the same
# examples, so a red CI is never luck; ordinary properties get 200 examples, the safety properties
# 10,000 sequences each (tests/safety_campaign.py). HYPOTHESIS_PROFILE=slow is the random
# exploration: 10,000 random examples for every property; each counterexample it finds becomes
# an @example and a fix.
settings.register_profile("default", max_examples=200, deadline=None, derandomize=True)
settings.register_profile("slow", max_examples=10_000, deadline=None, derandomize=False)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "default"))

REPO = Path(__file__).resolve().parents[1]
CONFIGS = REPO / "configs"
DATA = Path(__file__).resolve().parent / "data"


def _declared_long(item: pytest.Item, ordinary_timeout_s: float) -> bool:
    """A test that gives itself more than the suite's per-test timeout says it is long (the
    safety campaigns, the demo campaign, the benchmarks' smoke runs, the wheel install)."""
    marker = item.get_closest_marker("timeout")
    return marker is not None and bool(marker.args) and float(marker.args[0]) > ordinary_timeout_s


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Long tests first, each kind in its collection order: ``make pytest`` hands tests to its
    workers in this order, and a minute-long test handed out last would run on one core while
    the other idles at the end of the suite."""
    ordinary_timeout_s = float(config.getini("timeout") or 0)
    items.sort(key=lambda item: not _declared_long(item, ordinary_timeout_s))


if signal.getsignal(signal.SIGINT) == signal.SIG_IGN:
    # A suite started as a background job of a non-interactive shell (`make test &`, some CI
    # runners) inherits SIGINT ignored, and so would every child it starts: the tests that press
    # Ctrl-C on a child (hil radar monitor relies on Python's default KeyboardInterrupt) would
    # wait forever. The children get the default back from a handler here (exec resets it).
    signal.signal(signal.SIGINT, signal.default_int_handler)


@pytest.fixture(autouse=True, scope="session")
def recordings_in_a_temporary_folder(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """Every ``hil run`` a test starts records (as on the bench); its default folder is a
    temporary one, so a test run leaves no recordings behind in the checkout."""
    previous = os.environ.get("HIL_RUNS_DIR")
    os.environ["HIL_RUNS_DIR"] = str(tmp_path_factory.mktemp("runs"))
    yield
    if previous is None:
        del os.environ["HIL_RUNS_DIR"]
    else:
        os.environ["HIL_RUNS_DIR"] = previous


@pytest.fixture(scope="session")
def armed_sim_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, Any]]:
    """An armed 12 s run of the sim rig's default scenario, recorded (4 chunks), and its JSON
    summary: made once per test process, shared by the tests that only read it (they copy the
    file before damaging it)."""
    path = tmp_path_factory.mktemp("sim-run") / "sim.mcap"
    run = last_json(
        hil("run", "--rig", str(CONFIGS / "rigs" / "sim.toml"), "--duration", "12", "--arm",
            "--record", str(path), "--json")
    )  # fmt: skip
    return path, run
