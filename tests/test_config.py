"""Configs: bundled files validate; malformed ones fail with one line naming file and key."""

from __future__ import annotations

import copy
import math
import os
import re
import subprocess
import tomllib
import types
import typing
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from cli_support import hil
from conftest import CONFIGS, DATA
from pydantic import BaseModel, ValidationError

from drivers.plc.driver import PlcEndpoint
from hil.campaign.loader import load_campaign
from hil.campaign.model import CampaignFile
from hil.cli import main
from hil.config.loader import (
    CONFIG_KINDS,
    MAX_CONFIG_BYTES,
    kind_of,
    load_config,
    load_rig,
    load_scenario,
    read_toml,
    validate,
)
from hil.config.scenario import ScenarioConfig
from hil.config.tracker import TrackerConfig
from hil.errors import ConfigError
from hil.rig.devices import plc_url

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
    "rig_inhibit_sector_nan.toml": (
        "fire_control.inhibit_sectors[0].az_deg[1]",
        "finite number (got nan)",
    ),
    "rig_radar_position_nan.toml": ("radar.position_enu_m[1]", "finite number (got nan)"),
    "rig_tracker_noise_inf.toml": ("tracker.process_noise_m2_s3", "finite number (got inf)"),
    "target_position_nan.toml": ("targets[0].position_enu_m[0]", "finite number (got nan)"),
    "radar_position_inf.toml": ("radar.position_enu_m[2]", "finite number (got -inf)"),
    "waypoint_nan.toml": ("targets[0].waypoints_enu_m[1][2]", "finite number (got nan)"),
    "death_nan.toml": ("targets[0].death_s", "give seconds, or inf for never"),
    "plc_emulator_sector_inf.toml": ("inhibit_sectors[0].el_deg[1]", "finite number (got inf)"),
    "register_map_scale_inf.toml": ("holding_registers[0].scale", "finite number (got inf)"),
    "dwell_too_short.toml": (
        "radar.dwell_s",
        "at least 0.001 s (1 ms): the ICD radar dwells 10 ms",
    ),
    "duration_forever.toml": ("scenario.duration_s", "at most 2592000 s (30 days)"),
    "ballistic_drag_too_light.toml": (
        "targets[0].ballistic_coefficient_kg_m2",
        "at least 1 kg/m²",
    ),
    "ballistic_too_fast.toml": ("targets[0].velocity_enu_mps", "each component at most 100000 m/s"),
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


CAMPAIGNS = CONFIGS / "campaigns"
DEVICE_CONFIGS = sorted(p for p in CONFIGS.glob("*/*.toml") if p.parent != CAMPAIGNS)


@pytest.mark.parametrize("path", DEVICE_CONFIGS, ids=lambda p: p.name)
def test_bundled_configs_validate(path: Path) -> None:
    config = load_config(path)
    assert type(config) in CONFIG_KINDS.values()


@pytest.mark.parametrize("path", sorted(CAMPAIGNS.glob("*.toml")), ids=lambda p: p.name)
def test_bundled_campaigns_load_with_every_file_they_name(path: Path) -> None:
    campaign = load_campaign(path)
    assert campaign.cases and all(case.rig is not None for case in campaign.cases)


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


# --- every float is finite (issue 9) ----------------------------------------------------------

NON_FINITE = (math.nan, math.inf, -math.inf)
INFINITY_MEANS_NEVER = {"death_s"}
"""Fields where ``inf`` is a documented value ("never"); ``nan`` and ``-inf`` are still refused."""

Leaf = tuple[tuple[int, ...], Callable[[float], Any]]


def _float_leaves(annotation: Any) -> Iterator[Leaf]:
    """Every float inside a field's annotation: its index path within the field's value and a
    builder of a value whose leaf is the given number (siblings 0.0)."""
    origin, args = typing.get_origin(annotation), typing.get_args(annotation)
    if origin is typing.Annotated:
        yield from _float_leaves(args[0])
    elif origin in (typing.Union, types.UnionType):
        for member in args:
            yield from _float_leaves(member)
    elif annotation is float:
        yield (), lambda bad: bad
    elif origin is tuple and len(args) == 2 and args[1] is Ellipsis:
        for suffix, make in _float_leaves(args[0]):
            yield (0, *suffix), lambda bad, make=make: (make(bad),)
    elif origin is tuple:
        width = len(args)
        for i, item in enumerate(args):
            for suffix, make in _float_leaves(item):
                yield (
                    (i, *suffix),
                    lambda bad, i=i, make=make: tuple(
                        make(bad) if j == i else 0.0 for j in range(width)
                    ),
                )
    elif origin is list:
        for suffix, make in _float_leaves(args[0]):
            yield (0, *suffix), lambda bad, make=make: [make(bad)]


