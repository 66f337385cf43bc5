"""Tracker speed and accuracy against Stone Soup and FilterPy, and the loop's latency.

Named cases (``--cases``, default all), each one seeded scenario generator per size whose
detections go unchanged to all three trackers, with the trackers' settings matched to it:

- ``short-3d``: N constant-velocity targets 3-18 km ground range from a radar at the origin
  (random headings, 100-300 m/s, 500-3000 m up), range σ 5 m, azimuth and elevation σ 1 mrad,
  clutter uniform in slant range 1-20 km; white-noise acceleration q = 5 m²/s³, 99.9 % χ² gate,
  confirmation on three hits in a row, a tentative track deleted at its first miss. 20 scans,
  scored from scan 5, GOSPA cut-off 200 m (40 σ of range, ~13 σ cross-range at 15 km).
- ``long-2d``: a 2-D radar (range and bearing only) at the origin, targets 20-80 km ground range
  (uniform in range) at altitude 0, range σ 20 m, bearing σ 0.1°, clutter uniform in area over
  the 15-85 km annulus; q = 1 m²/s³, gate probability 1 − e^−4.5 ≈ 0.98889 (d < 3 for the
  2-D innovation), 3-of-5 confirmation, a tentative track deleted after 2 consecutive misses.
  Positions compared in (east, north).
- ``long-3d``: the same in 3-D: altitude 500-10,000 m, elevation σ 0.1°, clutter uniform over
  the annulus and 0-12 km altitude, the same gate probability (χ² threshold ≈ 11.1 for the
  3-D innovation), the same confirmation and deletion.

Common to all: 1 s whole-scan updates, Pd 0.95, Poisson clutter of mean 50 per scan, no radial
velocity, initial speed σ 150 m/s, a confirmed track deleted after 3 consecutive misses. The
long cases run 30 scans and are scored from scan 8: 3-of-5 confirmation with a 2-miss gap
allowed takes up to 5 looks (hit, miss, hit, miss, hit) from a target's first detection, and at
0.1° (cross-range σ 35-140 m) a new track's cross-range velocity needs a few more scans to settle,
so scans 8-29 measure the steady state, not the start-up. Their GOSPA cut-off is c = 1000 m:
cross-range σ is ~140 m at 80 km, so a 200 m cut-off would count good tracks as missed, while
1000 m (≥ 7 σ everywhere, far below the ~4 km mean target spacing at N = 1000) still counts a
track on clutter or on the wrong target as false.

The trackers (``--trackers``, default all three; each run in a spawned child process):

- ``hil``: this project's batched tracker (hil.tracking.Tracker), constant velocity, iterated
  EKF (3 steps), the gate given as a probability, M-of-N confirmation with
  ``confirm_hits``/``confirm_window``, ``delete_tentative_after_misses`` and
  ``delete_after_misses`` as above; a 2-D ``PolarSensor(elevation=False)`` for long-2d.
- ``stonesoup``: Stone Soup's MultiTargetTracker: EKF, CV per axis
  (CombinedLinearGaussianTransitionModel), CartesianToBearingRange (4-D state) or
  CartesianToElevationBearingRange (6-D), Mahalanobis DistanceHypothesiser with
  missed_distance = √threshold, GNNWith2DAssignment, MultiMeasurementInitiator. Its run is capped
  (``--peer-cap-s``) and the scans it finished are reported. Confirmation/deletion mapping: the
  initiator confirms a held track once it holds ``min_points`` = M updates in total (the
  initiating detection is one), with no window; held tracks are deleted by
  UpdateTimeStepsDeleter(k) after k consecutive scans without an update. With M = 3 and k = 2
  every surviving pattern reaches 3 hits within 5 looks (worst: hit, miss, hit, miss, hit), so it
  is exactly our 3-of-5 with the 2-miss deletion; with k = 1 it is three in a row, as short-3d
  wants. Confirmed tracks: UpdateTimeStepsDeleter(3), exactly 3 consecutive misses. As in hil,
  confirmed tracks are associated first and held tracks get the detections they left.
- ``filterpy``: one FilterPy ExtendedKalmanFilter per track (dim_x 4 or 6) in a Python loop, the
  same χ² gate, global-nearest-neighbour assignment (scipy), confirmed tracks first and tentative
  ones with the detections left (as hil and Stone Soup do), and the rules stated above exactly:
  a hit-history bitmask of the last N looks (the initiating detection is the first hit),
  confirmed when ≥ M bits are set, a tentative track deleted after
  ``delete_tentative_after_misses`` consecutive misses, a confirmed one after
  ``delete_after_misses``. With these settings a tentative track still alive after N looks is
  always confirmed, so hil's ``confirm_within_looks`` never binds.

Reported per case × tracker × size: ms per scan (median and p95, the first scan left out as
warm-up), peak memory the run added (MiB, max RSS of the child process), and over the scored
scans GOSPA (p = 2, α = 2, the case's cut-off) as the mean distance and per target (√(d²/N)),
**missed targets per scan** and **false tracks per scan** (the means of GOSPA's ``missed`` and
``false`` parts), and **targets never confirmed** (truth targets never within the cut-off of any
estimate in any scored scan). A capped peer is also compared over the scans every tracker
finished. At the end, per case and size, whether the goals of issue 10 hold (facts, not
assertions): hil GOSPA ≤ the better peer's (strictly, and as better / tie / worse with a tie
band of ±0.1 %, ``TIE_FRACTION``), hil missed per scan ≤ the better peer's (both over the scored
scans every tracker finished), hil ≤ 10 ms/scan at 1,000 targets, and hil ≥ 10× faster than
FilterPy (median ms/scan).

Then the loop: ``hil run``'s sim mode on the 100-target raid (100 frames/s, one frame per
dwell), frame-to-command latency p50/p99/max (``--loop-duration-s 0`` leaves it out).

    .venv/bin/python benchmarks/tracker_bench.py        # every case at 10, 100, 1000 targets
    .venv/bin/python benchmarks/tracker_bench.py --cases long-2d long-3d --sizes 100 1000 \\
        --peer-cap-s 120
    .venv/bin/python benchmarks/tracker_bench.py --cases long-2d --sizes 10 --scans 15 \\
        --trackers stonesoup filterpy --loop-duration-s 0

The last line of output is one JSON object with every figure. Exit status 0; 2 with one line
for a bad argument; 1 with one line when ``hil`` is asked for but this checkout's tracker lacks the
API of issue 10 (``--trackers stonesoup filterpy`` runs the peers alone).
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import datetime
import inspect
import json
import math
import multiprocessing
import resource
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import numpy as np
import numpy.typing as npt
from scipy.optimize import linear_sum_assignment
from scipy.stats import chi2

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

FloatArray = npt.NDArray[np.float64]
PD = 0.95
CLUTTER_PER_SCAN = 50.0
SCAN_S = 1.0
INITIAL_SPEED_SIGMA_MPS = 150.0
LONG_GATE_PROBABILITY = 1.0 - math.exp(-4.5)
"""≈ 0.98889: Mahalanobis distance d < 3 for a 2-D innovation (χ² with 2 dof < 9)."""
PEERS = ("stonesoup", "filterpy")


@dataclass(frozen=True)
class Case:
    """One scenario and the settings every tracker gets for it (SI units, ENU, radar at 0)."""

    name: str
    dims: Literal[2, 3]
    """Position dimensions: 2 = a range/bearing radar and targets at altitude 0."""
    ground_range_m: tuple[float, float]
    altitude_m: tuple[float, float]
    clutter: Literal["slant-range", "annulus"]
    """``slant-range``: uniform in slant range over ``clutter_range_m`` and in elevation over
    0-0.3 rad; ``annulus``: uniform in area over ``clutter_range_m`` as ground range (and in
    altitude over 0-12 km in 3-D)."""
    clutter_range_m: tuple[float, float]
    sigma_range_m: float
    sigma_angle_rad: float
    """Azimuth (and elevation) σ."""
    process_noise_m2_s3: float
    gate_probability: float
    confirm_hits: int
    confirm_window: int
    confirm_within_looks: int
    delete_tentative_after_misses: int
    delete_after_misses: int
    gospa_cutoff_m: float
    default_scans: int
    score_from_scan: int
    common_from_scan: int
    """First scan of the like-for-like comparison with a capped peer (every tracker can have
    confirmed a target seen from scan 0 by then)."""

    @property
    def gate_chi2(self) -> float:
        """χ² threshold of the gate for this case's innovation (2 or 3 measured dimensions)."""
        return float(chi2.ppf(self.gate_probability, self.dims))

    def settings(self) -> dict[str, Any]:
        return dataclasses.asdict(self) | {"gate_chi2": round(self.gate_chi2, 3)}


