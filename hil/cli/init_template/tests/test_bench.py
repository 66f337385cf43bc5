"""Our bench's acceptance tests, on hil-testbed's pytest plugin.

``pytest`` runs them on the emulated rig (hil-testbed's radar and PLC emulators, no hardware);
``pytest --rig rigs/bench.toml`` runs the same bodies against the bench named there, and the
tests marked ``rig``, which need the real bench and are skipped without ``--rig``.
"""

from pathlib import Path

import pytest

from drivers.plc.types import ArmState
from hil.campaign.loader import load_campaign
from hil.config.loader import load_rig

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture
def hil_rig_scenario() -> Path:
    """The targets the emulated radar sees: our scenario (the default is hil-testbed's)."""
    return REPO / "scenarios" / "approach.toml"


def test_our_configs_are_valid() -> None:
    """Every rig file and the campaign (with every file it names) load as they will run."""
    for rig_file in sorted((REPO / "rigs").glob("*.toml")):
        load_rig(rig_file)
    load_campaign(REPO / "campaigns" / "acceptance.toml")


async def test_the_launcher_is_safe_and_the_estop_closed(hil_rig) -> None:
    status = await hil_rig.plc.read_status()
    assert status.arm_state is ArmState.SAFE
    assert status.estop_ok


async def test_the_radar_sends_frames(hil_rig) -> None:
    await hil_rig.radar.set_rpm(6.0)
    await hil_rig.radar.receive(timeout_s=2.0)
    assert hil_rig.radar.health().link_state == "up"


@pytest.mark.rig
def test_the_bench_file_names_real_devices(bench_rig) -> None:
    """Runs only with --rig: the file names the bench's own devices, not emulators."""
    assert bench_rig.rig.mode == "bench"
    assert bench_rig.radar.url