def _models(annotation: Any, found: set[type[BaseModel]]) -> set[type[BaseModel]]:
    """Every model class reachable from ``annotation`` (fields, unions, containers)."""
    is_model = isinstance(annotation, type) and issubclass(annotation, BaseModel)
    if is_model and annotation not in found:
        found.add(annotation)
        for field in annotation.model_fields.values():
            _models(field.annotation, found)
    for arg in typing.get_args(annotation):
        _models(arg, found)
    return found


def _every_float_field() -> list[tuple[type[BaseModel], str, tuple[int, ...], Any]]:
    models: set[type[BaseModel]] = set()
    for root in CONFIG_KINDS.values():
        _models(root, models)
    return [
        (model, name, suffix, make)
        for model in sorted(models, key=lambda m: m.__qualname__)
        for name, field in model.model_fields.items()
        for suffix, make in _float_leaves(field.annotation)
    ]


def _names(loc: tuple[Any, ...], leaf: tuple[Any, ...]) -> bool:
    """The error is at the leaf, or at its field (a validator judging the whole value)."""
    return 1 <= len(loc) <= len(leaf) and leaf[: len(loc)] == loc


def test_every_float_of_every_config_model_refuses_nan_and_inf() -> None:
    """Walks every model of every config kind (rig, scenario, emulated PLC, register map) and
    feeds each float leaf nan, inf and -inf: each must be an error naming that key."""
    leaves = _every_float_field()
    names = {f"{model.__name__}.{name}" for model, name, _, _ in leaves}
    assert len(leaves) > 60, "the walk found the config's floats"
    assert {"InhibitSectorConfig.az_deg", "RadarLink.position_enu_m", "RegisterSpec.scale"} <= (
        names
    )
    accepted = []
    for model, name, suffix, make in leaves:
        for bad in NON_FINITE:
            if name in INFINITY_MEANS_NEVER and bad == math.inf:
                continue
            try:
                model.model_validate({name: make(bad)})
            except ValidationError as error:
                if any(_names(tuple(e["loc"]), (name, *suffix)) for e in error.errors()):
                    continue
            accepted.append(f"{model.__name__}.{name}{list(suffix)} = {bad}")
    assert accepted == []


def test_inf_means_never_only_where_documented() -> None:
    config = load_scenario(CONFIGS / "scenarios" / "single-cv.toml")
    data = config.model_dump()
    data["targets"][0]["death_s"] = math.inf
    assert math.isinf(type(config).model_validate(data).targets[0].death_s)


def _raw_float_leaves(node: Any, path: str = "") -> Iterator[tuple[str, list[Any], Any]]:
    """(display key, container, index) of every float in parsed TOML."""
    items = node.items() if isinstance(node, dict) else enumerate(node)
    for key, value in items:
        shown = f"{path}[{key}]" if isinstance(key, int) else f"{path}.{key}" if path else key
        if isinstance(value, float):
            yield shown, node, key
        elif isinstance(value, dict | list):
            yield from _raw_float_leaves(value, shown)


@pytest.mark.parametrize("path", sorted(CONFIGS.glob("*/*.toml")), ids=lambda p: p.name)
def test_each_float_of_each_bundled_config_made_non_finite_is_one_line_naming_it(
    path: Path,
) -> None:
    data = read_toml(path)
    model = CampaignFile if path.parent == CAMPAIGNS else kind_of(path, data)
    checked = 0
    for index in range(len(list(_raw_float_leaves(data)))):
        for bad in NON_FINITE:
            broken = copy.deepcopy(data)
            key, container, slot = list(_raw_float_leaves(broken))[index]
            never = slot in INFINITY_MEANS_NEVER
            if never and bad == math.inf:
                continue
            container[slot] = bad
            with pytest.raises(ConfigError) as caught:
                validate(path, model, broken)
            assert len(caught.value.problems) == 1, caught.value.problems
            line = caught.value.problems[0]
            assert line.startswith(f"{path}: {key}: "), line
            assert never or f"finite number (got {bad})" in line, line
            checked += 1
    assert checked or path.name == "launcher-plc-v1.toml" or "float" not in path.read_text()


def assert_usage_error(result: subprocess.CompletedProcess[str], *fragments: str) -> None:
    """Exit 2, one ``error:`` line per problem naming what is given, never a traceback."""
    assert result.returncode == 2, result.stderr
    assert "Traceback" not in result.stderr
    lines = result.stderr.splitlines()
    assert lines and all(line.startswith("error: ") for line in lines), result.stderr
    for fragment in fragments:
        assert fragment in result.stderr, result.stderr