CASES: dict[str, Case] = {
    case.name: case
    for case in (
        Case(
            name="short-3d",
            dims=3,
            ground_range_m=(3000.0, 18000.0),
            altitude_m=(500.0, 3000.0),
            clutter="slant-range",
            clutter_range_m=(1000.0, 20000.0),
            sigma_range_m=5.0,
            sigma_angle_rad=1e-3,
            process_noise_m2_s3=5.0,
            gate_probability=0.999,
            # three hits in a row: with 50 clutter detections a scan, no radial velocity and
            # 1 s scans, two hits confirm about one clutter pair a scan in every tracker
            confirm_hits=3,
            confirm_window=3,
            confirm_within_looks=4,
            delete_tentative_after_misses=1,
            delete_after_misses=3,
            gospa_cutoff_m=200.0,
            default_scans=20,
            score_from_scan=5,
            common_from_scan=3,
        ),
        Case(
            name="long-2d",
            dims=2,
            ground_range_m=(20000.0, 80000.0),
            altitude_m=(0.0, 0.0),
            clutter="annulus",
            clutter_range_m=(15000.0, 85000.0),
            sigma_range_m=20.0,
            sigma_angle_rad=math.radians(0.1),
            process_noise_m2_s3=1.0,
            gate_probability=LONG_GATE_PROBABILITY,
            confirm_hits=3,
            confirm_window=5,
            confirm_within_looks=5,
            delete_tentative_after_misses=2,
            delete_after_misses=3,
            gospa_cutoff_m=1000.0,
            default_scans=30,
            score_from_scan=8,
            common_from_scan=3,
        ),
    )
}
CASES["long-3d"] = dataclasses.replace(CASES["long-2d"], name="long-3d", dims=3,
                                       altitude_m=(500.0, 10000.0))  # fmt: skip
