"""The live status line of ``hil run``: on a terminal (a pseudo-terminal here) its counters
appear and advance and the summary follows; with ``--json``, ``--quiet`` or without a terminal
there is none. Its observer's counters equal the run's own."""

from __future__ import annotations

import asyncio
import re
from pathlib import Path
from types import SimpleNamespace

import pytest
from conftest import CONFIGS
from pty_support import hil_on_a_terminal
from rich.console import Console

from hil.campaign.execute import RunJob, execute
from hil.campaign.plan import PlannedCase
from hil.campaign.progress import LineProgress, LiveProgress, SilentProgress
from hil.cli import main
from hil.config.loader import load_rig, load_scenario
from hil.rig.base import RunSettings
from hil.run.live_status import RunCounters, status_text
from hil.run.perform import StopSwitch, perform_run

SIM_RIG = CONFIGS / "rigs" / "sim.toml"
SCENARIO = CONFIGS / "scenarios" / "defended-site.toml"
STATUS = re.compile(r"(\d+\.\d) / (\d+) s  frames (\d+)  detections (\d+)  tracks (\d+) tentative")


async def test_the_status_line_advances_on_a_terminal_and_the_summary_follows() -> None:
    code, text, err = await hil_on_a_terminal("run", "--duration", "2", "--no-record")
    assert code == 0, err
    shown = [tuple(float(v) for v in m.groups()) for m in STATUS.finditer(text)]
    assert len(shown) >= 3, text  # 4 Hz over 2 s of loop time
    first = STATUS.search(text)
    assert first is not None
    assert text.index("emulate  starting a 2 s run: devices connecting") < first.start()
    elapsed = [s[0] for s in shown]
    frames = [s[2] for s in shown]
    assert all(s[1] == 2 for s in shown)
    assert elapsed == sorted(elapsed) and frames == sorted(frames)
    assert frames[0] < frames[-1] and elapsed[-1] >= 1.5
    last_status = text.rindex("latency p99 ")
    assert re.search(r"latency p99 \d+\.\d\d ms", text[last_status:])
    assert "radar ok  PLC ok" in text and " confirmed  engagements " in text
    summary = text.index("hil run — defended-site on rig emulate")
    assert summary > last_status and "rig final state: SAFE" in text[summary:]
    assert "tentative" not in text[summary:]  # the summary is the one printed without a terminal


@pytest.mark.parametrize("option", ["--json", "--quiet"])
async def test_no_status_line_with_json_or_quiet(option: str) -> None:
    code, text, err = await hil_on_a_terminal(
        "run", "--rig", str(SIM_RIG), "--duration", "2", "--no-record", option
    )
    assert code == 0, err
    assert "tentative" not in text and "latency p99 " not in text
    assert ('"mode": "sim"' in text) if option == "--json" else ("hil run — " in text)


def test_no_status_line_without_a_terminal(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["run", "--rig", str(SIM_RIG), "--duration", "2", "--no-record"]) == 0
    out = capsys.readouterr().out  # pytest's capture: not a terminal
    assert out.startswith("hil run — ") and "tentative" not in out and "\x1b[" not in out


async def test_the_counters_equal_the_runs_own() -> None:
    rig = load_rig(SIM_RIG, [])
    settings = RunSettings(rig, load_scenario(SCENARIO), SCENARIO, 30.0, 0, True)
    counters = RunCounters()
    result = await perform_run(settings, lambda built: [counters])
    loop = result.loop
    assert counters.frames == loop.counters.frames == 3000
    assert counters.detections == loop.counters.detections
    assert counters.engagements == len(loop.engagement.records) > 0
    assert counters.launches == loop.engagement.launches > 0
    assert counters.elapsed_s == pytest.approx(loop.duration_s, abs=0.01)  # from the 1st dwell
    assert 0 < counters.confirmed <= counters.tracks
    assert counters.latency.count == counters.frames
    assert counters.not_holding is not None
    console = Console(record=True, width=300)
    console.print(status_text(counters, 30.0, "sim"))
    line = console.export_text()
    assert line.startswith(f"sim    30.0 / 30 s  frames 3000  detections {counters.detections}  ")
    assert f"/ {counters.confirmed} confirmed  engagements {counters.engagements} (" in line
    assert f"launched {counters.launches} " in line


async def test_a_campaign_run_in_this_process_feeds_the_status_line_under_the_table(
    tmp_path: Path,
) -> None:
    """``execute`` (how the campaign performs its emulate and bench runs) hands the live table's
    counters to the run: the line under the table shows that run's counters."""
    rig = load_rig(SIM_RIG, [])
    settings = RunSettings(rig, load_scenario(SCENARIO), SCENARIO, 5.0, 0)
    job = RunJob("watched", 3, settings, tmp_path / "watched.mcap", ())
    planned = [PlannedCase(SimpleNamespace(name="watched", mode="emulate"), (job,))]  # type: ignore[arg-type]
    with LiveProgress(planned, "campaign test") as progress:
        progress.run_started("watched", 3)
        record = await execute(job, StopSwitch(), progress.watchers(job))
        assert progress.current is not None
        counters = progress.current[2]
        console = Console(record=True, width=300)
        console.print(progress._view())
        progress.run_finished("watched", record)
        assert progress.current is None
    # the recording finished in the loop's default executor: end its thread as asyncio.run would
    await asyncio.get_running_loop().shutdown_default_executor()
    assert counters.frames == record["summary"]["frames"] == 500
    text = console.export_text()
    assert "campaign test" in text and "watched seed 3     5.0 / 5 s  frames 500  " in text
    # without the live table (--json, no terminal) nobody watches a run
    assert LineProgress(planned).watchers(job) == () == SilentProgress(planned).watchers(job)
