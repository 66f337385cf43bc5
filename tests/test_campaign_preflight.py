"""The rig preflight before a campaign's bench runs: a red row refuses the bench runs (error
records naming it) while the other modes run; ``--ignore-preflight ROW`` lets it pass and is
logged in results.json, report.html and the exit summary."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from conftest import CONFIGS
from plc_support import emulated_plc, panel_write
from radar_support import emulated_radar
from test_rig_check import bench_rig, hil_cli, port_of

from hil.cli import main

RELOAD_ROUNDS_REGISTER = 0
DEFENDED_SITE = CONFIGS / "scenarios" / "defended-site.toml"
SINGLE_CV = CONFIGS / "scenarios" / "single-cv.toml"


def campaign_file(folder: Path, rig: Path) -> Path:
    path = folder / "campaign.toml"
    path.write_text(
        f'[campaign]\nname = "pf"\nrig = "{rig}"\n'
        f'\n[[cases]]\nname = "on-bench"\nmode = "bench"\nscenario = "{DEFENDED_SITE}"\n'
        'duration_s = 1.0\ncriteria = ["frames >= 1"]\n'
        f'\n[[cases]]\nname = "in-sim"\nmode = "sim"\nscenario = "{SINGLE_CV}"\n'
        'duration_s = 1.0\nseeds = [1]\ncriteria = ["frames >= 1"]\n'
    )
    return path


def results_in(out: Path, name: str) -> dict[str, Any]:
    (folder,) = out.glob(f"*-{name}")
    results: dict[str, Any] = json.loads((folder / "results.json").read_text())
    return results


async def test_a_red_row_refuses_the_bench_runs_unless_ignored(tmp_path: Path) -> None:
    async with emulated_plc("tcp") as plc, emulated_radar("pty") as radar:
        await panel_write(plc.panel_url, register=RELOAD_ROUNDS_REGISTER, value=0)
        rig = bench_rig(tmp_path, radar.url, port_of(plc.url))
        campaign = campaign_file(tmp_path, rig)

        refused = tmp_path / "refused"
        code, out, err = await hil_cli("campaign", "run", str(campaign), "--out", str(refused))
        assert code == 1, err
        results = results_in(refused, "pf")
        preflight = results["preflight"]
        assert preflight["verdict"] == "red" and preflight["refused_bench_runs"] is True
        rows = {row["name"]: row for row in preflight["report"]["rows"]}
        assert rows["plc.rounds_ready"]["verdict"] == "red"
        assert rows["plc.rounds_ready"]["measured"] == 0
        bench, sim = results["cases"]
        (bench_run,) = bench["runs"]
        assert bench_run["verdict"] == "error" and bench_run["recording"] is None
        assert "plc.rounds_ready: 0" in bench_run["error"]
        assert "--ignore-preflight plc.rounds_ready" in bench_run["error"]
        assert sim["verdict"] == "pass"  # the other modes still run
        assert "preflight: RED — bench runs refused" in out

        allowed = tmp_path / "allowed"
        code, out, err = await hil_cli(
            "campaign", "run", str(campaign), "--out", str(allowed),
            "--ignore-preflight", "plc.rounds_ready",
        )  # fmt: skip
        assert code == 0, (out, err)
        results = results_in(allowed, "pf")
        preflight = results["preflight"]
        assert preflight["refused_bench_runs"] is False and preflight["refusal"] is None
        assert preflight["ignored"] == preflight["ignored_red"] == ["plc.rounds_ready"]
        (bench_run,) = results["cases"][0]["runs"]
        assert bench_run["verdict"] == "pass" and bench_run["emulated"] is False
        assert "IGNORED red rows (--ignore-preflight): plc.rounds_ready" in out
        (folder,) = allowed.glob("*-pf")
        page = (folder / "report.html").read_text()
        assert "IGNORED red preflight rows (--ignore-preflight): plc.rounds_ready" in page
        assert 'id="preflight"' in page


def test_an_unknown_row_to_ignore_is_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    campaign = campaign_file(tmp_path, bench_rig(tmp_path, "/dev/ttyUSB0", 502))
    out = tmp_path / "runs"
    code = main(
        ["campaign", "run", str(campaign), "--out", str(out), "--ignore-preflight", "plc.estopp"]
    )
    err = capsys.readouterr().err
    assert code == 2 and len(err.splitlines()) == 1, err
    assert "--ignore-preflight plc.estopp: no such preflight row; rows: radar.reachable" in err
    assert not out.exists()  # refused before anything started
