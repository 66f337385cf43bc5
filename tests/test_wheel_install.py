"""Installed the way a bench team installs it: the sdist built from the checkout, the wheel built
from that sdist, installed (not editable) into a fresh venv outside the checkout, and run from a
folder outside it — ``hil run``, ``hil campaign run --only sim-sweep``, ``hil init`` and the
generated repository's ``pytest``. Nothing may resolve to the source tree.

Offline and quick: the wheel is built with this venv's setuptools (``--no-build-isolation``),
and the fresh venv reaches the dependencies through a ``.pth`` line naming this venv's
site-packages. A directory named by a path line is only appended to ``sys.path``: its own
``.pth`` files — the editable install's finder among them — are not processed, so the checkout
cannot be imported from there (checked before the wheel is installed).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import sysconfig
import zipfile
from dataclasses import dataclass
from pathlib import Path

import pytest
from conftest import CONFIGS, REPO

from hil.cli.init_cmd import FILES

SOURCES = (
    *("pyproject.toml", "setup.py", "README.md", "configs"),
    *("hil", "drivers", "firmware_stubs", "sim"),
)
"""What the build reads: a copy of them is built, so the checkout gets no build/ or egg-info."""
# one worker builds the wheel and its venv, and compiles the kernels there once: spread over
# the workers, each built its own (the module fixture is per process)
pytestmark = [pytest.mark.timeout(300), pytest.mark.xdist_group("test_wheel_install")]


@dataclass(frozen=True)
class Installed:
    wheel: Path
    venv: Path
    work: Path
    """A folder outside the checkout and the venv, where the commands run."""
    env: dict[str, str]

    def run(self, *args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
        """``args[0]`` from the venv's ``bin/`` with the rest, in ``cwd`` (default ``work``)."""
        return subprocess.run(
            [str(self.venv / "bin" / args[0]), *args[1:]],
            cwd=cwd or self.work,
            env=self.env,
            capture_output=True,
            text=True,
            timeout=180,
            check=False,
        )


