"""Issue 23 end to end, on a real SQLite store and the real commands: campaigns accumulate, a
``[regression]`` table has no baseline until two comparable campaigns are stored, an unchanged
campaign passes against them, a ``--set`` "what if" that degrades the tracker fails as a
regression (exit 1) with its evidence, and ``hil results trend`` / ``compare`` read it all
back."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from cli_support import hil
from conftest import CONFIGS

from hil.history.stats import PAIRED_TEST

DEGRADE = "tracker.gate_probability=0.02"
"""A gate far too narrow: a track's own detections fall outside it and tracks are lost."""


def campaign_file(folder: Path) -> Path:
    """One sim sweep of 8 seeds (a paired one-sided test can reach p < 0.01 from 7), 3 s each."""
    path = folder / "nightly.toml"
    path.write_text(
        f'[campaign]\nname = "nightly"\nrig = "{CONFIGS / "rigs" / "sim.toml"}"\n\n'
        f'[[cases]]\nname = "sweep"\nmode = "sim"\n'
        f'scenario = "{CONFIGS / "scenarios" / "defended-site.toml"}"\n'
        'duration_s = 3.0\nseeds = 8\ncriteria = ["gospa_mean_m <= 10000"]\n\n'
        '[regression]\nagainst = 3\nmeasurements = ["gospa_mean_m", "tracks_confirmed"]\n'
        "max_worse = 0.05\nalpha = 0.01\n",
        encoding="utf-8",
    )
    return path


def run_campaign(path: Path, store: str, out: Path, *extra: str) -> tuple[int, dict[str, Any]]:
    done = hil(
        "campaign", "run", str(path), "--out", str(out), "--jobs", "2", "--store", store,
        "--json", *extra,
    )  # fmt: skip
    assert done.returncode in (0, 1), done.stderr
    outcome = json.loads(done.stdout.strip().splitlines()[-1])
    document: dict[str, Any] = json.loads(Path(outcome["results"]).read_text())
    assert "stored in the results store" in done.stderr
    return done.returncode, document


@pytest.mark.timeout(240)  # five campaigns of eight sim runs, each a child process
def test_campaigns_accumulate_and_a_degrading_what_if_fails_as_a_regression(
    tmp_path: Path,
) -> None:
    path, out = campaign_file(tmp_path), tmp_path / "runs"
    store = f"sqlite:///{tmp_path / 'results.db'}"
    statuses = []
    for _ in range(3):
        code, document = run_campaign(path, store, out)
        assert code == 0 and document["verdict"] == "pass"
        statuses.append(document["regression"]["status"])
    assert statuses[:2] == ["no baseline yet"] * 2 and statuses[2] == "judged"
    first, _, third = sorted(d for d in out.iterdir() if d.is_dir())
    assert "history" in (third / "report.html").read_text().lower()

    code, degraded = run_campaign(path, store, out, "--set", DEGRADE)
    assert code == 1 and degraded["verdict"] == "fail"
    assert degraded["campaign"]["overrides"] == [DEGRADE]
    assert len(degraded["regression"]["baseline_campaigns"]) == 3  # the file's own, not a what-if
    failed = [
        c for c in degraded["cases"][0]["criteria"]
        if c.get("kind") == "regression" and c["verdict"] == "fail"
    ]  # fmt: skip
    assert failed, degraded["cases"][0]["criteria"]
    assert all(c["p_value"] < 0.01 and "hil replay" in c["replay_command"] for c in failed)

    # an unchanged campaign after the what-if still passes: the what-if is no baseline
    code, after = run_campaign(path, store, out)
    assert code == 0 and after["regression"]["status"] == "judged"

    listed = json.loads(hil("results", "list", "--store", store, "--json").stdout)
    assert len(listed) == 5
    trend = hil("results", "trend", "gospa_mean_m", "--store", store, "--json")
    assert trend.returncode == 0, trend.stderr
    (series,) = json.loads(trend.stdout)["series"]
    assert len(series["points"]) == 5 and all(p["n"] == 8 for p in series["points"])
    medians = [p["median"] for p in series["points"]]
    assert medians[0] == medians[1] == medians[2] == medians[4] != medians[3]
    first_id = json.loads((first / "results.json").read_text())["campaign"]["id"]
    compare = hil(
        "results", "compare", first_id, degraded["campaign"]["id"], "--store", store, "--json"
    )  # fmt: skip
    assert compare.returncode == 0, compare.stderr
    rows = {(r["case"], r["measurement"]): r for r in json.loads(compare.stdout)["rows"]}
    gospa = rows[("sweep", "gospa_mean_m")]
    assert gospa["judgement"] == "worse" and gospa["delta"] > 0
    assert gospa["test"]["test"] == PAIRED_TEST and gospa["test"]["p_value"] < 0.05
