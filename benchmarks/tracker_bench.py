"""Tracker speed and accuracy against Stone Soup and FilterPy, and the loop's latency.

One seeded scenario per size: N constant-velocity targets 3-18 km from a radar at the origin
(random headings, 100-300 m/s, 500-3000 m up), whole-scan updates once a second with polar
measurements (range σ 5 m, azimuth and elevation σ 1 mrad, no radial velocity), Pd 0.95 and
Poisson clutter of mean 50 per scan. The same detections go to

- ``hil``: this project's batched tracker (hil.tracking.Tracker, constant velocity);
- ``stonesoup``: Stone Soup's MultiTargetTracker with an EKF, Mahalanobis DistanceHypothesiser
  and GNNWith2DAssignment, MultiMeasurementInitiator (its run is capped; the scans it finished
  are reported);
- ``filterpy``: one FilterPy ExtendedKalmanFilter per track in a Python loop, the same gate,
  a global-nearest-neighbour assignment (scipy) and the same M-of-N logic.

All three use the same motion model (white-noise acceleration, q = 5 m²/s³), measurement noise,
99.9 % χ² gate and confirmation on three consecutive hits. Reported per tracker and size: ms per
scan (median and p95 over scans, the first scan left out as warm-up), peak memory the run added
(MiB, from the max RSS of the child process each run gets), and GOSPA (p = 2, c = 200 m,
α = 2) averaged over scans 5.. as the mean distance and per target, √(d²/N).

Then the loop: ``hil run``'s sim mode on the 100-target raid (100 frames/s, one frame per
dwell), frame-to-command latency p50/p99/max.

    .venv/bin/python benchmarks/tracker_bench.py              # 10, 100, 1000 targets
    .venv/bin/python benchmarks/tracker_bench.py --sizes 10 --scans 8 --peer-cap-s 10

The last line of output is one JSON object with every figure.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime
import json
import math
import multiprocessing
import resource
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from scipy.optimize import linear_sum_assignment

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

SIGMA_RANGE_M = 5.0
SIGMA_ANGLE_RAD = 1e-3
PD = 0.95
CLUTTER_PER_SCAN = 50.0
SCAN_S = 1.0
Q_M2_S3 = 5.0
GATE_CHI2_3DOF = 16.27  # 99.9 %
INITIAL_SPEED_SIGMA_MPS = 150.0
CONFIRM_HITS = 3
"""Three hits in a row: with 50 clutter detections a scan, no radial velocity and a 1 s scan,
two hits confirm about one clutter pair a scan in every tracker."""
GOSPA_CUTOFF_M = 200.0
SCORE_FROM_SCAN = 5
COMMON_FROM_SCAN = 3
"""First scan of the like-for-like comparison with a capped peer (3 hits confirm at scan 2)."""


@dataclass(frozen=True)
class Scan:
    t_s: float
    range_m: np.ndarray
    az_rad: np.ndarray
    """Clockwise from north."""
    el_rad: np.ndarray
    truth_enu_m: np.ndarray


def make_scans(n_targets: int, n_scans: int, seed: int) -> list[Scan]:
    rng = np.random.default_rng(seed)
    ground = rng.uniform(3000.0, 18000.0, n_targets)
    bearing = rng.uniform(0.0, 2 * math.pi, n_targets)
    position = np.column_stack(
        (ground * np.sin(bearing), ground * np.cos(bearing), rng.uniform(500, 3000, n_targets))
    )
    heading = rng.uniform(0.0, 2 * math.pi, n_targets)
    speed = rng.uniform(100.0, 300.0, n_targets)
    velocity = np.column_stack(
        (speed * np.sin(heading), speed * np.cos(heading), np.zeros(n_targets))
    )
    scans = []
    for k in range(n_scans):
        t = k * SCAN_S
        truth = position + velocity * t
        seen = truth[rng.random(n_targets) < PD]
        r = np.linalg.norm(seen, axis=1) + rng.normal(0, SIGMA_RANGE_M, len(seen))
        az = np.arctan2(seen[:, 0], seen[:, 1]) + rng.normal(0, SIGMA_ANGLE_RAD, len(seen))
        el = np.arcsin(seen[:, 2] / np.linalg.norm(seen, axis=1))
        el = el + rng.normal(0, SIGMA_ANGLE_RAD, len(seen))
        n_clutter = rng.poisson(CLUTTER_PER_SCAN)
        r = np.concatenate((r, rng.uniform(1000.0, 20000.0, n_clutter)))
        az = np.concatenate((az, rng.uniform(-math.pi, math.pi, n_clutter)))
        el = np.concatenate((el, rng.uniform(0.0, 0.3, n_clutter)))
        order = rng.permutation(len(r))
        scans.append(Scan(t, r[order], az[order], el[order], truth))
    return scans


def polar_to_enu(r: np.ndarray, az: np.ndarray, el: np.ndarray) -> np.ndarray:
    horizontal = r * np.cos(el)
    return np.column_stack((horizontal * np.sin(az), horizontal * np.cos(az), r * np.sin(el)))


# --- the three trackers: each returns confirmed ENU positions after every scan --------------


def run_hil(scans: list[Scan]) -> Iterator[np.ndarray]:
    from hil.config.tracker import TrackerConfig
    from hil.tracking.measurement import PolarSensor
    from hil.tracking.tracker import RadarFrame, Tracker

    config = TrackerConfig(
        use_radial_velocity=False,
        process_noise_m2_s3=Q_M2_S3,
        sigma_range_m=SIGMA_RANGE_M,
        sigma_az_rad=SIGMA_ANGLE_RAD,
        sigma_el_rad=SIGMA_ANGLE_RAD,
        gate_probability=0.999,
        initial_speed_sigma_mps=INITIAL_SPEED_SIGMA_MPS,
        confirm_hits=CONFIRM_HITS,
        confirm_window=CONFIRM_HITS,
        delete_tentative_after_misses=1,
    )
    tracker = Tracker(config, PolarSensor())
    for scan in scans:
        zeros = np.zeros(len(scan.range_m))
        tracker.step(RadarFrame(scan.t_s, scan.range_m, scan.az_rad, scan.el_rad, zeros))
        yield tracker.tracks_at(scan.t_s).position_enu_m


def run_stonesoup(scans: list[Scan]) -> Iterator[np.ndarray]:
    from stonesoup.dataassociator.neighbour import GNNWith2DAssignment
    from stonesoup.deleter.time import UpdateTimeStepsDeleter
    from stonesoup.hypothesiser.distance import DistanceHypothesiser
    from stonesoup.initiator.simple import MultiMeasurementInitiator
    from stonesoup.measures import Mahalanobis
    from stonesoup.models.measurement.nonlinear import CartesianToElevationBearingRange
    from stonesoup.models.transition.linear import (
        CombinedLinearGaussianTransitionModel,
        ConstantVelocity,
    )
    from stonesoup.predictor.kalman import ExtendedKalmanPredictor
    from stonesoup.tracker.simple import MultiTargetTracker
    from stonesoup.types.angle import Bearing, Elevation
    from stonesoup.types.array import StateVector
    from stonesoup.types.detection import Detection
    from stonesoup.types.state import GaussianState
    from stonesoup.updater.kalman import ExtendedKalmanUpdater

    transition = CombinedLinearGaussianTransitionModel([ConstantVelocity(Q_M2_S3)] * 3)
    measurement = CartesianToElevationBearingRange(
        ndim_state=6,
        mapping=(0, 2, 4),
        noise_covar=np.diag([SIGMA_ANGLE_RAD**2, SIGMA_ANGLE_RAD**2, SIGMA_RANGE_M**2]),
    )
    predictor = ExtendedKalmanPredictor(transition)
    updater = ExtendedKalmanUpdater(measurement)
    hypothesiser = DistanceHypothesiser(
        predictor, updater, measure=Mahalanobis(), missed_distance=math.sqrt(GATE_CHI2_3DOF)
    )
    associator = GNNWith2DAssignment(hypothesiser)
    speed2 = INITIAL_SPEED_SIGMA_MPS**2
    initiator = MultiMeasurementInitiator(
        prior_state=GaussianState(
            StateVector([0.0] * 6), np.diag([0, speed2, 0, speed2, 0, speed2])
        ),
        measurement_model=measurement,
        deleter=UpdateTimeStepsDeleter(1),
        data_associator=GNNWith2DAssignment(hypothesiser),
        updater=updater,
        min_points=CONFIRM_HITS,
    )
    epoch = datetime.datetime(2026, 1, 1)

    class Detector:
        def __iter__(self) -> Iterator[tuple[datetime.datetime, set[Detection]]]:
            for scan in scans:
                when = epoch + datetime.timedelta(seconds=scan.t_s)
                # Stone Soup's bearing is counter-clockwise from east: π/2 − azimuth
                yield (
                    when,
                    {
                        Detection(
                            StateVector([Elevation(e), Bearing(math.pi / 2 - a), r]),
                            timestamp=when,
                            measurement_model=measurement,
                        )
                        for r, a, e in zip(scan.range_m, scan.az_rad, scan.el_rad, strict=True)
                    },
                )

    tracker = MultiTargetTracker(
        initiator=initiator,
        deleter=UpdateTimeStepsDeleter(3),
        detector=Detector(),
        data_associator=associator,
        updater=updater,
    )
    for _, tracks in tracker:
        yield np.array([np.asarray(t.state_vector).ravel()[[0, 2, 4]] for t in tracks]).reshape(
            -1, 3
        )


def run_filterpy(scans: list[Scan]) -> Iterator[np.ndarray]:
    from filterpy.kalman import ExtendedKalmanFilter

    r_noise = np.diag([SIGMA_RANGE_M**2, SIGMA_ANGLE_RAD**2, SIGMA_ANGLE_RAD**2])
    f = np.eye(6)
    f[:3, 3:] = np.eye(3) * SCAN_S
    block = Q_M2_S3 * np.array([[SCAN_S**3 / 3, SCAN_S**2 / 2], [SCAN_S**2 / 2, SCAN_S]])
    q = np.zeros((6, 6))
    for axis in range(3):
        q[np.ix_([axis, axis + 3], [axis, axis + 3])] = block

    def hx(x: np.ndarray) -> np.ndarray:
        e, n, u = x[0], x[1], x[2]
        rng = math.sqrt(e * e + n * n + u * u)
        return np.array([rng, math.atan2(e, n), math.asin(u / rng)])

    def h_jacobian(x: np.ndarray) -> np.ndarray:
        e, n, u = x[0], x[1], x[2]
        g2 = e * e + n * n
        r2 = g2 + u * u
        rng, g = math.sqrt(r2), math.sqrt(g2)
        h = np.zeros((3, 6))
        h[0, :3] = [e / rng, n / rng, u / rng]
        h[1, :2] = [n / g2, -e / g2]
        h[2, :3] = [-e * u / (r2 * g), -n * u / (r2 * g), g / r2]
        return h

    def residual(a: np.ndarray, b: np.ndarray) -> np.ndarray:
        y = a - b
        y[1] = (y[1] + math.pi) % (2 * math.pi) - math.pi
        return y

    @dataclass
    class FTrack:
        kf: Any
        hits: int = 1
        misses: int = 0
        confirmed: bool = False

    tracks: list[FTrack] = []
    for scan in scans:
        z = np.column_stack((scan.range_m, scan.az_rad, scan.el_rad))
        cost = np.full((len(tracks), len(z)), 1e9)
        for i, track in enumerate(tracks):
            kf = track.kf
            kf.F, kf.Q = f, q
            kf.predict()
            h = h_jacobian(kf.x[:, 0])
            s = h @ kf.P @ h.T + r_noise
            y = z - hx(kf.x[:, 0])
            y[:, 1] = (y[:, 1] + math.pi) % (2 * math.pi) - math.pi
            d2 = np.einsum("ki,ki->k", y, np.linalg.solve(s, y.T).T)
            cost[i] = np.where(d2 < GATE_CHI2_3DOF, d2, 1e9)
        assigned_det = np.full(len(tracks), -1)
        if len(tracks) and len(z):
            rows, cols = linear_sum_assignment(cost)
            ok = cost[rows, cols] < GATE_CHI2_3DOF
            assigned_det[rows[ok]] = cols[ok]
        used = set(assigned_det[assigned_det >= 0].tolist())
        survivors = []
        for track, det in zip(tracks, assigned_det, strict=True):
            if det >= 0:
                track.kf.update(
                    z[det][:, None],
                    lambda x: h_jacobian(x[:, 0]),
                    lambda x: hx(x[:, 0])[:, None],
                    residual=residual,
                )
                track.hits += 1
                track.misses = 0
                track.confirmed |= track.hits >= CONFIRM_HITS
            else:
                track.misses += 1
            if track.misses < (3 if track.confirmed else 1):
                survivors.append(track)
        tracks = survivors
        for det in range(len(z)):
            if det in used:
                continue
            kf = ExtendedKalmanFilter(dim_x=6, dim_z=3)
            unit = polar_to_enu(np.ones(1), z[det : det + 1, 1], z[det : det + 1, 2])[0]
            kf.x = np.concatenate((unit * z[det, 0], np.zeros(3)))[:, None]
            across = (z[det, 0] * SIGMA_ANGLE_RAD) ** 2
            outer = np.outer(unit, unit)
            p = np.zeros((6, 6))
            p[:3, :3] = across * (np.eye(3) - outer) + SIGMA_RANGE_M**2 * outer
            p[3:, 3:] = np.eye(3) * INITIAL_SPEED_SIGMA_MPS**2
            kf.P, kf.R = p, r_noise
            tracks.append(FTrack(kf))
        yield np.array([t.kf.x[:3, 0] for t in tracks if t.confirmed]).reshape(-1, 3)


TRACKERS: dict[str, Callable[[list[Scan]], Iterator[np.ndarray]]] = {
    "hil": run_hil,
    "stonesoup": run_stonesoup,
    "filterpy": run_filterpy,
}


def measure(name: str, n_targets: int, n_scans: int, seed: int, cap_s: float) -> dict[str, Any]:
    """Run one tracker on one scenario in this (child) process."""
    from hil.tracking.metrics import gospa

    scans = make_scans(n_targets, n_scans, seed)
    rss_before_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    times: list[float] = []
    distances: list[float] = []
    by_scan: list[float] = []
    run = TRACKERS[name](scans)
    started = time.perf_counter()
    for k, scan in enumerate(scans):
        t0 = time.perf_counter()
        estimates = next(run)
        if k:  # the first scan pays one-off costs (lazy imports, allocations)
            times.append(time.perf_counter() - t0)
        by_scan.append(gospa(scan.truth_enu_m, estimates, GOSPA_CUTOFF_M).distance)
        if k >= SCORE_FROM_SCAN:
            distances.append(by_scan[-1])
        if time.perf_counter() - started > cap_s:
            break
    times = times or [math.nan]
    peak_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    ms = np.array(times) * 1e3
    gospa_mean = float(np.mean(distances)) if distances else None
    return {
        "tracker": name,
        "targets": n_targets,
        "scans": k + 1,
        "capped": k + 1 < n_scans,
        "ms_per_scan_median": round(float(np.median(ms)), 3),
        "ms_per_scan_p95": round(float(np.percentile(ms, 95)), 3),
        "peak_memory_added_mib": round((peak_kib - rss_before_kib) / 1024, 1),
        "gospa_mean_m": None if gospa_mean is None else round(gospa_mean, 1),
        "gospa_per_target_m": None
        if gospa_mean is None
        else round(math.sqrt(float(np.mean(np.square(distances))) / n_targets), 2),
        "gospa_by_scan_m": [round(d, 2) for d in by_scan],
    }


def measure_in_child(name: str, n: int, scans: int, seed: int, cap_s: float) -> dict[str, Any]:
    context = multiprocessing.get_context("spawn")
    with context.Pool(1) as pool:
        return pool.apply(measure, (name, n, scans, seed, cap_s))


def loop_latency(duration_s: float) -> dict[str, Any]:
    from hil.campaign import CampaignSettings, run_campaign
    from hil.config.loader import load_rig, load_scenario
    from hil.run_summary import summarize

    scenario = ROOT / "configs" / "scenarios" / "raid-100.toml"
    settings = CampaignSettings(
        load_rig(ROOT / "configs" / "rigs" / "sim.toml"),
        load_scenario(scenario),
        scenario,
        duration_s,
        0,
        False,
    )
    summary = summarize(asyncio.run(run_campaign(settings)))
    return {
        key: summary[key]
        for key in (
            "frames",
            "tracks_confirmed",
            "latency_p50_ms",
            "latency_p99_ms",
            "latency_max_ms",
        )
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[10, 100, 1000])
    parser.add_argument("--scans", type=int, default=20)
    parser.add_argument("--seed", type=int, default=2026)
    parser.add_argument(
        "--peer-cap-s",
        type=float,
        default=300.0,
        help="run-time cap per peer run (Stone Soup needs ~6 scans' worth at 1000 targets)",
    )
    parser.add_argument("--loop-duration-s", type=float, default=30.0)
    args = parser.parse_args()
    results = []
    for n in args.sizes:
        size_results = []
        for name in TRACKERS:
            cap = math.inf if name == "hil" else args.peer_cap_s
            r = measure_in_child(name, n, args.scans, args.seed, cap)
            size_results.append(r)
            print(
                f"{n:>5} targets  {name:<10} {r['ms_per_scan_median']:>10.2f} ms/scan "
                f"(p95 {r['ms_per_scan_p95']:.2f})  {r['scans']:>3} scans"
                f"{' (capped)' if r['capped'] else ''}  +{r['peak_memory_added_mib']} MiB  "
                f"GOSPA {r['gospa_mean_m']} m ({r['gospa_per_target_m']} m/target)",
                flush=True,
            )
        # a capped peer finished fewer scans: compare everyone over the scans all finished
        common = range(COMMON_FROM_SCAN, min(r["scans"] for r in size_results))
        for r in size_results:
            r["gospa_common_m"] = (
                round(float(np.mean([r["gospa_by_scan_m"][k] for k in common])), 1)
                if len(common)
                else None
            )
        if any(r["capped"] for r in size_results) and len(common):
            print(
                f"{n:>5} targets  GOSPA over scans {common.start}-{common.stop - 1}, which "
                "every tracker finished: "
                + ", ".join(f"{r['tracker']} {r['gospa_common_m']} m" for r in size_results)
            )
        results.extend(size_results)
    loop = loop_latency(args.loop_duration_s)
    print(
        f"loop (sim, raid-100, 100 frames/s): {loop['frames']} frames, {loop['tracks_confirmed']} "
        f"tracks, frame→command latency p50 {loop['latency_p50_ms']} ms, p99 "
        f"{loop['latency_p99_ms']} ms, max {loop['latency_max_ms']} ms"
    )
    print(json.dumps({"benchmark": "tracker", "trackers": results, "loop": loop}))


if __name__ == "__main__":
    main()
