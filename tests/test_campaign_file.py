"""Malformed campaign files: ``hil campaign run`` exits 2 with one line naming the file, the key
and the fix — one test per kind of mistake — and nothing runs."""

from __future__ import annotations

from pathlib import Path

import pytest
from cli_support import hil
from conftest import CONFIGS

from hil.campaign.loader import load_campaign
from hil.campaign.plan import plan
from hil.cli import main

SIM_RIG = CONFIGS / "rigs" / "sim.toml"
SCENARIO = CONFIGS / "scenarios" / "single-cv.toml"
GOOD_CASE = f"""
[[cases]]
name = "ok"
mode = "sim"
scenario = "{SCENARIO}"
duration_s = 2.0
"""


def campaign(body: str, header: str | None = None) -> str:
    top = header if header is not None else f'[campaign]\nname = "c"\nrig = "{SIM_RIG}"\n'
    return top + body


CASES = {
    "toml-syntax": (campaign("[[cases]\nname = 'x'\n"), "", "TOML syntax error"),
    "not-a-campaign": (SIM_RIG.read_text(), "", "not a campaign file: expected a [campaign]"),
    "unknown-key": (
        campaign(GOOD_CASE + "colour = 'red'\n"),
        "cases[0].colour",
        "unknown key; allowed here: arm, criteria, description, duration_s, faults, mode",
    ),
    "missing-key": (
        campaign(GOOD_CASE, header='[campaign]\nname = "c"\n'),
        "campaign.rig",
        "required key is missing",
    ),
    "no-cases": (campaign(""), "cases", "required key is missing"),
    "bad-mode": (
        campaign(GOOD_CASE.replace('"sim"', '"hardware"')),
        "cases[0].mode",
        "'bench', 'emulate', 'sim' or 'replay'",
    ),
    "unknown-measurement": (
        campaign(GOOD_CASE + 'criteria = ["frames >= 1", "gospa <= 60"]\n'),
        "cases[0].criteria[1]",
        "unknown measurement 'gospa'; known: frames (count), frames_lost (count)",
    ),
    "statistic-per-run": (
        campaign(GOOD_CASE + 'criteria = ["mean(gospa_mean_m) <= 60"]\n'),
        "cases[0].criteria[0]",
        "put it in sweep_criteria",
    ),
    "sweep-without-statistic": (
        campaign(GOOD_CASE + 'sweep_criteria = ["gospa_mean_m <= 60"]\n'),
        "cases[0].sweep_criteria[0]",
        "needs a statistic",
    ),
    "not-finite": (
        campaign(GOOD_CASE.replace("duration_s = 2.0", "duration_s = nan")),
        "cases[0].duration_s",
        "finite number",
    ),
    "duplicate-case": (
        campaign(GOOD_CASE + GOOD_CASE),
        "cases[1].name",
        "already the name of cases[0]; case names must be unique",
    ),
    "unsafe-name": (
        campaign(GOOD_CASE.replace('"ok"', '"../ok"')),
        "cases[0].name",
        "a name is used in file names: 1 to 64 letters, digits",
    ),
    "repeated-seeds": (
        campaign(GOOD_CASE + "seeds = [1, 2, 1]\n"),
        "cases[0].seeds",
        "seeds [1] appear more than once",
    ),
    "zero-runs": (
        campaign(GOOD_CASE + "seeds = 0\n"),
        "cases[0].seeds",
        "a count of runs is 1 to 100000 (seeds 1..N), or a list of seeds, each an integer "
        "from 0 to 4294967295 (got 0)",
    ),
    "negative-runs": (
        campaign(GOOD_CASE + "seeds = -3\n"),
        "cases[0].seeds",
        "a count of runs is 1 to 100000 (seeds 1..N), or a list of seeds, each an integer "
        "from 0 to 4294967295 (got -3)",
    ),
    "too-many-runs": (
        campaign(GOOD_CASE + "seeds = 1000000000\n"),
        "cases[0].seeds",
        "a count of runs is 1 to 100000 (seeds 1..N)",
    ),
    "bad-seed-in-list": (
        campaign(GOOD_CASE + "seeds = [-1, 5e21]\n"),
        "cases[0].seeds",
        "seeds[0] = -1 is not a seed: each seed is an integer from 0 to 4294967295",
    ),
    "float-seed-in-list": (
        campaign(GOOD_CASE + "seeds = [1, 5e21]\n"),
        "cases[0].seeds",
        "seeds[1] = 5e+21 is not a seed: each seed is an integer from 0 to 4294967295",
    ),
    "empty-seed-list": (
        campaign(GOOD_CASE + "seeds = []\n"),
        "cases[0].seeds",
        "an empty list runs nothing: give at least one seed, or a count of runs",
    ),
    "seeds-not-a-number": (
        campaign(GOOD_CASE + 'seeds = "many"\n'),
        "cases[0].seeds",
        "or a list of seeds, each an integer from 0 to 4294967295 (got 'many')",
    ),
    "missing-scenario": (
        campaign(GOOD_CASE.replace(str(SCENARIO), "nowhere.toml")),
        "nowhere.toml",
        "file not found (cases[0] of",
    ),
    "fault-after-end": (
        campaign(GOOD_CASE + "[[cases.faults]]\nat_s = 5.0\nkind = 'estop'\n"),
        "cases[0].faults[0] (estop): at_s = 5 s",
        "lies outside the run; use 0 <= at_s < 2 s",
    ),
    "unknown-fault": (
        campaign(GOOD_CASE + "[[cases.faults]]\nat_s = 1.0\nkind = 'meteor'\n"),
        "cases[0].faults[0].kind",
        "'radar_corrupt', 'radar_stall'",
    ),
    "replay-without-recording": (
        campaign('[[cases]]\nname = "r"\nmode = "replay"\n'),
        "cases[0].recording",
        "required key is missing in mode 'replay'",
    ),
    "replay-with-seeds": (
        campaign('[[cases]]\nname = "r"\nmode = "replay"\nrecording = "x.mcap"\nseeds = 3\n'),
        "cases[0].seeds",
        "a replay case plays its recordings' own seeds",
    ),
    "regression-without-direction": (
        campaign(GOOD_CASE + '[regression]\nmeasurements = ["gospa_mean_m", "duration_s"]\n'),
        "regression.measurements[1]",
        "'duration_s' has no better direction (loop time the run lasted): a regression is a "
        "change for the worse; give a measurement that improves lower or higher: frames,",
    ),
    "regression-state": (
        campaign(GOOD_CASE + '[regression]\nmeasurements = ["rig_final_state"]\n'),
        "regression.measurements[0]",
        "'rig_final_state' has no better direction",
    ),
    "regression-unknown-measurement": (
        campaign(GOOD_CASE + '[regression]\nmeasurements = ["gospa"]\n'),
        "regression.measurements[0]",
        "unknown measurement 'gospa'; known: frames (count)",
    ),
    "regression-bad-label": (
        campaign(GOOD_CASE + "[regression]\nmeasurements = ['launches{source=\"x\"}']\n"),
        "regression.measurements[0]",
        "source='x' is not one of injected, real",
    ),
    "regression-against-one": (
        campaign(GOOD_CASE + '[regression]\nagainst = 1\nmeasurements = ["rmse_m"]\n'),
        "regression.against",
        "greater than or equal to 2",
    ),
    "regression-alpha-one": (
        campaign(GOOD_CASE + '[regression]\nalpha = 1.0\nmeasurements = ["rmse_m"]\n'),
        "regression.alpha",
        "less than 1",
    ),
    "regression-max-worse-negative": (
        campaign(GOOD_CASE + '[regression]\nmax_worse = -0.1\nmeasurements = ["rmse_m"]\n'),
        "regression.max_worse",
        "greater than or equal to 0",
    ),
    "regression-max-worse-inf": (
        campaign(GOOD_CASE + '[regression]\nmax_worse = inf\nmeasurements = ["rmse_m"]\n'),
        "regression.max_worse",
        "finite number",
    ),
    "regression-no-measurements": (
        campaign(GOOD_CASE + "[regression]\nagainst = 3\n"),
        "regression.measurements",
        "required key is missing",
    ),
    "regression-unknown-key": (
        campaign(GOOD_CASE + '[regression]\nwindow = 3\nmeasurements = ["rmse_m"]\n'),
        "regression.window",
        "unknown key",
    ),
}


