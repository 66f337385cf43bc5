"""Configs: bundled files validate; malformed ones fail with one line naming file and key."""

from __future__ import annotations

import math
from pathlib import Path

import pytest
from conftest import CONFIGS, DATA

from hil.cli import main
from hil.config import load_config, load_rig, load_scenario
from hil.config.loader import CONFIG_KINDS
from hil.errors import ConfigError

BAD = DATA / "bad_configs"

# file → (key path the error must name, fragment of the explanation)
EXPECTED_ERRORS = {
    "unknown_key.toml": ("radar.rpmm", "unknown key; allowed here: beamwidth_deg"),
    "unknown_table.toml": ("radr", "allowed here: radar, raids, scenario, targets"),
    "wrong_type.toml": ("radar.rpm", "valid number (got 'fast')"),
    "rate_out_of_range.toml": ("radar.rpm", "greater than or equal to -60 (got -100.0)"),
    "negative_clutter.toml": ("radar.clutter_per_dwell", "greater than or equal to 0"),
    "bad_syntax.toml": ("TOML syntax error", "(at line 3, column 7)"),
    "vector_length.toml": ("targets[0].position_enu_m", "expected 3 numbers [east, north, up]"),
    "unknown_motion.toml": ("targets[0].motion", "unknown motion 'teleport'; allowed:"),
    "missing_motion.toml": ("targets[0].motion", "required key is missing"),
    "missing_required.toml": ("targets[0].velocity_enu_mps", "required key is missing"),
    "death_before_birth.toml": ("targets[0]", "death_s (5.0) must be later than birth_s"),
    "waypoints_both_timings.toml": ("targets[0]", "exactly one of speed_mps or waypoint_times_s"),
    "reversed_interval.toml": ("radar.range_coverage_m", "low end 20000.0 exceeds high end"),
    "raid_zero_count.toml": ("raids[0].count", "greater than or equal to 1"),
    "pfa_out_of_range.toml": ("radar.pfa", "less than 1 (got 1.5)"),
    "ballistic_underground.toml": ("targets[0].position_enu_m", "at or above the ground"),
    "rig_bad_baud.toml": ("radar.baud", "115200, 460800, 921600 or 3000000 (got 9600)"),
    "rig_bench_without_radar_port.toml": ("radar", "url is required in mode 'bench'"),
    "rig_string_for_bool.toml": ("rig.allow_emulation_fallback", "valid boolean (got 'yes')"),
    "rig_unknown_mode.toml": ("rig.mode", "'bench', 'emulate', 'sim' or 'replay'"),
    "no_kind.toml": ("cannot tell what kind", "[rig], [scenario]"),
    "rig_tracker_zero_turn_rate.toml": ("tracker.imm_turn_rates_deg_s", "0 is the CV model"),
    "rig_fire_control_reversed_limits.toml": ("fire_control", "low end 60.0 exceeds high end 5.0"),
    "target_unknown_source.toml": ("targets[0].source", "'real' or 'injected' (got 'imagined')"),
}


def test_every_bad_file_is_listed() -> None:
    assert sorted(p.name for p in BAD.glob("*.toml")) == sorted(EXPECTED_ERRORS)


@pytest.mark.parametrize("name", sorted(EXPECTED_ERRORS))
def test_bad_config_gives_one_line_naming_file_and_key(name: str) -> None:
    key, fragment = EXPECTED_ERRORS[name]
    path = BAD / name
    with pytest.raises(ConfigError) as caught:
        load_config(path)
    assert len(caught.value.problems) == 1
    line = caught.value.problems[0]
    assert "\n" not in line
    assert line.startswith(f"{path}: {key}"), line
    assert fragment in line, line