def _checked(command: list[str], cwd: Path, env: dict[str, str]) -> str:
    done = subprocess.run(
        command, cwd=cwd, env=env, capture_output=True, text=True, timeout=120, check=False
    )
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Installed:
    root = tmp_path_factory.mktemp("wheel-install")
    assert not root.resolve().is_relative_to(REPO)
    env = {
        key: value
        for key, value in os.environ.items()
        if key not in ("PYTHONPATH", "VIRTUAL_ENV") and not key.startswith(("PYTEST_", "HIL_"))
    }
    source = root / "source"
    source.mkdir()
    for name in SOURCES:
        if (REPO / name).is_dir():
            shutil.copytree(
                REPO / name, source / name, ignore=shutil.ignore_patterns("__pycache__")
            )
        else:
            shutil.copy2(REPO / name, source / name)

    # the sdist (the PEP 517 hook pip itself calls), then the wheel from the sdist, as pip
    # installs an sdist: whatever the sdist lacks, the wheel lacks
    build = "import sys\nfrom setuptools import build_meta\nbuild_meta.build_sdist(sys.argv[1])"
    _checked([sys.executable, "-c", build, str(root / "sdist")], source, env)
    (sdist,) = (root / "sdist").glob("hil_testbed-*.tar.gz")
    pip = [sys.executable, "-m", "pip", "--disable-pip-version-check", "--no-input"]
    wheelhouse = root / "wheelhouse"
    _checked(
        [*pip, "wheel", "--no-deps", "--no-build-isolation", "-w", str(wheelhouse), str(sdist)],
        root,
        env,
    )
    (wheel,) = wheelhouse.glob("hil_testbed-*.whl")

    venv = root / "venv"
    _checked([sys.executable, "-m", "venv", "--without-pip", str(venv)], root, env)
    python = str(venv / "bin" / "python")
    purelib = _checked(
        [python, "-c", "import sysconfig; print(sysconfig.get_path('purelib'))"], root, env
    )
    Path(purelib.strip(), "dependencies.pth").write_text(sysconfig.get_path("purelib") + "\n")
    work = root / "bench"
    work.mkdir()
    no_hil = subprocess.run(
        [python, "-c", "import numpy, pytest; import hil"],
        cwd=work,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert "ModuleNotFoundError: No module named 'hil'" in no_hil.stderr, no_hil.stderr
    _checked(
        [*pip, "--python", python, "install", "--no-deps", "--no-index", str(wheel)], root, env
    )
    return Installed(wheel, venv, work, env)


def test_the_wheel_holds_the_bundled_configs_templates_schemas_and_type_markers(
    installed: Installed,
) -> None:
    names = set(zipfile.ZipFile(installed.wheel).namelist())
    configs = {str(p.relative_to(CONFIGS)) for p in CONFIGS.glob("*/*.toml")}
    assert {f"hil/bundled/{name}" for name in configs} <= names
    assert {f"hil/cli/init_template/{name}" for name in FILES} <= names
    schemas = REPO / "hil" / "recording" / "schemas"
    assert {f"hil/recording/schemas/{p.name}" for p in schemas.iterdir() if p.is_file()} <= names
    assert {
        f"{package}/py.typed" for package in ("hil", "drivers", "firmware_stubs", "sim")
    } <= names
    assert not any(
        "__pycache__" in name or name.startswith(("tests/", "configs/")) for name in names
    )


def test_the_venv_imports_the_installed_package_only(installed: Installed) -> None:
    code = (
        "import hil, drivers.plc.register_map as m\n"
        "from hil.config.bundled import bundled_root\n"
        "print(hil.__file__); print(bundled_root()); print(m.DEFAULT_MAP_PATH)\n"
    )
    done = installed.run("python", "-c", code)
    assert done.returncode == 0, done.stderr
    site = (installed.venv / "lib").resolve()
    for line in done.stdout.splitlines():
        assert Path(line).resolve().is_relative_to(site), line
    assert Path(done.stdout.splitlines()[1]).name == "bundled"


def test_hil_run_runs_on_the_bundled_emulated_rig(installed: Installed) -> None:
    done = installed.run("hil", "run", "--duration", "2", "--json")
    assert done.returncode == 0, done.stdout + done.stderr
    summary = json.loads(done.stdout.strip().splitlines()[-1])
    assert summary["rig_final_state"] == "SAFE"
    assert summary["frames"] > 0
    assert list((installed.work / "runs").glob("*-emulate.mcap"))


def test_the_demo_campaigns_sim_sweep_passes(installed: Installed) -> None:
    done = installed.run("hil", "campaign", "run", "--only", "sim-sweep")
    assert done.returncode == 0, done.stdout + done.stderr
    (results,) = (installed.work / "runs").glob("*-demo/results.json")
    cases = {case["name"]: case for case in json.loads(results.read_text())["cases"]}
    assert cases["sim-sweep"]["verdict"] == "pass"
    assert Path(cases["sim-sweep"]["scenario"]).is_relative_to(installed.venv)
    # the store's Alembic migrations ship in the wheel: the campaign was stored, not warned about
    assert "warning: results not stored" not in done.stderr
    assert "stored in the results store " in done.stdout
    assert (installed.work / "runs" / "results.db").is_file()


def test_hil_init_and_the_generated_pytest_pass_with_the_plugin_registered_once(
    installed: Installed,
) -> None:
    init = installed.run("hil", "init", "acceptance")
    assert init.returncode == 0, init.stderr
    repo = installed.work / "acceptance"
    tests = installed.run(
        "python", "-m", "pytest", "-p", "no:cacheprovider", "--trace-config", cwd=repo
    )
    assert tests.returncode == 0, tests.stdout + tests.stderr
    assert "3 passed, 1 skipped" in tests.stdout.splitlines()[-1]
    registered = [line for line in tests.stdout.splitlines() if "hil.pytest_plugin" in line]
    assert len(registered) == 1, registered
    assert str(installed.venv) in registered[0]
