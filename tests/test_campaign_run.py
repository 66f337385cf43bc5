"""``hil campaign run`` on cheap sim campaigns (and one missing bench): verdicts with measured
values and limits in results.json and junit.xml (schema-valid), --jobs 2 measuring what --jobs 1
does, Ctrl-C keeping finished runs, EMULATED fallback, replay cases."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import psutil
import pytest
import xmlschema
from cli_support import hil
from conftest import CONFIGS, DATA

from hil.campaign.loader import load_campaign
from hil.campaign.plan import BENCH_NOT_ARMED, plan

SIM_RIG = CONFIGS / "rigs" / "sim.toml"
SINGLE_CV = CONFIGS / "scenarios" / "single-cv.toml"
DEFENDED_SITE = CONFIGS / "scenarios" / "defended-site.toml"
JUNIT_SCHEMA = xmlschema.XMLSchema(DATA / "junit-10.xsd")


def write_campaign(folder: Path, cases: str, rig: Path = SIM_RIG, name: str = "t") -> Path:
    path = folder / "campaign.toml"
    path.write_text(f'[campaign]\nname = "{name}"\nrig = "{rig}"\n{cases}')
    return path


def sim_case(
    name: str, seeds: str, duration_s: float, extra: str = "", scenario: Path = SINGLE_CV
) -> str:
    return (
        f'\n[[cases]]\nname = "{name}"\nmode = "sim"\nscenario = "{scenario}"\n'
        f"duration_s = {duration_s}\nseeds = {seeds}\n{extra}"
    )


def results_of(done: subprocess.CompletedProcess[str]) -> tuple[dict[str, Any], dict[str, Any]]:
    """The --json outcome line and the results.json it names."""
    outcome = json.loads(done.stdout.strip().splitlines()[-1])
    return outcome, json.loads(Path(outcome["results"]).read_text())


def test_failing_criterion_carries_value_and_limit(tmp_path: Path) -> None:
    criteria = (
        'criteria = ["frames >= 100000", "rig_final_state == \\"SAFE\\"", "launches == 0"]\n'
        'sweep_criteria = ["mean(frames) >= 250", "fraction_passing >= 0.5"]\n'
    )
    path = write_campaign(tmp_path, sim_case("quick", "[1, 2]", 3.0, criteria))
    done = hil("campaign", "run", str(path), "--out", str(tmp_path / "runs"), "--json")
    assert done.returncode == 1, done.stderr
    outcome, results = results_of(done)
    assert outcome["verdict"] == results["verdict"] == "fail"
    assert results["schema"] == "hil-campaign-results/1"
    assert results["environment"]["software_version"] == "0.1.0"
    (case,) = results["cases"]
    assert case["verdict"] == "fail" and [r["seed"] for r in case["runs"]] == [1, 2]
    for run in case["runs"]:
        frames, safe, launches = run["criteria"]
        assert frames | {"measured": 300, "limit": 100000.0, "verdict": "fail"} == frames
        assert (safe["verdict"], launches["verdict"], run["verdict"]) == ("pass", "pass", "fail")
        assert run["measurements"]["frames"] == run["summary"]["frames"] == 300
        assert run["recording"] == f"recordings/quick-seed{run['seed']}.mcap"
        assert (Path(outcome["folder"]) / run["recording"]).stat().st_size > 0
    mean, fraction = case["criteria"]
    assert (mean["measured"], mean["verdict"]) == (300.0, "pass")
    assert (fraction["measured"], fraction["verdict"]) == (0.0, "fail")
    junit = Path(outcome["junit"])
    JUNIT_SCHEMA.validate(junit)
    suite = ET.parse(junit).getroot().find("testsuite")
    assert suite is not None and suite.get("name") == "t.quick" and suite.get("failures") == "3"
    failures = [
        (case_.get("name"), f.get("message"))
        for case_ in suite.iter("testcase")
        for f in case_.iter("failure")
    ]
    assert failures == [
        ("seed 1", "frames >= 100000: measured 300, limit 100000"),
        ("seed 2", "frames >= 100000: measured 300, limit 100000"),
        ("sweep of 2 runs", "fraction_passing >= 0.5: measured 0, limit 0.5"),
    ]
    # the failed run's replay command reproduces it: same tracks and commands
    command = case["runs"][0]["replay_command"].split()
    assert command[:2] == ["hil", "replay"] and command[-1] == "--compare"
    replay = hil("replay", *command[2:], "--json")
    assert replay.returncode == 0, replay.stderr
    assert json.loads(replay.stdout.strip().splitlines()[-1])["compare"]["digest_equal"] is True


def test_two_jobs_measure_what_one_job_does(tmp_path: Path) -> None:
    case = sim_case("seeds", "4", 3.0, 'criteria = ["frames >= 1"]\n', DEFENDED_SITE)
    path = write_campaign(tmp_path, case)
    measured = []
    for jobs in ("1", "2"):
        done = hil("campaign", "run", str(path), "--out", str(tmp_path / jobs), "--jobs", jobs,
                   "--json")  # fmt: skip
        assert done.returncode == 0, done.stderr
        _, results = results_of(done)
        runs = results["cases"][0]["runs"]
        measured.append(
            [
                (
                    r["seed"],
                    r["summary"]["digest"],
                    {k: v for k, v in r["measurements"].items() if "latency" not in k},
                )
                for r in runs
            ]
        )
    assert [seed for seed, _, _ in measured[0]] == [1, 2, 3, 4]
    assert len({digest for _, digest, _ in measured[0]}) == 4  # the seeds differ
    assert measured[0] == measured[1]


@pytest.mark.parametrize(("signum", "code"), [(signal.SIGINT, 130), (signal.SIGTERM, 143)])
def test_ctrl_c_keeps_finished_runs_and_writes_results(
    tmp_path: Path, signum: signal.Signals, code: int
) -> None:
    criteria = 'criteria = ["frames >= 1"]\nsweep_criteria = ["fraction_passing >= 0.5"]\n'
    path = write_campaign(tmp_path, sim_case("long", "6", 30.0, criteria))
    campaign = subprocess.Popen(
        [sys.executable, "-m", "hil", "campaign", "run", str(path), "--out", str(tmp_path),
         "--jobs", "1"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )  # fmt: skip
    try:
        assert campaign.stdout is not None
        lines = []
        for line in campaign.stdout:
            lines.append(line)
            if line.startswith("long seed 1: PASS"):
                break
        else:
            pytest.fail(f"no run finished: {lines}")
        workers = psutil.Process(campaign.pid).children(recursive=True)
        assert workers, "the sim runs go to worker processes"
        campaign.send_signal(signum)
        out, err = campaign.communicate(timeout=60)
    finally:
        if campaign.poll() is None:
            campaign.kill()
            campaign.communicate()
    assert campaign.returncode == code, err
    assert "Traceback" not in err
    _, alive = psutil.wait_procs(workers, timeout=5)
    assert alive == []
    assert "INTERRUPTED" in out
    (folder,) = tmp_path.glob("*-t")
    results = json.loads((folder / "results.json").read_text())
    assert (results["interrupted"], results["verdict"]) == (True, "interrupted")
    (case,) = results["cases"]
    runs = case["runs"]
    assert case["verdict"] == "not_run" and "did not run" in case["criteria"][0]["reason"]
    assert runs[0]["verdict"] == "pass" and runs[0]["criteria"][0]["measured"] == 3000
    assert runs[-1]["verdict"] == "not_run"
    assert {r["verdict"] for r in runs} <= {"pass", "not_run"}
    JUNIT_SCHEMA.validate(folder / "junit.xml")
    assert ET.parse(folder / "junit.xml").getroot().find(".//skipped") is not None


def _unused_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def missing_bench(folder: Path, fallback: bool) -> Path:
    rig = folder / "missing-bench.toml"
    rig.write_text(
        "[rig]\nname = 'missing'\nmode = 'bench'\n"
        f"allow_emulation_fallback = {str(fallback).lower()}\n\n"
        f"[radar]\nurl = '{folder / 'ttyNOPE'}'\n\n"
        f"[plc]\nhost = '127.0.0.1'\nport = {_unused_port()}\ntimeout_s = 0.1\nretries = 0\n\n"
        "[preflight]\nwindow_s = 0.5\nconnect_timeout_s = 0.5\n"
        # latency is not what these tests are about: a busy test machine's slack
        "radar_max_latency_p99_ms = 1000.0\nplc_max_latency_p99_ms = 1000.0\n"
    )
    return rig


BENCH_CASE = f"""
[[cases]]
name = "bench"
mode = "bench"
scenario = "{DEFENDED_SITE}"
duration_s = 2.0
arm = true
criteria = ["frames >= 1"]
"""


def test_bench_fallback_is_reported_as_emulated(tmp_path: Path) -> None:
    path = write_campaign(tmp_path, BENCH_CASE, missing_bench(tmp_path, fallback=True))
    done = hil("campaign", "run", str(path), "--out", str(tmp_path / "runs"))
    assert done.returncode == 0, done.stderr
    assert "PASS     bench (bench EMULATED (bench devices missing" in done.stdout
    (folder,) = (tmp_path / "runs").glob("*-t")
    results = json.loads((folder / "results.json").read_text())
    (case,) = results["cases"]
    (run,) = case["runs"]
    assert case["emulated"] is True and run["emulated"] is True
    assert run["summary"]["emulated_devices"] == ["radar", "plc"]
    # arm = true on a bench case arms only with the operator's --arm
    assert run["summary"]["armed"] is False and case["armed"] is False
    assert any(note.startswith("NOT ARMED") for note in run["notes"])
    JUNIT_SCHEMA.validate(folder / "junit.xml")
    names = [c.get("name") for c in ET.parse(folder / "junit.xml").getroot().iter("testcase")]
    assert names == ["seed 0 [EMULATED]"]
    # the preflight checked what the run talked to, and says so
    preflight = results["preflight"]
    assert preflight["refused_bench_runs"] is False and preflight["verdict"] == "amber"
    assert preflight["report"]["emulated"] == ["radar", "plc"]
    reachable = [r for r in preflight["report"]["rows"] if r["name"].endswith(".reachable")]
    assert [r["verdict"] for r in reachable] == ["amber", "amber"]
    assert all("checked the EMULATED" in r["value"] for r in reachable)
    assert "AMBER radar.reachable" in done.stdout


def test_missing_bench_without_fallback_is_an_error_run(tmp_path: Path) -> None:
    path = write_campaign(tmp_path, BENCH_CASE, missing_bench(tmp_path, fallback=False))
    done = hil("campaign", "run", str(path), "--out", str(tmp_path / "runs"), "--json")
    assert done.returncode == 1, done.stderr
    _, results = results_of(done)
    (run,) = results["cases"][0]["runs"]
    # the preflight refused the run, naming both missing devices' rows and URLs
    assert run["verdict"] == "error" and "rig preflight RED" in run["error"]
    assert f"radar.reachable: {tmp_path / 'ttyNOPE'} not up" in run["error"]
    assert "plc.reachable: tcp://127.0.0.1:" in run["error"]
    assert "Traceback" not in done.stderr


def test_replay_case_plays_a_recording(tmp_path: Path) -> None:
    cases = (
        f'\n[[cases]]\nname = "again"\nmode = "replay"\nrecording = "{DATA / "golden-sim.mcap"}"'
        '\ncriteria = ["frames >= 1", "devices_lost == 0"]\n'
    )
    done = hil("campaign", "run", str(write_campaign(tmp_path, cases)), "--out", str(tmp_path),
               "--json")  # fmt: skip
    assert done.returncode == 0, done.stderr
    _, results = results_of(done)
    (case,) = results["cases"]
    (run,) = case["runs"]
    assert case["mode"] == "replay" and run["verdict"] == "pass"
    assert run["replay_of"] == str(DATA / "golden-sim.mcap")
    assert run["recording"] == "recordings/again-golden-sim.mcap"


def test_bench_arms_only_with_the_operators_arm(tmp_path: Path) -> None:
    path = write_campaign(tmp_path, BENCH_CASE, missing_bench(tmp_path, fallback=True))
    campaign = load_campaign(path)
    (without,) = plan(campaign, tmp_path, operator_armed=False)
    (with_arm,) = plan(campaign, tmp_path, operator_armed=True)
    assert [j.settings.armed for j in without.jobs if j.settings] == [False]
    assert without.jobs[0].notes == (BENCH_NOT_ARMED,)
    assert [j.settings.armed for j in with_arm.jobs if j.settings] == [True]
    assert with_arm.jobs[0].notes == ()
    # sim and emulate cases arm from the file alone
    sim = write_campaign(tmp_path, sim_case("s", "[1]", 1.0, "arm = true\n"))
    (planned,) = plan(load_campaign(sim), tmp_path, operator_armed=False)
    assert [j.settings.armed for j in planned.jobs if j.settings] == [True]


def test_a_killed_campaign_leaves_no_worker_running(tmp_path: Path) -> None:
    """``kill -9`` of ``hil campaign run`` while one worker is in a 60 s run and the other,
    its short run done, waits for work: the kernel tells each worker its campaign died
    (SIGTERM); the busy one ends its run cleanly and exits, the idle one exits at once (its
    job queue's pipe would never reach end of file)."""
    criteria = 'criteria = ["frames >= 1"]\n'
    cases = sim_case("long", "1", 60.0, criteria) + sim_case("short", "1", 1.0, criteria)
    path = write_campaign(tmp_path, cases)
    campaign = subprocess.Popen(
        [sys.executable, "-m", "hil", "campaign", "run", str(path), "--out", str(tmp_path),
         "--jobs", "2"],
        stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )  # fmt: skip
    try:
        assert campaign.stdout is not None
        for line in campaign.stdout:  # one line per finished run
            if line.startswith("short seed 1: PASS"):
                break
        else:
            pytest.fail("the short run did not finish")
        workers = [p for p in psutil.Process(campaign.pid).children() if is_worker(p)]
        assert len(workers) == 2, "one busy worker, one idle"
        campaign.kill()
        campaign.wait(timeout=30)
    finally:
        if campaign.poll() is None:
            campaign.kill()
        campaign.communicate()
    _, alive = psutil.wait_procs(workers, timeout=20)
    assert alive == [], [p.cmdline() for p in alive]


def is_worker(process: psutil.Process) -> bool:
    return "spawn_main" in " ".join(process.cmdline())


def _campaign_losing_its_folder(path: Path, out: Path) -> tuple[Path, str, str]:
    """``hil campaign run PATH --out OUT --jobs 1 --json`` whose results folder is moved away
    (as an ``rm -rf`` or a cleanup job would take it) as soon as its first recording exists:
    the folder, stdout and stderr, after checking the exit code is 1."""
    command = [sys.executable, "-m", "hil", "campaign", "run", str(path), "--out", str(out),
               "--jobs", "1", "--json"]  # fmt: skip
    with subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) as p:
        try:
            first = None
            while first is None:
                assert p.poll() is None, p.communicate()
                first = next(out.glob("*/recordings/*.mcap"), None)
                time.sleep(0.002)
            folder = first.parents[1]
            folder.rename(out.parent / "gone")
            stdout, stderr = p.communicate(timeout=120)
        finally:
            if p.poll() is None:
                p.kill()
                p.communicate()
    assert p.returncode == 1, stderr
    return folder, stdout, stderr


