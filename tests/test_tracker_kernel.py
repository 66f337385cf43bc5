"""The compiled tracker (``Tracker(kernel="numba")``, ``hil.tracking.kernels``) against its numpy
oracle (``kernel="numpy"``): on random frame sequences, the same associations, initiations,
successions, ids and statuses, and states/covariances within 1e-9 relative, step by step."""

from __future__ import annotations

import math

import numpy as np
import numpy.typing as npt
from hypothesis import given
from hypothesis import strategies as st

from hil.config.tracker import TrackerConfig
from hil.tracking import kernels
from hil.tracking.geometry import polar_to_enu, wrap_pi
from hil.tracking.imm import MotionModels, combine
from hil.tracking.measurement import PolarSensor, ekf_update
from hil.tracking.tracker import DetectionBatch, Tracker
from sim import coordinates

FloatArray = npt.NDArray[np.float64]
RELATIVE = 1e-9


def close(expected: FloatArray, actual: FloatArray) -> bool:
    """Every element within 1e-9 of the largest magnitude in its track's row (a covariance's
    tiny off-diagonal terms are sums of large cancelling ones: relative to the row's scale)."""
    if expected.shape != actual.shape:
        return False
    if not expected.size:
        return True
    rows = expected.reshape(len(expected), -1)
    scale = np.maximum(np.abs(rows).max(axis=1, keepdims=True), 1e-300)
    return bool((np.abs(rows - actual.reshape(rows.shape)) <= RELATIVE * scale).all())


def frames(
    seed: int, targets: int, scans: int, clutter: float, elevation: bool, velocity: bool, beam: bool
) -> list[DetectionBatch]:
    """A scan-by-scan (or, with ``beam``, dwell-by-dwell over a rotating beam) sequence of
    detections of straight-flying targets 2–30 km out, with misses and uniform clutter."""
    rng = np.random.default_rng(seed)
    position = np.column_stack(
        (
            rng.uniform(-20e3, 20e3, targets),
            rng.uniform(-20e3, 20e3, targets),
            rng.uniform(50, 3e3, targets),
        )
    )
    speed = rng.normal(0.0, 150.0, (targets, 3)) * np.array([1.0, 1.0, 0.05])
    out = []
    looks = scans * (8 if beam else 1)
    for k in range(looks):
        t = 0.125 * k if beam else float(k)
        p = position + speed * t
        slant = np.linalg.norm(p, axis=1)
        r = slant + rng.normal(0.0, 5.0, targets)
        az = np.arctan2(p[:, 0], p[:, 1]) + rng.normal(0.0, 1e-3, targets)
        el = np.arctan2(p[:, 2], np.hypot(p[:, 0], p[:, 1])) + rng.normal(0.0, 1e-3, targets)
        vr = np.einsum("ij,ij->i", p, speed) / slant + rng.normal(0.0, 1.0, targets)
        beam_az = None
        seen = rng.random(targets) < 0.9
        if beam:
            beam_az = float(wrap_pi(2.0 * math.pi * k / 8.0))
            seen &= np.abs(wrap_pi(az - beam_az)) <= math.pi / 8.0
        n_clutter = int(rng.poisson(clutter))
        out.append(
            DetectionBatch(
                t,
                np.r_[r[seen], rng.uniform(1e3, 3e4, n_clutter)],
                wrap_pi(np.r_[az[seen], rng.uniform(-math.pi, math.pi, n_clutter)]),
                np.r_[el[seen], rng.uniform(0.0, 0.2, n_clutter)] if elevation else None,
                np.r_[vr[seen], rng.normal(0.0, 50.0, n_clutter)] if velocity else None,
                beam_az,
                math.pi / 8.0 if beam else math.pi,
                truth_id=np.r_[np.flatnonzero(seen), np.full(n_clutter, -1)],
            )
        )
    return out


@given(
    seed=st.integers(0, 2**32 - 1),
    motion=st.sampled_from(["cv", "imm"]),
    targets=st.integers(0, 40),
    scans=st.integers(1, 8),
    clutter=st.floats(0.0, 8.0),
    elevation=st.booleans(),
    velocity=st.booleans(),
    beam=st.booleans(),
    iterations=st.integers(1, 3),
    gate_probability=st.sampled_from([0.99, 0.999, 0.9995]),
    site=st.tuples(st.floats(-50, 50), st.floats(-50, 50), st.floats(0, 10)),
    north=st.floats(-math.pi, math.pi),
)
def test_compiled_step_matches_the_numpy_oracle(
    seed: int,
    motion: str,
    targets: int,
    scans: int,
    clutter: float,
    elevation: bool,
    velocity: bool,
    beam: bool,
    iterations: int,
    gate_probability: float,
    site: tuple[float, float, float],
    north: float,
) -> None:
    config = TrackerConfig(
        motion="imm" if motion == "imm" else "cv",
        update_iterations=iterations,
        gate_probability=gate_probability,
        confirm_hits=2,
        confirm_window=3,
    )
    sensor = PolarSensor(site, north, elevation=elevation)
    oracle, compiled = Tracker(config, sensor, kernel="numpy"), Tracker(config, sensor)
    for frame in frames(seed, targets, scans, clutter, elevation, velocity, beam):
        expected, actual = oracle.step(frame), compiled.step(frame)
        assert actual == expected  # associations, initiations, successions, counts
        assert np.array_equal(compiled.ids, oracle.ids)
        assert np.array_equal(compiled.status, oracle.status)
        assert np.array_equal(compiled.history, oracle.history)
        assert np.array_equal(compiled.misses, oracle.misses)
        assert np.array_equal(compiled.looks, oracle.looks)
        for name in ("state", "covariance", "mode_state", "mode_covariance", "mode_probability"):
            assert close(getattr(oracle, name), getattr(compiled, name)), name
        assert np.array_equal(compiled.t_update, oracle.t_update)


