"""``hil sim`` end to end: the console script in a subprocess, and the saved .npz."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from conftest import CONFIGS

from hil.cli import main
from sim.clock import SimClock, WallClock


def hil(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "hil", *args],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


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
