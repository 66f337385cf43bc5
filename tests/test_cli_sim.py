"""``hil sim`` end to end: the console script in a subprocess, and the saved .npz."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from cli_support import hil
from conftest import CONFIGS

from hil.cli import main
from hil.config.fields import MAX_RUN_S
from hil.config.loader import load_scenario
from hil.loop.sim_scenario import build_scenario
from sim.clock import SimClock, WallClock
from sim.run import CHUNK_DWELLS, SimulationLog, simulate, simulate_chunks


def test_default_run_prints_a_summary() -> None:
    result = hil("sim", "--duration", "5")
    assert result.returncode == 0, result.stderr
    assert "scenario raid-100: 100 targets, 5 s simulated" in result.stdout
    assert "dwells 500" in result.stdout
    assert "… 80 more targets" in result.stdout


def test_json_summary_and_npz(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "runs" / "cv.npz"
    scenario = str(CONFIGS / "scenarios" / "single-cv.toml")
    assert (
        main(
            [
                "sim",
                "--scenario",
                scenario,
                "--duration",
                "20",
                "--seed",
                "4",
                "--out",
                str(out),
                "--json",
            ]
        )
        == 0
    )
    summary = json.loads(capsys.readouterr().out)
    assert (summary["scenario"], summary["seed"], summary["dwells"]) == ("single-cv", 4, 2000)
    assert summary["clutter_detections"] == 0
    crosser = summary["per_target"][0]
    assert crosser["name"] == "crosser" and crosser["illuminated"] >= 8
    assert crosser["detected"] == summary["target_detections"]
    with np.load(out) as saved:
        assert len(saved["dwell_t_s"]) == 2000
        assert saved["truth_position_enu_m"].shape == (201, 1, 3)
        assert len(saved["range_m"]) == summary["detections"]
        assert json.loads(str(saved["meta_json"]))["seed"] == 4
    assert [p.name for p in out.parent.iterdir()] == ["cv.npz"], "no temporary file left behind"


def test_bad_arguments_and_configs_exit_2() -> None:
    assert hil("sim", "--duration", "-1").returncode == 2
    result = hil("sim", "--scenario", "missing.toml")
    assert result.returncode == 2
    assert result.stderr == "error: missing.toml: file not found\n"


def test_clocks() -> None:
    clock = SimClock(1.0)
    assert clock.advance(0.5) == 1.5 and clock.advance_to(3.0) == 3.0
    with pytest.raises(ValueError, match="backwards"):
        clock.advance_to(2.0)
    wall = WallClock()
    assert 0.0 <= wall.now() < wall.now() + 1e-3


# --- bad command-line values and output paths (issue 9) ---------------------------------------


def assert_one_error_line(result: subprocess.CompletedProcess[str], *fragments: str) -> None:
    """Exit 2 (usage), no traceback, exactly one line that says what is wrong."""
    assert result.returncode == 2, result.stderr
    assert "Traceback" not in result.stderr
    errors = [line for line in result.stderr.splitlines() if "error: " in line]
    assert len(errors) == 1, result.stderr
    for fragment in fragments:
        assert fragment in errors[0], result.stderr


@pytest.mark.parametrize("command", ["sim", "run"])
@pytest.mark.parametrize(
    ("value", "fragment"),
    [
        ("inf", "expected a finite number, got 'inf'"),
        ("nan", "expected a finite number, got 'nan'"),
        ("-inf", "expected a finite number, got '-inf'"),
        ("soon", "expected a number, got 'soon'"),
        ("0", "must be > 0, got 0"),
    ],
)
def test_duration_must_be_a_finite_positive_number(command: str, value: str, fragment: str) -> None:
    """Reported: ``--duration inf`` gave an OverflowError traceback."""
    result = hil(command, f"--duration={value}")
    assert_one_error_line(result, "argument --duration: ", fragment)


@pytest.mark.parametrize("command", ["sim", "run"])
def test_duration_beyond_30_days_is_refused_naming_the_limit(command: str) -> None:
    """Reported: a duration of 1e9 s exhausted memory instead of failing."""
    result = hil(command, "--duration", "1e9")
    assert_one_error_line(result, "--duration: must be at most 2592000 s (30 days", "got 1e9")


def _peak_rss_kib(*args: str) -> int:
    """Peak resident memory (KiB) of ``hil ARGS`` alone: measured in a fresh parent process,
    whose RUSAGE_CHILDREN then covers that one child only."""
    probe = (
        "import resource, subprocess, sys\n"
        "done = subprocess.run([sys.executable, '-m', 'hil', *sys.argv[1:]], "
        "stdout=subprocess.DEVNULL)\n"
        "assert done.returncode == 0\n"
        "print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", probe, *args], capture_output=True, text=True, timeout=300
    )
    assert result.returncode == 0, result.stderr
    return int(result.stdout)


def test_a_long_run_streams_in_constant_memory() -> None:
    """Every dwell of the run used to be kept (~2 KB each, 17 GB for a 24-hour raid-100): the
    summary now streams. 20 times longer must not need more than a few megabytes more."""
    short = _peak_rss_kib("sim", "--duration", "20")
    long = _peak_rss_kib("sim", "--duration", "400")  # 40,000 dwells: ~80 MB if kept
    assert long - short < 20_000, (short, long)


def test_out_beyond_the_memory_limit_is_refused_before_the_run(tmp_path: Path) -> None:
    out = tmp_path / "day.npz"
    result = hil("sim", "--duration", "86400", "--out", str(out))
    assert_one_error_line(
        result,
        f"--out {out}: 86400 s of every dwell and 10 Hz truth of 100 targets needs over",
        "more than the 2 GiB limit: give --duration",
        "or leave out --out",
    )
    assert list(tmp_path.iterdir()) == []


def test_out_is_a_directory(tmp_path: Path) -> None:
    """Reported: ``hil sim --out DIR`` gave a traceback."""
    for given in (str(tmp_path), f"{tmp_path}/"):
        result = hil("sim", "--duration", "1", "--out", given)
        assert_one_error_line(result, f"argument --out: {given} is a directory; give a file name")
    assert list(tmp_path.iterdir()) == []


def test_out_under_a_file(tmp_path: Path) -> None:
    (tmp_path / "notes.txt").write_text("x")
    result = hil("sim", "--duration", "1", "--out", str(tmp_path / "notes.txt" / "run.npz"))
    assert_one_error_line(result, "notes.txt is not a directory")


def test_out_where_nothing_can_be_written_fails_before_the_run() -> None:
    """procfs refuses new files even to root, so this holds whoever runs the suite."""
    result = hil("sim", "--duration", "1", "--out", "/proc/hil-test/run.npz")
    assert_one_error_line(result, "--out /proc/hil-test/run.npz: cannot write: ")
    assert result.stdout == "", "nothing ran"


def test_out_file_has_the_usual_permissions(tmp_path: Path) -> None:
    out = tmp_path / "run.npz"
    assert hil("sim", "--duration", "1", "--out", str(out)).returncode == 0
    umask = os.umask(0)
    os.umask(umask)
    assert out.stat().st_mode & 0o777 == 0o666 & ~umask


def test_chunks_are_the_whole_run_and_computed_only_as_consumed() -> None:
    scenario = build_scenario(load_scenario(CONFIGS / "scenarios" / "single-cv.toml"))
    parts = (scenario.targets, scenario.sensor, scenario.scan)
    whole = simulate(*parts, 30.0, np.random.default_rng(3))
    chunks = list(simulate_chunks(*parts, 30.0, np.random.default_rng(3), chunk_dwells=700))
    assert [len(c.dwell_t_s) for c in chunks] == [700, 700, 700, 700, 200]
    joined = SimulationLog.concatenate(chunks)
    for name, array in whole.as_arrays().items():
        np.testing.assert_array_equal(getattr(joined, name), array, err_msg=name)
    assert whole.detection_dwell.max() > 2800, "dwell indices count from the run's start"
    longest = simulate_chunks(*parts, MAX_RUN_S, np.random.default_rng(3))
    assert len(next(longest).dwell_t_s) == CHUNK_DWELLS  # 30 days = 259 million dwells


def test_a_rig_file_given_as_the_scenario_is_one_line() -> None:
    rig = str(CONFIGS / "rigs" / "sim.toml")
    result = hil("sim", "--scenario", rig)
    assert_one_error_line(
        result,
        f"{rig}: this is a rig file ([rig]), expected a scenario file (one with a [scenario]",
    )