@given(
    seed=st.integers(0, 2**32 - 1),
    tracks=st.integers(1, 12),
    turn=st.booleans(),
    dt=st.floats(0.0, 30.0),
    vertical=st.booleans(),
)
def test_predict_kernel_matches_motion_models(
    seed: int, tracks: int, turn: bool, dt: float, vertical: bool
) -> None:
    """``kernels.predict_rows`` on a plain row table against ``MotionModels.predict`` and
    ``combine``."""
    rates = (0.0, 0.05, -0.05) if turn else (0.0,)
    models = MotionModels(rates, (5.0,) * len(rates), 20.0, 0.8, vertical)
    m = models.count
    rng = np.random.default_rng(seed)
    mode_x = rng.normal(0.0, 1e3, (tracks, m, 6))
    a = rng.normal(0.0, 10.0, (tracks, m, 6, 6))
    mode_p = a @ a.transpose(0, 1, 3, 2) + np.eye(6)
    mu = rng.dirichlet(np.ones(m), tracks)
    table = np.zeros((tracks, kernels.O_PROBABILITY + m * 43))
    table[:, kernels.O_T_UPDATE] = -dt
    table[:, kernels.O_PROBABILITY : kernels.O_PROBABILITY + m] = mu
    start = kernels.O_PROBABILITY + m
    table[:, start : start + 6 * m] = mode_x.reshape(tracks, -1)
    table[:, start + 6 * m :] = mode_p.reshape(tracks, -1)
    rows = np.arange(tracks, dtype=np.int64)
    got = kernels.predict_rows(table, rows, 0.0, np.array(rates), models_q(models), 20.0, vertical)
    want_x, want_p, want_c = models.predict(mode_x, mode_p, mu, np.full(tracks, dt))
    x, p = combine(want_x, want_p, want_c)
    for expected, actual in zip((want_x, want_p, want_c, x, p), got, strict=True):
        assert close(expected, actual)


def models_q(models: MotionModels) -> FloatArray:
    return np.asarray(models.process_noise_m2_s3, dtype=np.float64)


@given(
    seed=st.integers(0, 2**32 - 1),
    tracks=st.integers(1, 10),
    elevation=st.booleans(),
    velocity=st.booleans(),
    iterations=st.integers(1, 4),
)
def test_update_kernel_matches_ekf_update(
    seed: int, tracks: int, elevation: bool, velocity: bool, iterations: int
) -> None:
    """``kernels.update_rows`` (one model) against ``ekf_update`` on plain arrays, loose priors
    included (they iterate)."""
    rng = np.random.default_rng(seed)
    sensor = PolarSensor((3.0, -2.0, 1.0), 0.2, elevation=elevation)
    config = TrackerConfig()
    noise = config.noise(elevation, velocity)
    x = np.column_stack(
        (
            rng.uniform(-2e4, 2e4, (tracks, 2)),
            rng.uniform(100, 3e3, tracks),
            rng.normal(0, 200, (tracks, 3)),
        )
    )
    a = rng.normal(0.0, 1.0, (tracks, 6, 6)) * rng.choice([1.0, 30.0, 300.0], (tracks, 1, 1))
    p = a @ a.transpose(0, 2, 1) + np.eye(6)
    z_true, _ = sensor.predict_measurement(x + rng.normal(0, 50, x.shape), with_velocity=velocity)
    z = z_true + rng.normal(0, 1, z_true.shape) * np.sqrt(np.diag(noise))
    z[:, 1] = wrap_pi(z[:, 1])
    z_hat, jac = sensor.predict_measurement(x, with_velocity=velocity)
    want = ekf_update(x, p, z, noise, sensor, iterations, (z_hat, jac))
    table = np.zeros((tracks, kernels.O_PROBABILITY + 43))
    rows = np.arange(tracks, dtype=np.int64)
    kernels.update_rows(
        table, rows, x[:, None], p[:, None], np.ones((tracks, 1)), z, z_hat, jac, noise,
        np.asarray(sensor.position_enu_m), sensor.north_alignment_rad, elevation, velocity,
        iterations, 7.0,
    )  # fmt: skip
    assert close(want.state, table[:, :6])
    assert close(want.covariance, table[:, 6:42].reshape(tracks, 6, 6))
    assert (table[:, kernels.O_T_UPDATE] == 7.0).all()


@given(
    angle=st.floats(-1e3, 1e3),
    r=st.floats(0.0, 1e5),
    bearing=st.floats(-10.0, 10.0),
    el=st.floats(-1.5, 1.5),
)
def test_geometry_is_sim_coordinates_to_the_bit(
    angle: float, r: float, bearing: float, el: float
) -> None:
    """``hil.tracking.geometry`` copies two helpers of ``sim.coordinates`` so the tracker loads
    nothing outside its package: the copies must give the same bits."""
    assert wrap_pi(angle) == coordinates.wrap_pi(angle)
    assert np.array_equal(polar_to_enu(r, bearing, el), coordinates.polar_to_enu(r, bearing, el))
