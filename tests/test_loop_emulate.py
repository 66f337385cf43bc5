"""``hil run`` end to end over the real transports: the emulated radar on a pty and the
emulated PLC on loopback Modbus TCP, both as child processes, driven by the real drivers."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import psutil
from conftest import CONFIGS
from plc_support import panel_write

from hil.config.loader import load_rig, load_scenario
from hil.fire_control.engagement import Phase
from hil.loop.cycle import CycleInput, CycleOutput
from hil.loop.plc_launcher import PlcLauncher
from hil.rig.base import Rig, RunSettings
from hil.run.perform import perform_run
from hil.run.summary import summarize

DATA = Path(__file__).parent / "data"
ONE_INJECTED = DATA / "scenarios" / "one-injected.toml"
EMULATE_RIG = CONFIGS / "rigs" / "emulate.toml"
REQUIRED_KEYS = {
    "mode",
    "duration_s",
    "frames",
    "tracks_confirmed",
    "launches",
    "launch_requests_refused",
    "gospa_mean_m",
    "rmse_m",
    "latency_p50_ms",
    "latency_p99_ms",
    "seed",
}


def hil_run(*args: str, timeout_s: float = 90.0) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "hil", "run", *args],
        capture_output=True,
        text=True,
        timeout=timeout_s,
        check=False,
    )


class KillChildWhen:
    """Kills the emulator child process whose command line names ``device`` (SIGKILL), once,
    after the first cycle whose engagement phase satisfies ``when``."""

    def __init__(self, device: str, when: Callable[[Phase], bool]) -> None:
        self.device, self.when = device, when
        self.killed: list[int] = []

    def observe(self, cycle_input: CycleInput, cycle_output: CycleOutput) -> None:
        if self.killed or not self.when(cycle_output.phase):
            return
        for child in psutil.Process().children(recursive=True):
            if self.device in child.cmdline():
                child.kill()
                self.killed.append(child.pid)


def test_emulated_campaign_launches_on_an_injected_target() -> None:
    done = hil_run(
        "--rig", str(EMULATE_RIG), "--scenario", str(ONE_INJECTED),
        "--duration", "12", "--seed", "5", "--arm", "--json",
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    summary = json.loads(done.stdout.strip().splitlines()[-1])
    assert summary.keys() >= REQUIRED_KEYS
    assert summary["mode"] == "emulate" and summary["seed"] == 5
    assert summary["emulated_devices"] == []  # emulate mode is not a fallback
    assert summary["frames"] > 1000  # 100 frames/s over the pty
    assert summary["injected_detections"] > 0
    launched = [r for r in summary["engagement_log"] if r["outcome"] == "launched"]
    assert len(launched) == 1 and summary["launches"] == 1
    assert launched[0]["source"] == "injected" and launched[0]["truth_id"] == 0
    assert summary["final_launch_count"] == 1
    assert summary["rig_final_state"] == "SAFE"
    assert summary["latency_p99_ms"] is not None and summary["latency_p99_ms"] < 50.0
    assert summary["rmse_m"] is not None and summary["rmse_m"] < 60.0


def test_estop_pressed_mid_engagement_means_no_launch() -> None:
    settings = RunSettings(
        load_rig(EMULATE_RIG), load_scenario(ONE_INJECTED), ONE_INJECTED, 10.0, 5, armed=True
    )
    pressed: list[asyncio.Task[None]] = []
    phases: list[Phase] = []

    class PressEstopWhenReady:
        """Presses the PLC's e-stop (a panel write over Modbus) in the first READY cycle."""

        def __init__(self, rig: Rig) -> None:
            assert isinstance(rig.launcher, PlcLauncher)
            self.url = str(rig.launcher.driver.endpoint)

        def observe(self, cycle_input: CycleInput, cycle_output: CycleOutput) -> None:
            phases.append(cycle_output.phase)
            if cycle_output.phase is Phase.READY and not pressed:
                pressed.append(asyncio.create_task(panel_write(self.url, coil=0, value=True)))

    async def scenario() -> dict[str, object]:
        result = await perform_run(settings, lambda rig: [PressEstopWhenReady(rig)])
        await asyncio.gather(*pressed)
        return summarize(result)

    summary = asyncio.run(scenario())
    assert pressed, "the engagement never became ready"
    assert Phase.SLEWING in phases
    assert summary["launches"] == 0 and summary["final_launch_count"] == 0
    assert summary["launch_requests"] == 0
    record = summary["engagement_log"][0]  # type: ignore[index]
    assert record["outcome"] != "launched"
    assert "plc_estop_ok" in record["interlocks_failing_at_end"]
    assert summary["rig_final_state"] == "SAFE (fault ESTOP)"


def test_losing_the_plc_mid_run_ends_in_an_unknown_state_not_a_launch() -> None:
    """The emulated PLC process dies while an engagement is under way: the engagement aborts,
    nothing is requested, and the run reports the rig's final state as unknown (``hil run``
    exits 3); the real PLC's own watchdog would put it in SAFE."""
    settings = RunSettings(
        load_rig(EMULATE_RIG), load_scenario(ONE_INJECTED), ONE_INJECTED, 8.0, 5, armed=True
    )
    kill_plc = KillChildWhen("plc", lambda phase: phase is not Phase.IDLE)
    result = asyncio.run(perform_run(settings, lambda _: [kill_plc]))
    summary = summarize(result)
    assert kill_plc.killed
    assert summary["launch_requests"] == 0 and summary["launches"] == 0
    assert summary["rig_final_state"] == "unknown" and not result.loop.rig_safe_confirmed
    assert not summary["rig_safe_confirmed"]
    assert summary["engagement_log"][0]["outcome"] == "aborted"
    assert any("emulated PLC exited" in note for note in summary["notes"])


def test_losing_the_radar_mid_engagement_aborts_and_disarms() -> None:
    """The emulated radar dies while an engagement is under way: the engagement aborts on the
    radar's silence, the arm request is dropped, nothing is launched, the rig ends SAFE."""
    settings = RunSettings(
        load_rig(EMULATE_RIG), load_scenario(ONE_INJECTED), ONE_INJECTED, 9.0, 5, armed=True
    )
    kill_radar = KillChildWhen("radar", lambda phase: phase is Phase.SLEWING)
    summary = summarize(asyncio.run(perform_run(settings, lambda _: [kill_radar])))
    assert kill_radar.killed
    assert summary["launch_requests"] == 0 and summary["final_launch_count"] == 0
    record = summary["engagement_log"][0]
    assert record["outcome"] == "aborted" and record["reason"].startswith("radar silent")
    assert summary["rig_final_state"] == "SAFE"