SIM_RIG = str(CONFIGS / "rigs" / "sim.toml")
SINGLE_CV = str(CONFIGS / "scenarios" / "single-cv.toml")


def test_nan_inhibit_sector_is_refused_by_check_and_run(tmp_path: Path) -> None:
    """Reported: ``az_deg = [nan, nan]`` was accepted and inhibited nothing (a safety defect)."""
    rig = tmp_path / "rig.toml"
    rig.write_text(
        '[rig]\nname = "r"\nmode = "sim"\n[[fire_control.inhibit_sectors]]\naz_deg = [nan, nan]\n'
    )
    result = hil("config", "check", str(rig))
    assert_usage_error(
        result,
        f"{rig}: fire_control.inhibit_sectors[0].az_deg[0]: Input should be a finite number",
        f"{rig}: fire_control.inhibit_sectors[0].az_deg[1]: Input should be a finite number",
    )
    assert len(result.stderr.splitlines()) == 2
    sector = "fire_control.inhibit_sectors=[{az_deg = [0.0, nan]}]"
    result = hil("run", "--arm", "--rig", SIM_RIG, "--scenario", SINGLE_CV, "--set", sector)
    assert_usage_error(result, "inhibit_sectors[0].az_deg[1]", f"[set by --set {sector}]")
    assert len(result.stderr.splitlines()) == 1


def test_nan_target_position_is_refused_before_the_run() -> None:
    """Reported: a NaN target position passed the check and gave a traceback at run time."""
    bad = str(BAD / "target_position_nan.toml")
    for args in (("config", "check", bad), ("run", "--rig", SIM_RIG, "--scenario", bad)):
        result = hil(*args)
        assert_usage_error(result, f"{bad}: targets[0].position_enu_m[0]: ")
        assert len(result.stderr.splitlines()) == 1


def test_non_finite_radar_position_is_refused_not_a_silent_run() -> None:
    """Reported: a NaN radar position gave a run with 0 detections and exit 0."""
    bad = str(BAD / "radar_position_inf.toml")
    result = hil("sim", "--scenario", bad, "--duration", "1")
    assert_usage_error(result, f"{bad}: radar.position_enu_m[2]: ")
    result = hil(
        "run",
        "--rig",
        SIM_RIG,
        "--scenario",
        SINGLE_CV,
        "--duration",
        "1",
        "--set",
        "radar.position_enu_m=[nan, 0.0, 0.0]",
    )
    assert_usage_error(result, "radar.position_enu_m[0]: ", "[set by --set radar.position")
    result = hil(
        "run",
        "--rig",
        SIM_RIG,
        "--scenario",
        SINGLE_CV,
        "--duration",
        "1",
        env={"HIL_RIG__RADAR__POSITION_ENU_M": "[0.0, inf, 0.0]"},
    )
    assert_usage_error(
        result,
        "radar.position_enu_m[1]: Input should be a finite number (got inf) "
        "[set by environment HIL_RIG__RADAR__POSITION_ENU_M]",
    )


# --- config check checks what will run (issue 9) ----------------------------------------------


def test_config_check_applies_the_environment_overrides_hil_run_applies() -> None:
    """Reported: ``HIL_RIG__RIG__MODE=warp`` checked ok, then ``hil run`` rejected it."""
    env = {"HIL_RIG__RIG__MODE": "warp"}
    result = hil("config", "check", SIM_RIG, env=env)
    assert_usage_error(
        result,
        f"{SIM_RIG}: rig.mode: Input should be 'bench', 'emulate', 'sim' or 'replay' "
        "(got 'warp') [set by environment HIL_RIG__RIG__MODE]",
    )
    assert len(result.stderr.splitlines()) == 1
    run = hil("run", "--rig", SIM_RIG, "--scenario", SINGLE_CV, "--duration", "1", env=env)
    assert run.returncode == result.returncode and run.stderr == result.stderr


def test_config_check_set_wins_over_the_environment_as_in_hil_run() -> None:
    env = {"HIL_RIG__RIG__MODE": "warp", "HIL_RIG__PLC__PORT": "1502"}
    result = hil("config", "check", SIM_RIG, SINGLE_CV, "--set", "rig.mode=emulate", env=env)
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == [
        f"ok    {SIM_RIG} (RigConfig with environment HIL_RIG__PLC__PORT, environment "
        "HIL_RIG__RIG__MODE, --set rig.mode=emulate)",
        f"ok    {SINGLE_CV} (ScenarioConfig)",
    ]
    bad = hil("config", "check", SIM_RIG, "--set", "plc.port=70000")
    assert_usage_error(bad, "plc.port: ", "[set by --set plc.port=70000]")