CLUTTER_CEILING_M = 12000.0
"""Top of the 3-D long-range clutter volume."""


@dataclass(frozen=True)
class Scan:
    t_s: float
    range_m: FloatArray
    az_rad: FloatArray
    """Clockwise from north."""
    el_rad: FloatArray | None
    """``None`` for a 2-D radar."""
    truth_enu_m: FloatArray
    """(N, dims): every target, the same row each scan."""


def make_scans(case: Case, n_targets: int, n_scans: int, seed: int) -> list[Scan]:
    """The case's seeded detections (short-3d draws exactly what the single-case version did)."""
    rng = np.random.default_rng(seed)
    ground = rng.uniform(*case.ground_range_m, n_targets)
    bearing = rng.uniform(0.0, 2 * math.pi, n_targets)
    up = rng.uniform(*case.altitude_m, n_targets) if case.dims == 3 else np.zeros(n_targets)
    position = np.column_stack((ground * np.sin(bearing), ground * np.cos(bearing), up))
    heading = rng.uniform(0.0, 2 * math.pi, n_targets)
    speed = rng.uniform(100.0, 300.0, n_targets)
    velocity = np.column_stack(
        (speed * np.sin(heading), speed * np.cos(heading), np.zeros(n_targets))
    )
    sigma_r, sigma_a = case.sigma_range_m, case.sigma_angle_rad
    scans = []
    for k in range(n_scans):
        t = k * SCAN_S
        truth = position + velocity * t
        seen = truth[rng.random(n_targets) < PD]
        r = np.linalg.norm(seen, axis=1) + rng.normal(0, sigma_r, len(seen))
        az = np.arctan2(seen[:, 0], seen[:, 1]) + rng.normal(0, sigma_a, len(seen))
        el: FloatArray | None = None
        if case.dims == 3:
            el = np.arcsin(seen[:, 2] / np.linalg.norm(seen, axis=1))
            el = el + rng.normal(0, sigma_a, len(seen))
        n_clutter = rng.poisson(CLUTTER_PER_SCAN)
        if case.clutter == "slant-range":
            r = np.concatenate((r, rng.uniform(*case.clutter_range_m, n_clutter)))
            az = np.concatenate((az, rng.uniform(-math.pi, math.pi, n_clutter)))
            assert el is not None
            el = np.concatenate((el, rng.uniform(0.0, 0.3, n_clutter)))
        else:
            inner, outer = case.clutter_range_m
            ground_c = np.sqrt(rng.uniform(inner**2, outer**2, n_clutter))
            az = np.concatenate((az, rng.uniform(-math.pi, math.pi, n_clutter)))
            if el is None:
                r = np.concatenate((r, ground_c))
            else:
                up_c = rng.uniform(0.0, CLUTTER_CEILING_M, n_clutter)
                r = np.concatenate((r, np.hypot(ground_c, up_c)))
                el = np.concatenate((el, np.arctan2(up_c, ground_c)))
        order = rng.permutation(len(r))
        scans.append(
            Scan(t, r[order], az[order], None if el is None else el[order], truth[:, : case.dims])
        )
    return scans


def polar_to_enu(r: FloatArray, az: FloatArray, el: FloatArray) -> FloatArray:
    horizontal = r * np.cos(el)
    return np.column_stack((horizontal * np.sin(az), horizontal * np.cos(az), r * np.sin(el)))


# --- the three trackers: each returns confirmed positions (N, dims) after every scan --------


def hil_api_missing() -> str | None:
    """What of the tracker API of issue 10 this checkout lacks, or ``None`` if it has it all."""
    try:
        from hil.config.tracker import TrackerConfig
        from hil.tracking.measurement import PolarSensor
        from hil.tracking.tracker import DetectionBatch
    except ImportError as error:
        return str(error)
    missing = [
        f"TrackerConfig.{name}"
        for name in ("gate_probability", "delete_tentative_after_misses", "confirm_within_looks")
        if name not in TrackerConfig.model_fields
    ]
    if "elevation" not in {f.name for f in dataclasses.fields(PolarSensor)}:
        missing.append("PolarSensor(elevation=...)")
    frame_defaults = {f.name: f.default for f in dataclasses.fields(DetectionBatch)}
    if frame_defaults.get("el_rad", dataclasses.MISSING) is not None:
        missing.append("DetectionBatch.el_rad = None")
    if frame_defaults.get("vr_mps", dataclasses.MISSING) is not None:
        missing.append("DetectionBatch.vr_mps = None")
    return ", ".join(missing) or None


