"""The package's pytest plugin (``hil.pytest_plugin``, entry point ``pytest11``) as a bench team
uses it: a pytest session of their own (pytester, in a child process) with a test file that
asks for ``hil_rig`` or is marked ``rig``."""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import CONFIGS
from plc_support import emulated_plc
from radar_support import emulated_radar

from drivers.plc.types import Coil, Mode
from drivers.radar.messages import RadarMode
from hil.config.loader import load_rig
from hil.errors import HilError
from hil.rig.devices import open_rig_devices

SCENARIO = CONFIGS / "scenarios" / "defended-site.toml"

RIG_TEST = '''
import pytest

from drivers.plc.types import ArmState


@pytest.mark.asyncio
async def test_the_rig_answers(hil_rig):
    """The same body runs on the emulated rig and, with --rig, on the bench."""
    assert hil_rig.config.rig.mode in ("emulate", "bench")
    status = await hil_rig.plc.read_status()
    assert status.arm_state is ArmState.SAFE and status.estop_ok
    await hil_rig.radar.set_rpm(6.0)
    assert hil_rig.radar.health().link_state == "up"
    print("EMULATED", ",".join(hil_rig.emulated), "PANEL", hil_rig.panel_url)
'''


def test_hil_rig_gives_a_test_the_emulated_rig_with_its_drivers(
    pytester: pytest.Pytester,
) -> None:
    pytester.makepyfile(test_bench=RIG_TEST)
    result = pytester.runpytest_subprocess("-s", "-p", "no:cacheprovider")
    result.assert_outcomes(passed=1)
    result.stdout.fnmatch_lines(["*EMULATED radar,plc PANEL tcp://127.0.0.1:*"])


def test_with_rig_the_same_body_runs_on_the_named_rig_and_rig_tests_run(
    pytester: pytest.Pytester,
) -> None:
    """``--rig`` names the rig (the emulated one here: no bench on CI); the ``rig`` tests run."""
    pytester.makepyfile(
        test_bench=RIG_TEST
        + """

@pytest.mark.rig
def test_marked(bench_rig):
    assert bench_rig.rig.name == "emulate"
"""
    )
    rig = str(CONFIGS / "rigs" / "emulate.toml")
    result = pytester.runpytest_subprocess("-s", "--rig", rig, "-p", "no:cacheprovider")
    result.assert_outcomes(passed=2)


def test_rig_marked_tests_are_skipped_without_rig(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        test_hardware="""
        import pytest

        @pytest.mark.rig
        def test_on_the_bench(bench_rig):
            raise AssertionError("must not run without --rig")

        def test_everywhere():
            pass
        """
    )
    result = pytester.runpytest_subprocess("-rs", "-p", "no:cacheprovider")
    result.assert_outcomes(passed=1, skipped=1)
    result.stdout.fnmatch_lines(["SKIPPED*bench hardware test: pass --rig rigs/<bench>.toml"])


@pytest.mark.parametrize(
    ("content", "problem"),
    [
        (None, "--rig nope.toml: *nope.toml*"),
        ("[rig]\nname = 'x'\nmode = 'warp'\n", "--rig nope.toml: *rig.mode*"),
    ],
    ids=["missing", "invalid"],
)
def test_a_bad_rig_file_is_one_clear_error(
    pytester: pytest.Pytester, content: str | None, problem: str
) -> None:
    if content is not None:
        pytester.makefile(".toml", nope=content)
    pytester.makepyfile(test_any="def test_any():\n    pass\n")
    result = pytester.runpytest_subprocess("--rig", "nope.toml", "-p", "no:cacheprovider")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    errors = [line for line in result.stderr.lines if line.strip()]
    assert len(errors) == 1, result.stderr.lines
    result.stderr.fnmatch_lines([f"ERROR: {problem}"])
    assert "Traceback" not in result.stderr.str()


async def test_the_fixture_body_on_a_bench_rig_leaves_it_safe(tmp_path: Path) -> None:
    """``hil_rig`` with ``--rig`` opens the bench's own devices (here emulators in this process
    standing in for the bench hardware, over real loopback TCP) as ``hil run`` does, and leaves
    the launcher disarmed, IDLE, axes off and the radar in STANDBY whatever the test did."""
    async with emulated_radar("tcp") as radar, emulated_plc("tcp") as plc:
        rig_file = tmp_path / "bench.toml"
        rig_file.write_text(
            f"[rig]\nname = 'bench'\nmode = 'bench'\n\n[radar]\nurl = '{radar.url}'\n\n"
            f"[plc]\nhost = '127.0.0.1'\nport = {plc.port}\n"
        )
        async with open_rig_devices(load_rig(rig_file), SCENARIO) as rig:
            assert rig.emulated == () and rig.panel_url is None and rig.notes == ()
            await rig.radar.set_rpm(6.0)
            await rig.radar.set_mode(RadarMode.ROTATING)
            await rig.plc.enable_axes(True)
            await rig.plc.set_mode(Mode.POINTING)
            await rig.plc.request_arm(True)
            assert plc.model.coils[Coil.ARM_REQUEST] and radar.firmware.mode is RadarMode.ROTATING
        assert radar.firmware.mode is RadarMode.STANDBY
        model = plc.model
        assert not model.coils[Coil.ARM_REQUEST] and not model.coils[Coil.AXES_ENABLE]
        assert model.mode is Mode.IDLE


async def test_the_fixture_refuses_a_sim_rig() -> None:
    with pytest.raises(
        HilError, match="rig 'sim' is a sim rig, it has no devices; use an emulate or bench rig"
    ):
        async with open_rig_devices(load_rig(CONFIGS / "rigs" / "sim.toml"), SCENARIO):
            pass
