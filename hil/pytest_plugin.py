"""The bench's pytest plugin (entry point ``pytest11``: active wherever hil-testbed is installed).

A bench team writes its acceptance tests in pytest against our rig:

- ``--rig FILE`` names the rig file (``rigs/<bench>.toml`` where ``hil init`` lays them out); a
  file that cannot be loaded stops pytest with one line naming it and what is wrong.
- Tests marked ``@pytest.mark.rig`` need the real bench: they run only with ``--rig`` and are
  skipped, with the reason, without it.
- The ``hil_rig`` fixture (async, pytest-asyncio) gives a test a running rig with its drivers
  (``hil.rig.devices.RigDevices``: ``radar``, ``plc``, ``emulated``, ``panel_url``,
  ``config``). Without ``--rig`` it is the bundled emulated rig (``rigs/emulate.toml``: the
  emulated radar on a pty and the emulated PLC on loopback Modbus TCP, started as child
  processes); with ``--rig`` it is the rig named there, opened as ``hil run`` opens it (a
  bench rig's missing device is replaced by its emulator only where the rig allows the
  fallback). The same test body runs against both.
  Everything is closed, the emulators stopped, after the test.
- ``hil_rig_scenario`` (a path; override the fixture to change it) is the scenario whose real
  targets the emulated radar sees (default: the bundled ``scenarios/defended-site.toml``).
- ``bench_rig`` is the loaded ``--rig`` config for tests marked ``rig``.
"""

from __future__ import annotations

import importlib.util
from collections.abc import AsyncIterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from hil.config.rig import RigConfig
    from hil.rig.devices import RigDevices

EMULATED_RIG = "rigs/emulate.toml"
"""The bundled rig (``hil.config.bundled``) ``hil_rig`` opens without ``--rig``."""
DEFAULT_SCENARIO = "scenarios/defended-site.toml"
"""The bundled scenario ``hil_rig_scenario`` gives by default."""
SKIP_REASON = "bench hardware test: pass --rig rigs/<bench>.toml"
RIG_KEY = pytest.StashKey["RigConfig | None"]()


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("hil", "hil-testbed rig")
    group.addoption(
        "--rig",
        action="store",
        default=None,
        metavar="FILE",
        help="run the tests against the rig described by this rig config (hil_rig fixture) and "
        "run the tests marked 'rig' (bench hardware), which are skipped without it",
    )


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "rig: needs the real bench hardware named by --rig")
    path = config.getoption("--rig", default=None)
    config.stash[RIG_KEY] = _load_rig(path) if path else None


def _load_rig(path: str) -> RigConfig:
    from hil.config.loader import load_rig
    from hil.errors import ConfigError

    try:
        return load_rig(path)
    except ConfigError as error:
        raise pytest.UsageError(f"--rig {path}: " + "; ".join(error.problems)) from None


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if config.stash.get(RIG_KEY, None) is not None:
        return
    skip = pytest.mark.skip(reason=SKIP_REASON)
    for item in items:
        if "rig" in item.keywords:
            item.add_marker(skip)


@pytest.fixture
def bench_rig(request: pytest.FixtureRequest) -> RigConfig:
    """The rig config named by ``--rig`` (for tests marked ``rig``)."""
    rig = request.config.stash.get(RIG_KEY, None)
    if rig is None:
        pytest.fail("a 'rig' test ran without --rig")
    return rig


@pytest.fixture
def hil_rig_scenario() -> Path:
    """The scenario whose real targets the emulated radar sees (override to change it)."""
    from hil.config.bundled import bundled_file

    return bundled_file(DEFAULT_SCENARIO)


if importlib.util.find_spec("pytest_asyncio") is None:

    @pytest.fixture(name="hil_rig")
    def _hil_rig_needs_pytest_asyncio() -> None:
        """A running rig with its drivers (needs pytest-asyncio)."""
        pytest.fail("the hil_rig fixture needs pytest-asyncio: pip install 'hil-testbed[test]'")

else:
    import pytest_asyncio

    @pytest_asyncio.fixture(name="hil_rig")
    async def _hil_rig(
        request: pytest.FixtureRequest, hil_rig_scenario: Path
    ) -> AsyncIterator[RigDevices]:
        """A running rig with its drivers (``hil.rig.devices.RigDevices``): the ``--rig`` rig, or
        the emulated one; closed, emulators stopped, after the test."""
        from drivers.errors import DriverError
        from hil.config.bundled import bundled_file
        from hil.config.loader import load_rig
        from hil.errors import HilError
        from hil.rig.devices import open_rig_devices

        rig = request.config.stash.get(RIG_KEY, None) or load_rig(bundled_file(EMULATED_RIG))
        try:
            async with open_rig_devices(rig, hil_rig_scenario) as running:
                yield running
        except (HilError, DriverError) as error:
            pytest.fail(f"hil_rig: {error}", pytrace=False)