def run_hil(case: Case, scans: list[Scan], kernel: str = "numba") -> Iterator[FloatArray]:
    missing = hil_api_missing()
    if missing:
        raise RuntimeError(f"the hil tracker API of issue 10 is missing ({missing})")
    from hil.config.tracker import TrackerConfig
    from hil.tracking.measurement import PolarSensor
    from hil.tracking.tracker import DetectionBatch, Tracker

    config = TrackerConfig(
        use_radial_velocity=False,
        process_noise_m2_s3=case.process_noise_m2_s3,
        sigma_range_m=case.sigma_range_m,
        sigma_az_rad=case.sigma_angle_rad,
        sigma_el_rad=case.sigma_angle_rad,  # ignored by a 2-D sensor
        gate_probability=case.gate_probability,
        initial_speed_sigma_mps=INITIAL_SPEED_SIGMA_MPS,
        confirm_hits=case.confirm_hits,
        confirm_window=case.confirm_window,
        confirm_within_looks=case.confirm_within_looks,
        delete_tentative_after_misses=case.delete_tentative_after_misses,
        delete_after_misses=case.delete_after_misses,
        update_iterations=3,
        motion="cv",
    )
    sensor = PolarSensor((0.0, 0.0, 0.0), 0.0, elevation=False) if case.dims == 2 else PolarSensor()
    # a checkout from before issue 24 has no kernel switch (and only the numpy tracker)
    options = {"kernel": kernel} if "kernel" in inspect.signature(Tracker).parameters else {}
    tracker = Tracker(config, sensor, **options)
    for scan in scans:
        if scan.el_rad is None:
            tracker.step(DetectionBatch(scan.t_s, scan.range_m, scan.az_rad))
        else:
            tracker.step(DetectionBatch(scan.t_s, scan.range_m, scan.az_rad, scan.el_rad))
        yield tracker.tracks_at(scan.t_s).position_enu_m[:, : case.dims]


def run_stonesoup(case: Case, scans: list[Scan]) -> Iterator[FloatArray]:
    from stonesoup.dataassociator.neighbour import GNNWith2DAssignment
    from stonesoup.deleter.time import UpdateTimeStepsDeleter
    from stonesoup.hypothesiser.distance import DistanceHypothesiser
    from stonesoup.initiator.simple import MultiMeasurementInitiator
    from stonesoup.measures import Mahalanobis
    from stonesoup.models.measurement.nonlinear import (
        CartesianToBearingRange,
        CartesianToElevationBearingRange,
    )
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

    dims = case.dims
    sigma_a2, sigma_r2 = case.sigma_angle_rad**2, case.sigma_range_m**2
    # state [e, ve, n, vn(, u, vu)]; measurement [(elevation,) bearing, range]
    transition = CombinedLinearGaussianTransitionModel(
        [ConstantVelocity(case.process_noise_m2_s3)] * dims
    )
    measurement: CartesianToBearingRange | CartesianToElevationBearingRange
    if dims == 3:
        measurement = CartesianToElevationBearingRange(
            ndim_state=6, mapping=(0, 2, 4), noise_covar=np.diag([sigma_a2, sigma_a2, sigma_r2])
        )
    else:
        measurement = CartesianToBearingRange(
            ndim_state=4, mapping=(0, 2), noise_covar=np.diag([sigma_a2, sigma_r2])
        )
    predictor = ExtendedKalmanPredictor(transition)
    updater = ExtendedKalmanUpdater(measurement)
    hypothesiser = DistanceHypothesiser(
        predictor, updater, measure=Mahalanobis(), missed_distance=math.sqrt(case.gate_chi2)
    )
    associator = GNNWith2DAssignment(hypothesiser)
    speed2 = INITIAL_SPEED_SIGMA_MPS**2
    initiator = MultiMeasurementInitiator(
        prior_state=GaussianState(StateVector([0.0] * 2 * dims), np.diag([0, speed2] * dims)),
        measurement_model=measurement,
        deleter=UpdateTimeStepsDeleter(case.delete_tentative_after_misses),
        data_associator=GNNWith2DAssignment(hypothesiser),
        updater=updater,
        min_points=case.confirm_hits,
    )
    epoch = datetime.datetime(2026, 1, 1)

    def vector(r: float, a: float, e: float | None) -> Any:
        # Stone Soup's bearing is counter-clockwise from east: π/2 − azimuth
        if e is None:
            return StateVector([Bearing(math.pi / 2 - a), r])
        return StateVector([Elevation(e), Bearing(math.pi / 2 - a), r])

    class Detector:
        def __iter__(self) -> Iterator[tuple[datetime.datetime, set[Detection]]]:
            for scan in scans:
                when = epoch + datetime.timedelta(seconds=scan.t_s)
                el: Sequence[float | None] = (
                    [None] * len(scan.range_m) if scan.el_rad is None else scan.el_rad.tolist()
                )
                yield (
                    when,
                    {
                        Detection(vector(r, a, e), timestamp=when, measurement_model=measurement)
                        for r, a, e in zip(
                            scan.range_m.tolist(), scan.az_rad.tolist(), el, strict=True
                        )
                    },
                )

    tracker = MultiTargetTracker(
        initiator=initiator,
        deleter=UpdateTimeStepsDeleter(case.delete_after_misses),
        detector=Detector(),
        data_associator=associator,
        updater=updater,
    )
    position_rows = [0, 2, 4][:dims]
    for _, tracks in tracker:
        yield np.array([np.asarray(t.state_vector).ravel()[position_rows] for t in tracks]).reshape(
            -1, dims
        )


