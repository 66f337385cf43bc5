"""``hil init [DIR]``: the starter bench repository it writes, its refusal to overwrite, and the
generated repository as a bench team uses it — its configs load with our loaders, its pytest
passes on the emulated rig, its campaign runs. (From an installed wheel, outside the checkout:
tests/test_wheel_install.py.)"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from importlib.resources import files
from pathlib import Path

import pytest
from cli_support import hil
from conftest import REPO

from hil.campaign.loader import load_campaign
from hil.cli.commands import run
from hil.cli.init_cmd import CAMPAIGN, FILES, template, write_starter
from hil.config.loader import load_rig, load_scenario


def test_it_writes_every_template_and_nothing_else(tmp_path: Path) -> None:
    folder = tmp_path / "bench-tests"
    written = write_starter(folder)
    assert written == [folder / name for name in FILES]
    on_disk = {str(p.relative_to(folder)) for p in folder.rglob("*") if p.is_file()}
    assert on_disk == set(FILES)
    for name in FILES:
        assert (folder / name).read_bytes() == template(name)


def test_every_packaged_template_is_written() -> None:
    """A template file left out of ``FILES`` would ship in the wheel and never be written."""
    root = files("hil.cli").joinpath("init_template")
    assert isinstance(root, Path)
    packaged = {
        str(p.relative_to(root))
        for p in root.rglob("*")
        if p.is_file() and "__pycache__" not in p.parts
    }
    assert packaged == set(FILES)


def test_the_generated_configs_load_and_name_only_relative_paths(tmp_path: Path) -> None:
    write_starter(tmp_path)
    emulate = load_rig(tmp_path / "rigs" / "emulate.toml")
    bench = load_rig(tmp_path / "rigs" / "bench.toml")
    assert (emulate.rig.mode, bench.rig.mode) == ("emulate", "bench")
    assert bench.rig.allow_emulation_fallback is False
    scenario = load_scenario(tmp_path / "scenarios" / "approach.toml")
    assert {t.source for t in scenario.targets} == {"real", "injected"}
    campaign = load_campaign(tmp_path / CAMPAIGN)
    assert campaign.rig_file.resolve() == (tmp_path / "rigs" / "emulate.toml").resolve()
    assert [(case.name, case.mode) for case in campaign.cases] == [
        ("approach", "emulate"),
        ("sim-sweep", "sim"),
    ]
    for case in campaign.cases:
        assert case.scenario_file is not None
        assert case.scenario_file.resolve() == (tmp_path / "scenarios" / "approach.toml")
    for name in FILES:
        text = (tmp_path / name).read_text()
        assert str(REPO) not in text and str(tmp_path) not in text, name


def test_the_command_prints_what_it_wrote_and_the_next_two_commands(tmp_path: Path) -> None:
    done = hil("init", str(tmp_path / "new"))
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert lines[0] == f"hil init: wrote {len(FILES)} files in {tmp_path / 'new'}:"
    assert [line.strip() for line in lines[1 : 1 + len(FILES)]] == list(FILES)
    assert lines[-3:-2] == [f"  cd {tmp_path / 'new'}"]
    assert lines[-2].split("#")[0].strip() == "pytest"
    assert lines[-1].split("#")[0].strip() == f"hil campaign run {CAMPAIGN}"


def _init(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    """``hil init ARGS`` in this process, as ``hil.cli.main`` runs it: (exit code, out, err)."""
    code = run(["init", *args], lambda: None)
    out, err = capsys.readouterr()
    return code, out, err


def test_it_refuses_to_overwrite_and_writes_nothing_unless_forced(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    edited = tmp_path / "rigs" / "bench.toml"
    edited.parent.mkdir()
    edited.write_text("# ours\n")
    code, _, err = _init(capsys, str(tmp_path))
    assert code == 2
    assert err == f"error: {edited}: exists; hil init wrote nothing (--force replaces them)\n"
    assert edited.read_text() == "# ours\n"
    assert [p for p in tmp_path.rglob("*") if p.is_file()] == [edited]

    code, _, err = _init(capsys, "--force", str(tmp_path))
    assert (code, err) == (0, "")
    assert edited.read_bytes() == template("rigs/bench.toml")
    code, _, err = _init(capsys, str(tmp_path))
    assert code == 2
    assert f"(and {len(FILES) - 1} more it writes)" in err


def test_a_file_as_dir_is_refused(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    target = tmp_path / "a-file"
    target.write_text("")
    code, _, err = _init(capsys, str(target))
    assert code == 2
    assert err.startswith(f"error: {target}: not a folder")


def test_a_folder_that_cannot_be_written_is_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "rigs").write_text("a file where hil init makes a folder")
    code, _, err = _init(capsys, str(tmp_path))
    assert code == 2
    assert err.startswith(f"error: {tmp_path / 'rigs'}: cannot be written (")
    assert len(err.splitlines()) == 1
    assert [p for p in tmp_path.rglob("*") if p.is_file()] == [tmp_path / "rigs"]


@pytest.mark.timeout(240)
def test_the_generated_pytest_passes_on_the_emulated_rig_and_its_sim_cases_run(
    tmp_path: Path,
) -> None:
    """The folder as a team gets it, moved after ``hil init``: its pytest runs the plugin's
    ``hil_rig`` against the emulators (the ``rig`` test skipped without ``--rig``), and its
    campaign's sim sweep passes from there."""
    write_starter(tmp_path / "first")
    repo = tmp_path / "moved"
    (tmp_path / "first").rename(repo)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTEST_", "HIL_"))}
    tests = subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider"],
        cwd=repo,
        env=env,
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )
    assert tests.returncode == 0, tests.stdout + tests.stderr
    assert "3 passed, 1 skipped" in tests.stdout.splitlines()[-1]
    assert "bench hardware test: pass --rig" in tests.stdout

    campaign = subprocess.run(
        [sys.executable, "-m", "hil", "campaign", "run", CAMPAIGN, "--only", "sim-sweep"],
        cwd=repo,
        env=env,
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )
    assert campaign.returncode == 0, campaign.stdout + campaign.stderr
    (results,) = (repo / "runs").glob("*-acceptance/results.json")
    verdicts = {case["name"]: case["verdict"] for case in json.loads(results.read_text())["cases"]}
    assert verdicts["sim-sweep"] == "pass"
