"""The bundled configs (``hil.config.bundled``): every default the commands, the preflight, the
pytest plugin and the PLC driver read is a file of the checkout's ``configs/`` found through the
data package ``hil.bundled`` — here, in the editable install, the checkout's own folder (the
wheel install is tests/test_wheel_install.py)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from conftest import CONFIGS

from drivers.plc.register_map import DEFAULT_MAP_PATH
from hil.campaign.loader import DEMO, load_campaign
from hil.cli import run_cmd, sim_cmd, stub_cmd
from hil.config.bundled import bundled_file, bundled_root
from hil.preflight import check
from hil.rig.emulators import EMULATED_PLC_SETTINGS


def test_the_editable_install_reads_the_checkouts_configs_folder() -> None:
    """One copy to edit: the bundled configs of this install are ``configs/`` itself."""
    assert bundled_root() == CONFIGS
    assert bundled_file("rigs/emulate.toml") == CONFIGS / "rigs" / "emulate.toml"


@pytest.mark.parametrize(
    ("default", "name"),
    [
        (DEMO, "campaigns/demo.toml"),
        (run_cmd.DEFAULT_RIG, "rigs/emulate.toml"),
        (run_cmd.DEFAULT_SCENARIO, "scenarios/defended-site.toml"),
        (sim_cmd.DEFAULT_SCENARIO, "scenarios/raid-100.toml"),
        (stub_cmd.DEFAULT_PLC_CONFIG, "plc/emulator-default.toml"),
        (check.DEFAULT_SCENARIO, "scenarios/defended-site.toml"),
        (EMULATED_PLC_SETTINGS, "plc/emulator-default.toml"),
        (DEFAULT_MAP_PATH, "plc/launcher-plc-v1.toml"),
    ],
    ids=lambda value: value if isinstance(value, str) else "",
)
def test_every_default_is_a_bundled_file(default: Path, name: str) -> None:
    assert default == bundled_file(name)
    assert default.is_file()


def test_the_demo_campaign_names_bundled_files_relative_to_itself() -> None:
    campaign = load_campaign(DEMO)
    assert campaign.rig_file.resolve() == bundled_file("rigs/emulate.toml")
    scenarios = {case.scenario_file.resolve() for case in campaign.cases if case.scenario_file}
    assert scenarios == {bundled_file("scenarios/defended-site.toml")}


def test_the_drivers_find_the_map_without_running_hil_code() -> None:
    """``drivers`` may not import ``hil``: reading the bundled map loads only the two
    docstring-only ``__init__`` of ``hil`` and ``hil.bundled``."""
    code = (
        "import sys\n"
        "from drivers.plc.register_map import load_register_map\n"
        "load_register_map()\n"
        "print(sorted(m for m in sys.modules if m == 'hil' or m.startswith('hil.')))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60
    ).stdout
    assert out.split("\n")[0] == "['hil', 'hil.bundled']"


def test_the_package_data_globs_take_every_file_of_configs() -> None:
    """``pyproject.toml`` ships ``hil.bundled``'s ``*/*.toml``: a file of another kind or depth
    in ``configs/`` would be left out of the wheel."""
    files = {p for p in CONFIGS.rglob("*") if p.is_file() and "__pycache__" not in p.parts}
    assert files - {CONFIGS / "__init__.py"} == set(CONFIGS.glob("*/*.toml"))
