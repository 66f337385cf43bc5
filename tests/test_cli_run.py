"""``hil run`` as an operator uses it: summary keys, bench connection errors, the fallback."""

from __future__ import annotations

import json
import socket
from pathlib import Path

import pytest
from conftest import CONFIGS
from test_loop_emulate import ONE_INJECTED, REQUIRED_KEYS, hil_run

SIM_RIG = CONFIGS / "rigs" / "sim.toml"


def test_sim_run_json_summary() -> None:
    done = hil_run("--rig", str(SIM_RIG), "--duration", "10", "--json")
    assert done.returncode == 0, done.stderr
    summary = json.loads(done.stdout.strip().splitlines()[-1])
    assert summary.keys() >= REQUIRED_KEYS
    assert (summary["mode"], summary["seed"], summary["armed"]) == ("sim", 0, False)
    assert summary["frames"] == 1000  # 10 s of 10 ms dwells
    assert summary["launches"] == 0 and summary["launch_requests"] == 0
    assert summary["rig_final_state"] == "SAFE"


def test_text_summary_names_what_happened() -> None:
    done = hil_run("--rig", str(SIM_RIG), "--duration", "30", "--arm")
    assert done.returncode == 0, done.stderr
    assert "ARMED" in done.stdout and "launches" in done.stdout
    assert "engagement track" in done.stdout and "rig final state: SAFE" in done.stdout


def _unused_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def missing_bench(tmp_path: Path) -> Path:
    """A bench rig file whose radar and PLC are not there."""
    rig = tmp_path / "missing-bench.toml"
    rig.write_text(
        "[rig]\nname = 'missing'\nmode = 'bench'\n\n"
        f"[radar]\nurl = '{tmp_path / 'ttyNOPE'}'\n\n"
        f"[plc]\nhost = '127.0.0.1'\nport = {_unused_port()}\ntimeout_s = 0.1\nretries = 0\n"
    )
    return rig


def test_missing_bench_device_is_a_clear_error(missing_bench: Path) -> None:
    done = hil_run("--rig", str(missing_bench), "--scenario", str(ONE_INJECTED), "--duration", "2")
    assert done.returncode == 1
    assert "radar at" in done.stderr and "did not come up" in done.stderr
    assert "allow_emulation_fallback" in done.stderr
    assert done.stdout == ""


def test_fallback_to_emulation_says_so_loudly(missing_bench: Path) -> None:
    done = hil_run(
        "--rig", str(missing_bench), "--scenario", str(ONE_INJECTED), "--duration", "3",
        "--set", "rig.allow_emulation_fallback=true", "--json",
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    summary = json.loads(done.stdout.strip().splitlines()[-1])
    assert summary["mode"] == "bench"
    assert summary["emulated_devices"] == ["radar", "plc"]
    assert any("EMULATED radar" in note for note in summary["notes"])
    assert any("EMULATED plc" in note for note in summary["notes"])
    assert "EMULATED" in done.stderr  # and logged as a warning while running
    text = hil_run(
        "--rig", str(missing_bench), "--scenario", str(ONE_INJECTED), "--duration", "2",
        "--set", "rig.allow_emulation_fallback=true",
    )  # fmt: skip
    assert text.stdout.startswith("!!! EMULATION FALLBACK: radar, plc emulated")


def test_bad_rig_override_names_the_field() -> None:
    done = hil_run("--rig", str(SIM_RIG), "--set", "fire_control.interceptor_speed_mps=-5")
    assert done.returncode == 2
    assert "fire_control.interceptor_speed_mps" in done.stderr