def run_filterpy(case: Case, scans: list[Scan]) -> Iterator[FloatArray]:
    from filterpy.kalman import ExtendedKalmanFilter

    dims = case.dims
    sigma_a, sigma_r = case.sigma_angle_rad, case.sigma_range_m
    gate = case.gate_chi2
    # state [position (dims), velocity (dims)]; measurement [range, azimuth(, elevation)]
    r_noise = np.diag([sigma_r**2] + [sigma_a**2] * (dims - 1))
    f = np.eye(2 * dims)
    f[:dims, dims:] = np.eye(dims) * SCAN_S
    block = case.process_noise_m2_s3 * np.array(
        [[SCAN_S**3 / 3, SCAN_S**2 / 2], [SCAN_S**2 / 2, SCAN_S]]
    )
    q = np.zeros((2 * dims, 2 * dims))
    for axis in range(dims):
        q[np.ix_([axis, axis + dims], [axis, axis + dims])] = block

    def hx(x: FloatArray) -> FloatArray:
        if dims == 2:
            e, n = x[0], x[1]
            return np.array([math.sqrt(e * e + n * n), math.atan2(e, n)])
        e, n, u = x[0], x[1], x[2]
        rng = math.sqrt(e * e + n * n + u * u)
        return np.array([rng, math.atan2(e, n), math.asin(u / rng)])

    def h_jacobian(x: FloatArray) -> FloatArray:
        h = np.zeros((dims, 2 * dims))
        if dims == 2:
            e, n = x[0], x[1]
            g2 = e * e + n * n
            g = math.sqrt(g2)
            h[0, :2] = [e / g, n / g]
            h[1, :2] = [n / g2, -e / g2]
            return h
        e, n, u = x[0], x[1], x[2]
        g2 = e * e + n * n
        r2 = g2 + u * u
        rng, g = math.sqrt(r2), math.sqrt(g2)
        h[0, :3] = [e / rng, n / rng, u / rng]
        h[1, :2] = [n / g2, -e / g2]
        h[2, :3] = [-e * u / (r2 * g), -n * u / (r2 * g), g / r2]
        return h

    def residual(a: FloatArray, b: FloatArray) -> FloatArray:
        y = a - b
        y[1] = (y[1] + math.pi) % (2 * math.pi) - math.pi
        return y

    def unit_vector(z: FloatArray) -> FloatArray:
        if dims == 2:
            return np.array([math.sin(z[1]), math.cos(z[1])])
        unit: FloatArray = polar_to_enu(np.ones(1), z[1:2], z[2:3])[0]
        return unit

    window_mask = (1 << case.confirm_window) - 1

    @dataclass
    class FTrack:
        kf: Any
        history: int = 1
        """Bit i: a hit in the i-th most recent look; the initiating detection is a hit."""
        misses: int = 0
        confirmed: bool = False

    tracks: list[FTrack] = []
    for scan in scans:
        columns = [scan.range_m, scan.az_rad] + ([] if scan.el_rad is None else [scan.el_rad])
        z = np.column_stack(columns)
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
            cost[i] = np.where(d2 < gate, d2, 1e9)
        # confirmed tracks choose first, tentative ones share the detections left (as hil and
        # Stone Soup do): a tentative track cannot take a confirmed track's detection
        assigned_det = np.full(len(tracks), -1)
        free = np.ones(len(z), bool)
        confirmed = np.array([t.confirmed for t in tracks], bool)
        for rows_in_stage in (np.flatnonzero(confirmed), np.flatnonzero(~confirmed)):
            if not len(rows_in_stage) or not free.any():
                continue
            columns_free = np.flatnonzero(free)
            stage_cost = cost[np.ix_(rows_in_stage, columns_free)]
            rows, cols = linear_sum_assignment(stage_cost)
            ok = stage_cost[rows, cols] < gate
            assigned_det[rows_in_stage[rows[ok]]] = columns_free[cols[ok]]
            free[columns_free[cols[ok]]] = False
        used = set(np.flatnonzero(~free).tolist())
        survivors = []
        for track, det in zip(tracks, assigned_det, strict=True):
            hit = det >= 0
            track.history = ((track.history << 1) | int(hit)) & window_mask
            if hit:
                track.kf.update(
                    z[det][:, None],
                    lambda x: h_jacobian(x[:, 0]),
                    lambda x: hx(x[:, 0])[:, None],
                    residual=residual,
                )
                track.misses = 0
                track.confirmed |= track.history.bit_count() >= case.confirm_hits
            else:
                track.misses += 1
            limit = (
                case.delete_after_misses if track.confirmed else case.delete_tentative_after_misses
            )
            if track.misses < limit:
                survivors.append(track)
        tracks = survivors
        for det in range(len(z)):
            if det in used:
                continue
            kf = ExtendedKalmanFilter(dim_x=2 * dims, dim_z=dims)
            unit = unit_vector(z[det])
            kf.x = np.concatenate((unit * z[det, 0], np.zeros(dims)))[:, None]
            across = (z[det, 0] * sigma_a) ** 2
            outer = np.outer(unit, unit)
            p = np.zeros((2 * dims, 2 * dims))
            p[:dims, :dims] = across * (np.eye(dims) - outer) + sigma_r**2 * outer
            p[dims:, dims:] = np.eye(dims) * INITIAL_SPEED_SIGMA_MPS**2
            kf.P, kf.R = p, r_noise
            tracks.append(FTrack(kf))
        yield np.array([t.kf.x[:dims, 0] for t in tracks if t.confirmed]).reshape(-1, dims)