@pytest.mark.parametrize("name", ["unknown_key.toml", "bad_syntax.toml", "rig_bad_baud.toml"])
def test_cli_check_reports_without_traceback(name: str, capsys: pytest.CaptureFixture[str]) -> None:
    good = CONFIGS / "scenarios" / "single-cv.toml"
    assert main(["config", "check", str(good), str(BAD / name), str(good)]) == 2
    out, err = capsys.readouterr()
    assert out.count("ok") == 1, "checking stops at the first bad file"
    assert err.count("\n") == 1 and err.startswith(f"error: {BAD / name}: ")
    assert "Traceback" not in err


def test_missing_file() -> None:
    with pytest.raises(ConfigError, match=r"^nope/missing\.toml: file not found$"):
        load_config(Path("nope/missing.toml"))


def test_directory_is_not_a_config(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="is a directory"):
        load_config(tmp_path)


def test_several_problems_give_one_line_each(tmp_path: Path) -> None:
    path = tmp_path / "two.toml"
    path.write_text('[scenario]\nname = "x"\n[radar]\nrpm = "a"\npfa = 2.0\n')
    with pytest.raises(ConfigError) as caught:
        load_scenario(path)
    assert [line.split(": ")[1] for line in caught.value.problems] == ["radar.rpm", "radar.pfa"]


@pytest.mark.parametrize("path", sorted(CONFIGS.glob("*/*.toml")), ids=lambda p: p.name)
def test_bundled_configs_validate(path: Path) -> None:
    config = load_config(path)
    assert type(config) in CONFIG_KINDS.values()


def test_all_bundled_configs_pass_cli_check(capsys: pytest.CaptureFixture[str]) -> None:
    files = sorted(str(p) for p in CONFIGS.glob("*/*.toml"))
    assert main(["config", "check", *files]) == 0
    assert capsys.readouterr().out.count("ok") == len(files)


def test_models_are_frozen() -> None:
    config = load_scenario(CONFIGS / "scenarios" / "single-cv.toml")
    with pytest.raises(ValueError, match="frozen"):
        config.radar.rpm = 1.0  # type: ignore[misc]


def test_defaults_follow_the_radar_icd() -> None:
    radar = load_scenario(CONFIGS / "scenarios" / "single-cv.toml").radar
    assert (radar.dwell_s, radar.beamwidth_deg) == (0.01, 2.0)
    assert (radar.sigma_range_m, radar.sigma_az_mrad, radar.sigma_vr_mps) == (5.0, 1.0, 0.5)
    assert math.isinf(load_scenario(CONFIGS / "scenarios" / "single-cv.toml").targets[0].death_s)


RIG = CONFIGS / "rigs" / "bench-example.toml"


def test_rig_precedence_cli_over_environment_over_file() -> None:
    assert load_rig(RIG, environ={}).radar.url == "/dev/ttyUSB0"
    env = {"HIL_RIG__RADAR__URL": "/dev/ttyUSB7", "HIL_RIG__PLC__PORT": "1502"}
    from_env = load_rig(RIG, environ=env)
    assert (from_env.radar.url, from_env.plc.port) == ("/dev/ttyUSB7", 1502)
    from_cli = load_rig(RIG, overrides=["radar.url=socket://127.0.0.1:4000"], environ=env)
    assert (from_cli.radar.url, from_cli.plc.port) == ("socket://127.0.0.1:4000", 1502)


def test_bad_override_names_its_source() -> None:
    with pytest.raises(ConfigError) as caught:
        load_rig(RIG, environ={"HIL_RIG__RADAR__BAUD": "9600"})
    assert caught.value.problems == [
        f"{RIG}: radar.baud: Input should be 115200, 460800, 921600 or 3000000 (got 9600) "
        "[set by environment HIL_RIG__RADAR__BAUD]"
    ]
    with pytest.raises(ConfigError, match=r"radar\.bogus: unknown key.*\[set by --set radar"):
        load_rig(RIG, overrides=["radar.bogus=1"], environ={})
    with pytest.raises(ConfigError, match=r"expected key\.path=value"):
        load_rig(RIG, overrides=["radar.url"], environ={})