def test_a_results_folder_deleted_mid_sweep_says_what_was_lost(tmp_path: Path) -> None:
    """The results folder disappears while a sweep runs: no run passes with its recording
    gone, each says so, the campaign warns, and results.json is still written where the
    campaign said it would be."""
    case = sim_case("sweep", "4", 3.0, 'criteria = ["frames >= 1"]\n', DEFENDED_SITE)
    path = write_campaign(tmp_path, case, name="doomed")
    folder, stdout, stderr = _campaign_losing_its_folder(path, tmp_path / "runs")
    outcome = json.loads(stdout.strip().splitlines()[-1])
    assert Path(outcome["folder"]) == folder and outcome["verdict"] == "error"
    results = json.loads(Path(outcome["results"]).read_text())
    runs = results["cases"][0]["runs"]
    assert len(runs) == 4 and runs[0]["seed"] == 1
    lost = [run for run in runs if run["recording"] is None]
    assert runs[0] in lost  # its recording was the one in the folder when it went
    for run in runs:
        if run["recording"] is None:
            assert run["verdict"] == "error" and "recording lost" in run["error"], run
            assert any("recording lost" in note for note in run["notes"]), run
            assert run["measurements"]["frames"] > 0  # what was measured is kept
        else:
            assert (folder / run["recording"]).is_file(), run
    assert any(f"{len(lost)} of 4 runs lost their recording" in w for w in results["warnings"])
    assert "warning:" in stderr and "Traceback" not in stderr


def test_a_results_folder_deleted_under_the_last_run_is_made_again(tmp_path: Path) -> None:
    """Nothing runs after the folder went (its one run had started): the folder is made again
    for results.json, junit.xml and the report, and the campaign says so."""
    case = sim_case("one", "[7]", 3.0, 'criteria = ["frames >= 1"]\n', DEFENDED_SITE)
    path = write_campaign(tmp_path, case, name="alone")
    folder, stdout, stderr = _campaign_losing_its_folder(path, tmp_path / "runs")
    outcome = json.loads(stdout.strip().splitlines()[-1])
    results = json.loads(Path(outcome["results"]).read_text())
    assert Path(outcome["results"]).parent == folder and Path(outcome["junit"]).is_file()
    (run,) = results["cases"][0]["runs"]
    assert (run["verdict"], run["recording"]) == ("error", None)
    assert run["error"].startswith(f"recording lost: {folder.resolve()}/recordings/one-seed7.mcap")
    made_again, lost = results["warnings"]
    assert made_again.startswith(f"the results folder {folder} disappeared while the campaign")
    assert lost.startswith("1 of 1 runs lost their recording (one seed 7)")
    assert stderr.count("warning: ") == 2 and "Traceback" not in stderr