@pytest.mark.parametrize("kind", sorted(CASES))
def test_malformed_campaign_is_one_clear_line(
    kind: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    text, key, says = CASES[kind]
    path = tmp_path / "campaign.toml"
    path.write_text(text)
    code = main(["campaign", "run", str(path), "--out", str(tmp_path / "runs")])
    out, err = capsys.readouterr()
    assert code == 2
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith(f"error: {path}") or kind == "missing-scenario", lines[0]
    assert key in lines[0] and says in lines[0], lines[0]
    assert out == "" and not (tmp_path / "runs").exists()


def test_bad_seeds_are_one_line_without_pydantic_internals(tmp_path: Path) -> None:
    """The command as an operator runs it: every bad ``seeds`` is one line naming the file, the
    key and what is allowed, and never pydantic's validator chain."""
    for seeds in ("0", "-3", "1000000000", "[-1, 5e21]"):
        path = tmp_path / "campaign.toml"
        path.write_text(campaign(GOOD_CASE + f"seeds = {seeds}\n"))
        done = hil("campaign", "run", str(path), "--out", str(tmp_path / "runs"))
        assert done.returncode == 2, done.stderr
        (line,) = done.stderr.splitlines()
        assert line.startswith(f"error: {path}: cases[0].seeds"), line
        assert "function-after" not in line and "validator" not in line, line
        assert "0 to 4294967295" in line or "1 to 100000" in line, line
    assert not (tmp_path / "runs").exists()


def test_unknown_only_case_lists_the_cases(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "campaign.toml"
    path.write_text(campaign(GOOD_CASE))
    code = main(["campaign", "run", str(path), "--only", "nope", "--out", str(tmp_path)])
    err = capsys.readouterr().err
    assert code == 2
    assert err.strip() == f"error: --only nope: no such case in {path}; its cases: ok"


def test_command_line_exit_code_and_no_traceback(tmp_path: Path) -> None:
    path = tmp_path / "campaign.toml"
    path.write_text(campaign(GOOD_CASE + "colour = 'red'\n"))
    done = hil("campaign", "run", str(path), "--out", str(tmp_path / "runs"))
    assert done.returncode == 2
    assert "Traceback" not in done.stderr
    assert done.stderr.count("\n") == 1 and "cases[0].colour: unknown key" in done.stderr


def test_a_sweeps_runs_publish_no_telemetry_and_the_emulated_ones_do(tmp_path: Path) -> None:
    """Sim runs go side by side to workers and would take turns at the rig's retained status;
    the campaign's emulate (and bench) runs, one at a time, publish as ``hil run`` does."""
    rig = tmp_path / "rig.toml"
    rig.write_text(SIM_RIG.read_text() + '\n[telemetry]\nbroker = "mqtt://127.0.0.1:1883"\n')
    emulated = GOOD_CASE.replace('"ok"', '"live"').replace('"sim"', '"emulate"')
    path = tmp_path / "telemetry.toml"
    path.write_text(campaign(GOOD_CASE + emulated, f'[campaign]\nname = "t"\nrig = "{rig}"\n'))
    sweep, live = plan(load_campaign(path), tmp_path / "out", operator_armed=False)
    assert [job.settings.rig.telemetry for job in sweep.jobs if job.settings] == [None]
    (job,) = live.jobs
    assert job.settings is not None and job.settings.rig.telemetry is not None


def _out_problem(tmp_path: Path, kind: str) -> tuple[list[str], dict[str, str], str, str]:
    """(the --out arguments, the environment, the path the error names, what it says)."""
    a_file = tmp_path / "a-file"
    a_file.write_text("not a folder\n")
    if kind == "out-is-a-file":
        return ["--out", str(a_file)], {}, f"--out {a_file}", "is a file, not a directory"
    if kind == "out-under-a-file":
        out = a_file / "runs"
        return ["--out", str(out)], {}, f"--out {out}", f"{a_file} is a file, not a directory"
    if kind == "runs-dir-is-a-file":
        return [], {"HIL_RUNS_DIR": str(a_file)}, f"HIL_RUNS_DIR={a_file}", "is a file"
    if kind == "runs-dir-under-a-file":
        out = a_file / "deeper" / "runs"
        return [], {"HIL_RUNS_DIR": str(out)}, f"HIL_RUNS_DIR={out}", f"{a_file} is a file"
    # /proc/sys takes no new entries from anyone, root included: the permission case runs in
    # CI (as root) too
    out = Path("/proc/sys/hil-runs")
    return ["--out", str(out)], {}, f"--out {out}", "/proc/sys is not writable"


OUT_PROBLEMS = [
    "out-is-a-file",
    "out-under-a-file",
    "runs-dir-is-a-file",
    "runs-dir-under-a-file",
    "out-not-writable",
]


@pytest.mark.parametrize("kind", OUT_PROBLEMS)
def test_unusable_results_folder_is_one_line_before_anything_runs(
    kind: str, tmp_path: Path
) -> None:
    path = tmp_path / "campaign.toml"
    path.write_text(campaign(GOOD_CASE))
    arguments, env, names, says = _out_problem(tmp_path, kind)
    done = hil("campaign", "run", str(path), *arguments, env=env)
    assert done.returncode == 2, done.stderr
    (line,) = done.stderr.splitlines()
    assert line.startswith(f"error: {names}: "), line
    assert says in line, line
    assert done.stdout == ""  # nothing ran: no "campaign c: 1 cases" line


def test_regression_table_is_loaded_with_its_defaults(tmp_path: Path) -> None:
    path = tmp_path / "campaign.toml"
    labelled = 'launches{ source = "real" }'
    path.write_text(
        campaign(GOOD_CASE + f"[regression]\nmeasurements = ['gospa_mean_m', '{labelled}']\n")
    )
    spec = load_campaign(path).regression
    assert spec is not None
    assert spec.measurements == ("gospa_mean_m", 'launches{source="real"}')
    assert (spec.against, spec.max_worse, spec.alpha) == (5, 0.05, 0.01)
    path.write_text(campaign(GOOD_CASE))
    assert load_campaign(path).regression is None