def run_hil_numpy(case: Case, scans: list[Scan]) -> Iterator[FloatArray]:
    """The hil tracker's plain numpy implementation (``kernel="numpy"``, the oracle of the
    compiled one, issue 24): old and new side by side in one run."""
    return run_hil(case, scans, kernel="numpy")


TRACKERS: dict[str, Callable[[Case, list[Scan]], Iterator[FloatArray]]] = {
    "hil": run_hil,
    "hil-numpy": run_hil_numpy,
    "stonesoup": run_stonesoup,
    "filterpy": run_filterpy,
}


# --- measuring -------------------------------------------------------------------------------


def measure(
    case_name: str, name: str, n_targets: int, n_scans: int, seed: int, cap_s: float
) -> dict[str, Any]:
    """Run one tracker on one case and size in this (child) process."""
    from hil.tracking.metrics import gospa

    case = CASES[case_name]
    cutoff = case.gospa_cutoff_m
    scans = make_scans(case, n_targets, n_scans, seed)
    rss_before_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    times: list[float] = []
    by_scan: list[float] = []
    missed_by_scan: list[int] = []
    false_by_scan: list[int] = []
    ever_near = np.zeros(n_targets, bool)
    run = TRACKERS[name](case, scans)
    started = time.perf_counter()
    for k, scan in enumerate(scans):
        t0 = time.perf_counter()
        estimates = next(run)
        if k:  # the first scan pays one-off costs (lazy imports, allocations)
            times.append(time.perf_counter() - t0)
        score = gospa(scan.truth_enu_m, estimates, cutoff)
        by_scan.append(score.distance)
        missed_by_scan.append(score.missed)
        false_by_scan.append(score.false)
        if k >= case.score_from_scan and len(estimates):
            gap = scan.truth_enu_m[:, None, :] - estimates[None, :, :]
            ever_near |= (np.einsum("ijk,ijk->ij", gap, gap) < cutoff**2).any(axis=1)
        if time.perf_counter() - started > cap_s:
            break
    times = times or [math.nan]
    peak_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    ms = np.array(times) * 1e3
    scored = slice(case.score_from_scan, k + 1)
    distances = by_scan[scored]
    has_scores = bool(distances)

    def mean_or_none(values: list[int] | list[float], digits: int) -> float | None:
        return round(float(np.mean(values)), digits) if values else None

    return {
        "case": case_name,
        "tracker": name,
        "targets": n_targets,
        "scans": k + 1,
        "capped": k + 1 < n_scans,
        "ms_per_scan_median": round(float(np.median(ms)), 3),
        "ms_per_scan_p95": round(float(np.percentile(ms, 95)), 3),
        "peak_memory_added_mib": round((peak_kib - rss_before_kib) / 1024, 1),
        "gospa_mean_m": mean_or_none(distances, 1),
        "gospa_per_target_m": round(math.sqrt(float(np.mean(np.square(distances))) / n_targets), 2)
        if has_scores
        else None,
        "missed_per_scan": mean_or_none(missed_by_scan[scored], 2),
        "false_per_scan": mean_or_none(false_by_scan[scored], 2),
        "targets_never_confirmed": int(np.count_nonzero(~ever_near)) if has_scores else None,
        "gospa_by_scan_m": [round(d, 2) for d in by_scan],
        "missed_by_scan": missed_by_scan,
        "false_by_scan": false_by_scan,
    }


def measure_in_child(
    case_name: str, name: str, n: int, scans: int, seed: int, cap_s: float
) -> dict[str, Any]:
    context = multiprocessing.get_context("spawn")
    with context.Pool(1) as pool:
        return pool.apply(measure, (case_name, name, n, scans, seed, cap_s))


def mean_over(values: list[float] | list[int], scans: range) -> float | None:
    return round(float(np.mean([values[k] for k in scans])), 2) if len(scans) else None