def test_config_check_set_without_a_rig_file_is_an_error() -> None:
    result = hil("config", "check", SINGLE_CV, "--set", "rig.mode=emulate")
    assert_usage_error(result, "--set overrides rig values", "none of the files checked")


# --- files that are not config files (issue 9) ------------------------------------------------


def test_a_device_is_refused_not_read_whole() -> None:
    """Reported: ``--scenario /dev/zero`` read until memory ran out."""
    for args in (("sim", "--scenario", "/dev/zero"), ("config", "check", "/dev/zero")):
        result = hil(*args)
        assert_usage_error(result, "error: /dev/zero: not a regular file")
        assert len(result.stderr.splitlines()) == 1


def test_a_pipe_is_refused_without_waiting_for_a_writer(tmp_path: Path) -> None:
    fifo = tmp_path / "rig.toml"
    os.mkfifo(fifo)
    result = hil("config", "check", str(fifo))  # would block for ever in open() if read
    assert_usage_error(result, f"error: {fifo}: not a regular file (a device, pipe or socket)")


def test_a_file_larger_than_a_config_is_refused(tmp_path: Path) -> None:
    huge = tmp_path / "huge.toml"
    with huge.open("wb") as handle:
        handle.truncate(MAX_CONFIG_BYTES + 1)  # sparse: no disk used
    with pytest.raises(
        ConfigError, match=r"huge\.toml: larger than a config file can be \(4 MiB\)"
    ):
        load_config(huge)
    fits = tmp_path / "fits.toml"
    fits.write_text('[scenario]\nname = "x"\n' + "#" * (MAX_CONFIG_BYTES - 40) + "\n")
    assert isinstance(load_config(fits), ScenarioConfig)


def test_a_symlink_to_a_config_is_read(tmp_path: Path) -> None:
    link = tmp_path / "rig.toml"
    link.symlink_to(CONFIGS / "rigs" / "sim.toml")
    assert load_rig(link, environ={}).rig.name == "sim"


def test_a_file_of_another_kind_is_one_line() -> None:
    scenario = CONFIGS / "scenarios" / "single-cv.toml"
    with pytest.raises(ConfigError) as caught:
        load_rig(scenario, environ={})
    assert caught.value.problems == [
        f"{scenario}: this is a scenario file ([scenario]), expected a rig file "
        "(one with a [rig] table)"
    ]


def test_an_environment_variable_with_an_empty_key_names_itself() -> None:
    for name in ("HIL_RIG____MODE", "HIL_RIG__RIG__"):
        with pytest.raises(ConfigError) as caught:
            load_rig(RIG, environ={name: "sim"})
        assert caught.value.problems == [
            f"{RIG}: bad environment variable {name}: expected HIL_RIG__SECTION__KEY=value "
            "(double underscores between keys)"
        ]


CONFIGURATION_DOC = Path(__file__).resolve().parents[1] / "docs" / "configuration.md"


def documented_examples() -> list[str]:
    return re.findall(r"```toml\n(.*?)```", CONFIGURATION_DOC.read_text(), re.S)


def test_the_documented_examples_validate(tmp_path: Path) -> None:
    """docs/configuration.md stays in step with the models: every example block loads."""
    blocks = documented_examples()
    assert len(blocks) >= 2
    for index, block in enumerate(blocks):
        path = tmp_path / f"example-{index}.toml"
        path.write_text(block)
        load_config(path, environ={})


def test_the_documented_tracker_table_lists_every_key_with_its_default() -> None:
    (rig,) = [tomllib.loads(b) for b in documented_examples() if "[rig]" in b]
    documented = {k: tuple(v) if isinstance(v, list) else v for k, v in rig["tracker"].items()}
    assert documented == TrackerConfig().model_dump()


@pytest.mark.parametrize("baud", [9600, 57600, 115200])
def test_a_bench_rtu_plc_is_opened_at_the_rig_files_baud(tmp_path: Path, baud: int) -> None:
    """Runs, ``hil_rig`` and the preflight open the PLC at ``plc_url(rig)``: an RTU link must
    carry the rig file's ``[plc] baud`` (the bare ``rtu://device`` opened every port at 115200)."""
    rig = load_rig(
        CONFIGS / "rigs" / "bench-example.toml",
        ["plc.transport=rtu", "plc.url=/dev/ttyUSB1", f"plc.baud={baud}"],
    )
    endpoint = PlcEndpoint.parse(plc_url(rig))
    assert (endpoint.transport, endpoint.serial_url, endpoint.baud) == ("rtu", "/dev/ttyUSB1", baud)
