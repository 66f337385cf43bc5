"""The whole loop in ``sim`` mode: deterministic, arms only when told, launches on threats,
and keeps every detection's source tag from the frame to the engagement log."""

from __future__ import annotations

import asyncio
from pathlib import Path

import numpy as np
import pytest
from conftest import CONFIGS

from hil.config.loader import load_rig, load_scenario
from hil.config.scenario import ScenarioConfig
from hil.loop.injection import Injector, TaggedFrame, frame_from_dwell
from hil.loop.sim_scenario import build_targets, radar_parameters, scan_pattern
from hil.rig.base import RunSettings, resite
from hil.run.perform import RunResult, perform_run
from hil.run.summary import summarize
from sim.coordinates import wrap_pi
from sim.sensor import RadarSensor

SIM_RIG = CONFIGS / "rigs" / "sim.toml"
SCENARIO = CONFIGS / "scenarios" / "defended-site.toml"


def sim_run(seed: int, armed: bool, duration_s: float = 40.0) -> RunResult:
    settings = RunSettings(
        load_rig(SIM_RIG), load_scenario(SCENARIO), SCENARIO, duration_s, seed, armed
    )
    return asyncio.run(perform_run(settings))


def test_same_seed_same_tracks_and_commands() -> None:
    a, b, c = sim_run(3, True, 20.0), sim_run(3, True, 20.0), sim_run(4, True, 20.0)
    assert a.loop.digest == b.loop.digest
    assert a.loop.digest != c.loop.digest
    sa, sb = summarize(a), summarize(b)
    for key in ("frames", "tracks_confirmed", "launches", "gospa_mean_m", "engagement_log"):
        assert sa[key] == sb[key], key


def test_armed_run_launches_on_every_threat_and_ends_safe() -> None:
    summary = summarize(sim_run(0, True))
    assert summary["launches"] == 3 and summary["launch_requests_refused"] == 0
    log = summary["engagement_log"]
    assert {r["truth_id"] for r in log if r["outcome"] == "launched"} == {0, 1, 2}
    # sources: target 0 is seen by the radar model, 1 and 2 are injected
    assert {r["truth_id"]: r["source"] for r in log} == {0: "real", 1: "injected", 2: "injected"}
    assert summary["rig_final_state"] == "SAFE" and summary["fire_suppressed"] == 0
    assert summary["id_switches"] == 0
    assert summary["gospa_mean_m"] < 80.0 and summary["rmse_m"] < 40.0
    assert summary["time_to_confirm_mean_s"] < 5.0


def test_unarmed_run_never_arms_or_requests() -> None:
    result = sim_run(0, False)
    summary = summarize(result)
    assert summary["launch_requests"] == 0 and summary["launches"] == 0
    assert summary["engagements"] >= 1
    assert "operator_armed" in summary["engagement_log"][0]["interlocks_failing_at_end"]
    assert summary["final_launch_count"] == 0 and summary["rig_final_state"] == "SAFE"


def _injection_setup() -> tuple[ScenarioConfig, Injector]:
    rig = load_rig(SIM_RIG)
    scenario = resite(load_scenario(SCENARIO), rig)
    return scenario, Injector(scenario, seed=1)


def test_injected_targets_appear_only_in_dwells_whose_beam_covers_them() -> None:
    scenario, injector = _injection_setup()
    scan = scan_pattern(scenario.radar)
    params = radar_parameters(scenario.radar)
    injected = build_targets(scenario, "injected")
    half_beam = 0.5 * params.beamwidth_az_rad
    seen: set[int] = set()
    for t in scan.dwell_centres(0.0, 12.0).tolist():
        pose = scan.pose_at(t)
        empty = TaggedFrame(
            t, t, pose.scan_id, pose.az_rad, pose.el_rad, pose.sweep_rad,
            *(np.empty(0) for _ in range(4)), np.empty(0, bool), np.empty(0, np.int64), 0.0,
        )  # fmt: skip
        merged = injector.inject(empty)
        truth = injected.state_at(t)
        d = truth.position_enu_m - np.asarray(params.position_enu_m)
        bearing = np.arctan2(d[:, 0], d[:, 1]) - params.north_alignment_rad
        covered = np.abs(wrap_pi(bearing - pose.az_rad)) <= half_beam + 0.5 * pose.sweep_rad
        covered_ids = set(truth.target_id[covered & truth.alive].tolist())
        assert merged.injected.all() and set(merged.truth_id.tolist()) <= covered_ids
        # each injected detection lies where its target is
        for k, tid in enumerate(merged.truth_id.tolist()):
            row = int(np.flatnonzero(truth.target_id == tid)[0])
            assert merged.range_m[k] == pytest.approx(np.linalg.norm(d[row]), abs=30.0)
        seen |= set(merged.truth_id.tolist())
    assert seen == {1, 2}  # both injected targets were seen within 12 s (4 revolutions)


def test_injection_keeps_the_real_detections_and_their_tags() -> None:
    scenario, injector = _injection_setup()
    params = radar_parameters(scenario.radar)
    sensor = RadarSensor(params)
    scan = scan_pattern(scenario.radar)
    real = build_targets(scenario, "real")
    rng = np.random.default_rng(0)
    merged_frames = 0  # frames holding both real and injected detections
    for t in scan.dwell_centres(5.0, 15.0).tolist():
        pose = scan.pose_at(t)
        dwell = sensor.observe(pose, real.state_at(t), rng)
        frame = frame_from_dwell(dwell, t, t, 0.0)
        merged = injector.inject(frame)
        n = len(frame)
        np.testing.assert_array_equal(merged.range_m[:n], frame.range_m)
        assert not merged.injected[:n].any() and merged.injected[n:].all()
        np.testing.assert_array_equal(merged.truth_id[:n], dwell.truth_id)
        merged_frames += len(merged) > n > 0
    assert merged_frames >= 1


def test_defended_site_scenario_has_real_and_injected_targets() -> None:
    scenario = load_scenario(SCENARIO)
    assert len(build_targets(scenario, "real")) == 1
    assert len(build_targets(scenario, "injected")) == 2
    assert Path(SCENARIO).exists()