def goals(case: Case, n: int, results: list[dict[str, Any]]) -> dict[str, Any]:
    """Whether issue 10's goals hold for one case and size (facts for the report, not checks).

    Accuracy is compared over the scored scans every tracker finished, so a capped peer is
    judged on the same scans as hil; a peer capped before the first scored scan (Stone Soup at
    1,000 targets) is left out of it and named in ``peers_left_out``."""
    by_name = {r["tracker"]: r for r in results}
    hil = by_name.get("hil")
    ran = [by_name[p] for p in PEERS if p in by_name]
    peers = [p for p in ran if p["scans"] > case.score_from_scan]
    entry: dict[str, Any] = {
        "case": case.name,
        "targets": n,
        "peers_left_out": [p["tracker"] for p in ran if p not in peers],
    }
    if hil is None or not peers:
        entry["note"] = "needs hil and a peer that reached the scored scans"
        return entry
    scored = range(case.score_from_scan, min(r["scans"] for r in (hil, *peers)))
    entry["scans_compared"] = [scored.start, scored.stop - 1]
    for key, figure in (("gospa", "gospa_by_scan_m"), ("missed", "missed_by_scan")):
        ours = mean_over(hil[figure], scored)
        theirs = {p["tracker"]: mean_over(p[figure], scored) for p in peers}
        best = min(v for v in theirs.values() if v is not None)
        entry[f"hil_{key}"] = ours
        entry[f"peers_{key}"] = theirs
        entry[f"{key}_le_best_peer"] = ours is not None and ours <= best
        entry[f"{key}_verdict"] = compare(ours, best)
    ms = hil["ms_per_scan_median"]
    entry["hil_ms_per_scan"] = ms
    entry["ms_per_scan_le_10_at_1000"] = ms <= 10.0 if n >= 1000 else None
    filterpy = by_name.get("filterpy")
    speedup = filterpy["ms_per_scan_median"] / ms if filterpy and ms > 0 else None
    entry["speedup_vs_filterpy"] = None if speedup is None else round(speedup, 1)
    entry["speedup_ge_10"] = None if speedup is None else speedup >= 10.0
    numpy_run = by_name.get("hil-numpy")
    if numpy_run is not None:  # issue 24: the compiled tracker against its numpy oracle
        entry["hil_numpy_ms_per_scan"] = numpy_run["ms_per_scan_median"]
        entry["speedup_vs_hil_numpy"] = round(numpy_run["ms_per_scan_median"] / ms, 1)
        if filterpy:
            entry["hil_numpy_speedup_vs_filterpy"] = round(
                filterpy["ms_per_scan_median"] / numpy_run["ms_per_scan_median"], 1
            )
        for key, figure in (("gospa", "gospa_by_scan_m"), ("missed", "missed_by_scan")):
            entry[f"hil_numpy_{key}"] = mean_over(numpy_run[figure], scored)
    return entry


TIE_FRACTION = 1e-3
"""Within ±0.1 % of the best peer is reported as a tie beside the strict comparison: with the
same models on the same detections, trackers differ there only by floating-point order and
which of two near-equal assignments each picks, not by anything a bench would notice."""


def compare(ours: float | None, best: float) -> str:
    """``better`` / ``tie`` / ``worse`` against the best peer (lower is better)."""
    if ours is None:
        return "n/a"
    if ours < best * (1 - TIE_FRACTION) or (best == 0 and ours < best):
        return "better"
    if ours <= best * (1 + TIE_FRACTION) or ours == best:
        return "tie"
    return "worse"


def describe_goals(entry: dict[str, Any]) -> str:
    head = f"{entry['case']:<9} {entry['targets']:>5} targets  goals: "
    if "note" in entry:
        return head + str(entry["note"])

    def verdict(held: bool | None) -> str:
        return "n/a" if held is None else ("yes" if held else "NO")

    left_out = (
        f" ({', '.join(entry['peers_left_out'])} capped before scan {entry['scans_compared'][0]})"
        if entry["peers_left_out"]
        else ""
    )
    return head + (
        f"scans {entry['scans_compared'][0]}-{entry['scans_compared'][1]}{left_out}: "
        f"GOSPA ≤ best peer {verdict(entry['gospa_le_best_peer'])}, {entry['gospa_verdict']} "
        f"({entry['hil_gospa']} vs {entry['peers_gospa']}), "
        f"missed/scan ≤ best peer {verdict(entry['missed_le_best_peer'])} "
        f"({entry['hil_missed']} vs {entry['peers_missed']}), "
        f"≤ 10 ms/scan at 1000 {verdict(entry['ms_per_scan_le_10_at_1000'])} "
        f"({entry['hil_ms_per_scan']} ms), "
        f"≥ 10× FilterPy {verdict(entry['speedup_ge_10'])} ({entry['speedup_vs_filterpy']}×)"
        + (
            f"; numpy tracker {entry['hil_numpy_ms_per_scan']} ms/scan "
            f"({entry['speedup_vs_hil_numpy']}× slower, "
            f"{entry.get('hil_numpy_speedup_vs_filterpy')}× FilterPy; "
            f"GOSPA {entry['hil_numpy_gospa']}, missed/scan {entry['hil_numpy_missed']})"
            if "hil_numpy_ms_per_scan" in entry
            else ""
        )
    )


