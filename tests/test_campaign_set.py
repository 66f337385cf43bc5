"""``hil campaign run --set KEY=VALUE``: applied to every case's rig, recorded in results.json,
the recordings and the report's header; a bad key or value is one line and exit 2."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from cli_support import hil
from conftest import CONFIGS

from hil.cli import main
from hil.recording.reader import Recording
from hil.recording.run_layout import read_recorded_run

SIM_RIG = CONFIGS / "rigs" / "sim.toml"
SCENARIO = CONFIGS / "scenarios" / "single-cv.toml"


def write_campaign(folder: Path) -> Path:
    path = folder / "campaign.toml"
    cases = "".join(
        f'\n[[cases]]\nname = "{name}"\nmode = "sim"\nscenario = "{SCENARIO}"\n'
        f"duration_s = 1.0\nseeds = {seeds}\n"
        for name, seeds in (("one", "[3]"), ("two", "2"))
    )
    path.write_text(f'[campaign]\nname = "what-if"\nrig = "{SIM_RIG}"\n{cases}')
    return path


def test_set_reaches_every_case_and_is_recorded(tmp_path: Path) -> None:
    path = write_campaign(tmp_path)
    overrides = ["tracker.gate_probability=0.5", "fire_control.interceptor_speed_mps=600"]
    arguments = [a for o in overrides for a in ("--set", o)]
    done = hil(
        "campaign",
        "run",
        str(path),
        "--out",
        str(tmp_path / "runs"),
        "--json",
        "--jobs",
        "1",
        *arguments,
    )
    assert done.returncode == 0, done.stderr
    outcome = json.loads(done.stdout.strip().splitlines()[-1])
    results = json.loads(Path(outcome["results"]).read_text())
    assert results["campaign"]["overrides"] == overrides
    folder = Path(outcome["folder"])
    runs = [run for case in results["cases"] for run in case["runs"]]
    assert len(runs) == 3
    for run in runs:
        with Recording(folder / run["recording"]) as recording:
            recorded = read_recorded_run(recording)
        assert recorded.rig.tracker.gate_probability == 0.5
        assert recorded.rig.fire_control.interceptor_speed_mps == 600
        assert recorded.rig.rig.mode == "sim"
    page = Path(outcome["report"]).read_text()
    assert 'id="overrides"' in page and "--set tracker.gate_probability=0.5" in page


def test_a_bad_set_is_one_line_and_exit_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = write_campaign(tmp_path)
    for override, says in (
        ("tracker.gate_probability=2", "tracker.gate_probability: Input should be less than 1"),
        ("tracker.colour=1", "tracker.colour: unknown key; allowed here: confirm_hits"),
        ("tracker", "bad override 'tracker': expected key.path=value"),
        ("rig.mode=bench", "--set rig.mode=bench: each case's mode sets rig.mode; change"),
    ):
        code = main(
            ["campaign", "run", str(path), "--out", str(tmp_path / "runs"), "--set", override]
        )
        out, err = capsys.readouterr()
        assert code == 2 and out == "", (override, err)
        (line,) = err.splitlines()
        assert line.startswith("error: ") and says in line, line
    assert not (tmp_path / "runs").exists()
