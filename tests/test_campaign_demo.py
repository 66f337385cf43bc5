"""The main job's demo campaign (configs/campaigns/demo.toml) in emulation, as CI runs it: the
real drivers against the emulated radar (pty) and PLC (loopback TCP), then a sim sweep."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import xmlschema
from cli_support import hil
from conftest import DATA


@pytest.mark.timeout(300)
def test_demo_campaign_passes_in_emulation(tmp_path: Path) -> None:
    done = hil("campaign", "run", "--out", str(tmp_path), "--json", timeout_s=280)
    outcome = json.loads(done.stdout.strip().splitlines()[-1])
    results = json.loads(Path(outcome["results"]).read_text())
    cases = {case["name"]: case for case in results["cases"]}
    assert set(cases) == {"injected-and-real", "estop", "radar-disconnect", "sim-sweep"}
    xmlschema.XMLSchema(DATA / "junit-10.xsd").validate(outcome["junit"])
    launch = cases["injected-and-real"]["runs"][0]["measurements"]
    assert launch["launches"] >= 1 and launch['launches{source="injected"}'] >= 1
    assert cases["sim-sweep"]["verdict"] == "pass" and len(cases["sim-sweep"]["runs"]) == 20
    estop = cases["estop"]["runs"][0]["measurements"]
    assert (estop["launches"], estop["rig_final_arm_state"]) == (0, "SAFE")
    disconnect = cases["radar-disconnect"]["runs"][0]["measurements"]
    assert disconnect["radar_reconnects"] >= 1 and disconnect["devices_lost"] == 0
    assert disconnect["frames"] >= 1100  # frames kept arriving after the disconnect
    assert {name: case["verdict"] for name, case in cases.items()} == dict.fromkeys(cases, "pass")
    assert done.returncode == 0, done.stderr
    assert outcome["report"] and Path(outcome["report"]).stat().st_size > 0
    # (its wall time, under the two minutes, is benchmarks/campaign_bench.py's figure)