def loop_latency(duration_s: float) -> dict[str, Any]:
    from hil.config.loader import load_rig, load_scenario
    from hil.rig.base import RunSettings
    from hil.run.perform import perform_run
    from hil.run.summary import summarize

    scenario = ROOT / "configs" / "scenarios" / "raid-100.toml"
    settings = RunSettings(
        load_rig(ROOT / "configs" / "rigs" / "sim.toml"),
        load_scenario(scenario),
        scenario,
        duration_s,
        0,
        False,
    )
    summary = summarize(asyncio.run(perform_run(settings)))
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


def positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be a whole number ≥ 1, got {text!r}")
    return value


def non_negative_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not (math.isfinite(value) and value >= 0):
        raise argparse.ArgumentTypeError(f"must be a finite number ≥ 0, got {text!r}")
    return value


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--cases", nargs="+", choices=list(CASES), default=list(CASES))
    parser.add_argument(
        "--trackers",
        nargs="+",
        choices=list(TRACKERS),
        default=["hil", *PEERS],
        help="hil-numpy: hil's plain numpy implementation beside the compiled one (issue 24)",
    )
    parser.add_argument("--sizes", type=positive_int, nargs="+", default=[10, 100, 1000])
    parser.add_argument(
        "--scans",
        type=positive_int,
        default=None,
        help="scans per run, every case (default: each case's own, 20 short, 30 long)",
    )
    parser.add_argument("--seed", type=int, default=2026)
    parser.add_argument(
        "--peer-cap-s",
        type=non_negative_float,
        default=300.0,
        help="run-time cap per peer run (Stone Soup needs ~6 scans' worth at 1000 targets)",
    )
    parser.add_argument(
        "--loop-duration-s",
        type=non_negative_float,
        default=30.0,
        help="duration of the loop-latency run (0: leave it out)",
    )
    return parser.parse_args(argv)


def main() -> None:
    args = parse_args()
    trackers = [name for name in TRACKERS if name in args.trackers]
    if "hil" in trackers and (missing := hil_api_missing()):
        sys.exit(
            f"tracker_bench: the hil tracker API of issue 10 is missing on this checkout "
            f"({missing}); run the peers alone with --trackers stonesoup filterpy"
        )
    results: list[dict[str, Any]] = []
    goal_entries: list[dict[str, Any]] = []
    for case_name in [name for name in CASES if name in args.cases]:
        case = CASES[case_name]
        n_scans = args.scans or case.default_scans
        for n in args.sizes:
            size_results = []
            for name in trackers:
                cap = math.inf if name == "hil" else args.peer_cap_s
                r = measure_in_child(case_name, name, n, n_scans, args.seed, cap)
                size_results.append(r)
                print(
                    f"{case_name:<9} {n:>5} targets  {name:<10} "
                    f"{r['ms_per_scan_median']:>10.2f} ms/scan (p95 {r['ms_per_scan_p95']:.2f})  "
                    f"{r['scans']:>3} scans{' (capped)' if r['capped'] else ''}  "
                    f"+{r['peak_memory_added_mib']} MiB  GOSPA {r['gospa_mean_m']} m "
                    f"({r['gospa_per_target_m']} m/target)  missed {r['missed_per_scan']}/scan  "
                    f"false {r['false_per_scan']}/scan  never confirmed "
                    f"{r['targets_never_confirmed']}",
                    flush=True,
                )
            # a capped peer finished fewer scans: compare everyone over the scans all finished
            common = range(case.common_from_scan, min(r["scans"] for r in size_results))
            for r in size_results:
                r["gospa_common_m"] = mean_over(r["gospa_by_scan_m"], common)
                r["missed_common_per_scan"] = mean_over(r["missed_by_scan"], common)
            if any(r["capped"] for r in size_results) and len(common):
                print(
                    f"{case_name:<9} {n:>5} targets  over scans {common.start}-{common.stop - 1}, "
                    "which every tracker finished: "
                    + ", ".join(
                        f"{r['tracker']} GOSPA {r['gospa_common_m']} m, "
                        f"missed {r['missed_common_per_scan']}/scan"
                        for r in size_results
                    )
                )
            results.extend(size_results)
            goal_entries.append(goals(case, n, size_results))
    for entry in goal_entries:
        print(describe_goals(entry))
    loop = None
    if args.loop_duration_s > 0:
        loop = loop_latency(args.loop_duration_s)
        print(
            f"loop (sim, raid-100, 100 frames/s): {loop['frames']} frames, "
            f"{loop['tracks_confirmed']} tracks, frame→command latency p50 "
            f"{loop['latency_p50_ms']} ms, p99 {loop['latency_p99_ms']} ms, "
            f"max {loop['latency_max_ms']} ms"
        )
    print(
        json.dumps(
            {
                "benchmark": "tracker",
                "cases": {name: CASES[name].settings() for name in args.cases},
                "trackers": results,
                "goals": goal_entries,
                "loop": loop,
            }
        )
    )


if __name__ == "__main__":
    main()
