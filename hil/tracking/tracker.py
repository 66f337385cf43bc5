"""A multi-target tracker for the turntable radar: all tracks held as arrays, batched per frame.

State of every track lives in arrays — ``ids`` (N,), ``state`` (N, 6) ENU position/velocity at
``t_update`` (N,), ``covariance`` (N, 6, 6), per-model IMM states, hit history bits, consecutive
misses, status, the caller's source and truth id — stored as the rows of one float and one int
table (adding or deleting tracks is then two array operations; the named attributes are views),
and one ``step(frame)`` is a few batched stages:

1. **predict** the tracks the frame can see (inside its beam, or all for a whole-scan batch) to
   the frame time (CV, or IMM mixing + per-model prediction);
2. **coarse gate**: a k-d tree over the detections' ENU positions (or every pair directly, for a
   dwell's handful), with a per-track radius from its predicted position uncertainty, so cost
   grows with tracks + detections;
3. **fine gate**: Mahalanobis distance of the candidate pairs, batched, against a χ² threshold;
4. **associate**: global nearest neighbour — confirmed tracks first, then tentative ones with
   the detections left; ``linear_sum_assignment`` on the independent clusters of the gated pair
   graph (lone pairs directly, small problems in one solve), a track's miss costing the gate;
5. **update** assigned tracks with the batched EKF, **miss** the visible unassigned ones (a
   track outside the beam is not penalised), **initiate** tentative tracks from unassigned
   detections, **confirm** by M-of-N and **delete** after exactly the configured consecutive
   misses, or a confirmed track whose uncertainty has diverged relative to what the sensor
   resolves at its range (never an absolute number of metres, which would mean something
   different at 2 km and at 80 km).

Track states stay at their last update time; ``tracks_at(t)`` predicts them for output.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Literal

import numpy as np
import numpy.typing as npt
from scipy.spatial import cKDTree

from hil.tracking.association import associate_in_priority
from hil.tracking.geometry import polar_to_enu, wrap_pi
from hil.tracking.imm import MotionModels, combine, gaussian_log_likelihood
from hil.tracking.measurement import PolarSensor, ekf_update, innovation, mahalanobis2
from hil.tracking.motion import STATE_DIM, FloatArray

if TYPE_CHECKING:  # the caller builds it; the tracker needs no pydantic at run time
    from hil.config.tracker import TrackerConfig

IntArray = npt.NDArray[np.int64]
BoolArray = npt.NDArray[np.bool_]
TENTATIVE, CONFIRMED = 0, 1
INT_COLUMNS = 8
"""id, looks, history, misses, status, source, truth id, parent (the confirmed track it may
succeed, −1 for none)"""
BRUTE_FORCE_PAIRS = 1024
"""Below this many track × detection pairs the coarse gate compares every pair directly;
above it, a k-d tree keeps the cost near-linear in tracks + detections."""


@dataclass(frozen=True, slots=True)
class DetectionBatch:
    """Detections of one dwell (or one whole scan) in SI units, turntable-frame azimuths
    (rad, clockwise from the turntable's zero), slant ranges (m) from the antenna.

    ``el_rad`` (rad above the horizontal) is required by a 3-D sensor and ignored by a 2-D one
    (``PolarSensor(elevation=False)``). ``vr_mps`` (radial velocity, + receding) is optional:
    ``None`` when the radar does not measure it; the update then uses range and angles only.
    ``beam_az_rad``/``beam_half_width_rad`` describe what the beam covered (half width including
    the dwell's sweep); leave ``beam_az_rad`` as ``None`` for a whole-scan batch that covered
    every track.
    """

    t_s: float
    range_m: FloatArray
    az_rad: FloatArray
    el_rad: FloatArray | None = None
    vr_mps: FloatArray | None = None
    beam_az_rad: float | None = None
    beam_half_width_rad: float = math.pi
    source: IntArray | None = None
    """Optional caller's label per detection of where it came from (e.g. 0 radar, 1 injected);
    each track carries the source of its latest detection, −1 where none was given."""
    truth_id: IntArray | None = None
    """Optional ground-truth target id per detection (−1 for clutter); carried like ``source``."""


@dataclass(frozen=True, slots=True)
class TrackSnapshot:
    """Confirmed tracks at time ``t_s``: ids (K,), ENU positions (K, 3) m, velocities (K, 3) m/s,
    covariances (K, 6, 6) of [e, n, u, ve, vn, vu], and per track the ``source`` and
    ``truth_id`` of its latest detection (−1 where the frames gave none)."""

    t_s: float
    ids: IntArray
    position_enu_m: FloatArray
    velocity_enu_mps: FloatArray
    covariance: FloatArray
    source: IntArray
    truth_id: IntArray


@dataclass(slots=True)
class StepReport:
    assigned: int = 0
    initiated: int = 0
    deleted: int = 0
    confirmed: int = 0
    associations: list[tuple[int, int]] = field(default_factory=list)
    """(track id, detection index) pairs of this frame: updates..."""
    initiations: list[tuple[int, int]] = field(default_factory=list)
    """...and new tentative tracks, each from one detection."""
    successions: list[tuple[int, int]] = field(default_factory=list)
    """(tentative track id, confirmed track id): a deleted confirmed track's successor, which
    took over its id and confirmed status (see ``TrackerConfig.succession_gate_probability``)."""


class Tracker:
    """Global-nearest-neighbour tracker: an EKF per track, constant-velocity or IMM (see the
    module doc). Built from a :class:`TrackerConfig` and the antenna pose (``PolarSensor``)."""

    def __init__(
        self,
        config: TrackerConfig,
        sensor: PolarSensor,
        kernel: Literal["numba", "numpy"] = "numba",
    ) -> None:
        """``kernel``: ``numba`` runs the per-step hot path compiled (``hil.tracking.kernels``);
        ``numpy`` is the plain numpy implementation, the oracle the compiled one is tested
        against (same associations, states within 1e-9 relative)."""
        self.config = config
        self.sensor = sensor
        if kernel not in ("numba", "numpy"):
            raise ValueError(f"kernel must be 'numba' or 'numpy', not {kernel!r}")
        self.kernel = kernel
        self._compiled = kernel == "numba"
        if self._compiled:
            # numba is loaded only by a tracker that uses it, and every kernel once per
            # process, here: not inside the first loop cycle (hil.tracking.warm)
            from hil.tracking import initiation, kernels, maintenance, warm

            self._kernels = kernels
            self._initiation = initiation
            self._maintenance = maintenance
            if not warm.PRIMED:
                warm.prime()
        self.models = MotionModels(
            config.turn_rates_rad_s(),
            config.model_process_noise_m2_s3(),
            config.imm_mean_sojourn_s,
            config.imm_initial_cv_probability,
            vertical=sensor.elevation,
        )
        m = self.models.count
        # measurement noise and χ² gate per layout: with and without radial velocity
        self._noise = {v: config.noise(sensor.elevation, v) for v in (False, True)}
        self._gate_chi2 = {v: config.gate_chi2(len(self._noise[v])) for v in (False, True)}
        self._succession_chi2 = {
            v: config.succession_chi2(len(self._noise[v])) for v in (False, True)
        }
        # a copy: np.diag of a 2-D array is a read-only strided view, which the compiled
        # maintenance kernel would specialise for anew in the loop's first deletion check
        self._position_variance = np.diag(self._noise[False]).copy()
        # the compiled kernels' arguments, as arrays and plain floats once
        self._site = np.asarray(sensor.position_enu_m, dtype=np.float64)
        self._rates = np.asarray(self.models.turn_rates_rad_s, dtype=np.float64)
        self._qs = np.asarray(self.models.process_noise_m2_s3, dtype=np.float64)
        angle_sigma = config.sigma_az_rad
        if sensor.elevation:
            angle_sigma = max(angle_sigma, config.sigma_el_rad)
        self._angle_sigma = float(angle_sigma)
        self._initial_sigmas = np.array(
            [
                config.sigma_range_m,
                config.sigma_az_rad,
                config.sigma_el_rad,
                config.sigma_vr_mps,
                config.initial_speed_sigma_mps,
            ]
        )
        self._initial_probability = self.models.initial_probability()
        self._limits = np.array(
            [
                config.confirm_window,
                config.confirm_hits,
                config.delete_tentative_after_misses,
                config.delete_after_misses,
                config.confirm_within_looks,
            ],
            np.int64,
        )
        self._next_id = 0
        # Every track is one row of a float table and one row of an int table, so adding and
        # deleting tracks is two array operations; the named attributes below are views.
        s, c = STATE_DIM, STATE_DIM * STATE_DIM
        self._cols = {
            "state": (0, s),
            "covariance": (s, s + c),
            "t_update": (s + c, s + c + 1),
            "mode_probability": (s + c + 1, s + c + 1 + m),
            "mode_state": (s + c + 1 + m, s + c + 1 + m + m * s),
            "mode_covariance": (s + c + 1 + m + m * s, s + c + 1 + m + m * (s + c)),
        }
        # rows [0, _n) of the buffers are the live tracks; capacity grows by doubling
        self._n = 0
        self._float_buf = np.empty((64, self._cols["mode_covariance"][1]))
        self._int_buf = np.empty((64, INT_COLUMNS), np.int64)

    def __len__(self) -> int:
        return self._n

    @property
    def _float(self) -> FloatArray:
        return self._float_buf[: self._n]

    @property
    def _int(self) -> IntArray:
        return self._int_buf[: self._n]

    # --- the track table: views into the two row tables -------------------------------------

    def _f(self, name: str) -> FloatArray:
        start, stop = self._cols[name]
        return self._float[:, start:stop]

    @property
    def ids(self) -> IntArray:
        return self._int[:, 0]

    @property
    def looks(self) -> IntArray:
        """Frames in which each track could have been updated (inside the beam, with margin)."""
        return self._int[:, 1]

    @property
    def history(self) -> IntArray:
        """Bit i set: the track was detected in its i-th most recent look."""
        return self._int[:, 2]

    @property
    def misses(self) -> IntArray:
        return self._int[:, 3]

    @property
    def status(self) -> IntArray:
        return self._int[:, 4]

    @property
    def source(self) -> IntArray:
        """``DetectionBatch.source`` of each track's latest detection (−1: none given)."""
        return self._int[:, 5]

    @property
    def parent(self) -> IntArray:
        """Id of the confirmed track each tentative track may succeed (−1: none)."""
        return self._int[:, 7]

    @property
    def truth_id(self) -> IntArray:
        """``DetectionBatch.truth_id`` of each track's latest detection (−1: none given)."""
        return self._int[:, 6]

    @property
    def state(self) -> FloatArray:
        """The combined (moment-matched) ENU estimate (N, 6) of each track at ``t_update``."""
        return self._f("state")

    @property
    def covariance(self) -> FloatArray:
        return self._f("covariance").reshape(-1, STATE_DIM, STATE_DIM)

    @property
    def t_update(self) -> FloatArray:
        return self._f("t_update")[:, 0]

    @property
    def mode_probability(self) -> FloatArray:
        """Per-model probabilities (N, M) at ``t_update`` (model 0 is CV)."""
        return self._f("mode_probability")

    @property
    def mode_state(self) -> FloatArray:
        return self._f("mode_state").reshape(-1, self.models.count, STATE_DIM)

    @property
    def mode_covariance(self) -> FloatArray:
        return self._f("mode_covariance").reshape(-1, self.models.count, STATE_DIM, STATE_DIM)

    # --- the step ---------------------------------------------------------------------------

    def step(self, frame: DetectionBatch) -> StepReport:
        """Take one frame's detections: predict, gate, associate, update, maintain, initiate."""
        report = StepReport()
        z, velocity = self._measurements(frame)
        gate = self._gate_chi2[velocity]
        visible, expected = (
            self._visible_compiled(frame) if self._compiled else self._visible(frame)
        )
        rows = np.flatnonzero(visible)
        if not self._compiled:  # the compiled maintenance counts the looks
            self.looks[rows] += 1
        track_of = np.full(len(rows), -1, np.int64)
        det_of = np.full(len(z), -1, np.int64)
        parent_of = np.full(len(z), -1, np.int64)
        if len(rows) and len(z):  # most dwells of a rotating radar see neither
            if self._compiled:
                mode_x, mode_p, prior, x, p = self._kernels.predict_rows(
                    self._float,
                    rows,
                    frame.t_s,
                    self._rates,
                    self._qs,
                    self.models.mean_sojourn_s,
                    self.models.vertical,
                )
                pair_track, pair_det, cost, z_hat, jac = self._kernels.gate(
                    x,
                    p,
                    z,
                    self._site,
                    self.sensor.north_alignment_rad,
                    self.sensor.elevation,
                    velocity,
                    self._noise[velocity],
                    gate,
                    self.config.sigma_range_m,
                    self._angle_sigma,
                )
                linearised = (z_hat, jac)
            else:
                mode_x, mode_p, prior = self.models.predict(
                    self.mode_state[rows],
                    self.mode_covariance[rows],
                    self.mode_probability[rows],
                    frame.t_s - self.t_update[rows],
                )
                x, p = combine(mode_x, mode_p, prior)
                pair_track, pair_det, cost, linearised = self._gate(x, p, z, frame, velocity)
            track_of, det_of = self._associate_in_priority(
                rows, len(z), pair_track, pair_det, cost, gate
            )
            assigned = track_of >= 0
            hit_rows = rows[assigned]
            if len(hit_rows) and self._compiled:
                self._kernels.update_rows(
                    self._float,
                    hit_rows,
                    mode_x[assigned],
                    mode_p[assigned],
                    prior[assigned],
                    z[track_of[assigned]],
                    linearised[0][assigned],
                    linearised[1][assigned],
                    self._noise[velocity],
                    self._site,
                    self.sensor.north_alignment_rad,
                    self.sensor.elevation,
                    velocity,
                    self.config.update_iterations,
                    frame.t_s,
                )
            elif len(hit_rows):
                self._update(
                    hit_rows,
                    mode_x[assigned],
                    mode_p[assigned],
                    prior[assigned],
                    z[track_of[assigned]],
                    (linearised[0][assigned], linearised[1][assigned]),
                    self._noise[velocity],
                )
                self.t_update[hit_rows] = frame.t_s
            if len(hit_rows):
                if frame.source is not None:
                    self.source[hit_rows] = frame.source[track_of[assigned]]
                if frame.truth_id is not None:
                    self.truth_id[hit_rows] = frame.truth_id[track_of[assigned]]
                report.assigned = len(hit_rows)
                report.associations = list(
                    zip(self.ids[hit_rows].tolist(), track_of[assigned].tolist(), strict=True)
                )
            parent_of = self._successor_parents(
                rows,
                x,
                p,
                z,
                velocity,
                (track_of < 0) & expected[rows],
                det_of < 0,
                linearised if self._compiled else None,
            )
        if self._compiled:
            self._maintain_compiled(frame.t_s, rows, track_of >= 0, expected, report)
            self._initiate_compiled(frame, z, det_of, velocity, parent_of, report)
            return report
        # looks: a hit, or a miss where a detection was expected; history bit 0 is the newest
        hit_in_rows = track_of >= 0
        looked_rows = rows[hit_in_rows | expected[rows]]
        missed_rows = rows[~hit_in_rows & expected[rows]]
        if len(looked_rows):
            hit = hit_in_rows[np.searchsorted(rows, looked_rows)]
            history = (self.history[looked_rows] << 1) & 0xFFFF_FFFF
            history[hit] |= 1
            self.history[looked_rows] = history
            self.misses[looked_rows] = np.where(hit, 0, self.misses[looked_rows] + 1)
            window = (1 << self.config.confirm_window) - 1
            hits = np.bitwise_count(history & window)
            newly = looked_rows[
                (self.status[looked_rows] == TENTATIVE) & (hits >= self.config.confirm_hits)
            ]
            self.status[newly] = CONFIRMED
            report.confirmed = len(newly)
        report.deleted = self._delete(frame.t_s, missed_rows, report)
        free = np.flatnonzero(det_of < 0)
        first_id = self._next_id
        report.initiated = self._initiate(frame, det_of < 0, velocity, parent_of[free])
        report.initiations = list(zip(range(first_id, self._next_id), free.tolist(), strict=True))
        return report

    def _maintain_compiled(
        self,
        t_s: float,
        rows: IntArray,
        hit: BoolArray,
        expected: BoolArray,
        report: StepReport,
    ) -> None:
        """Looks, M-of-N confirmation and deletion by the compiled kernel
        (``hil.tracking.maintenance``); succession and compaction as in ``_delete``."""
        if not self._n:
            return
        gone, report.confirmed = self._maintenance.maintain(
            self._float,
            self._int,
            rows,
            hit,
            expected,
            self._limits,
            self.config.max_uncertainty_sigmas,
            self._position_variance,
            t_s,
            self._site,
            self.sensor.north_alignment_rad,
            self.sensor.elevation,
        )
        if gone.any():
            self._succeed(gone & (self.status == CONFIRMED), gone, report)
            self._keep(~gone)
            report.deleted = int(np.count_nonzero(gone))

    def _initiate_compiled(
        self,
        frame: DetectionBatch,
        z: FloatArray,
        det_of: IntArray,
        velocity: bool,
        parent_of: IntArray,
        report: StepReport,
    ) -> None:
        """A tentative track per free detection, by the compiled kernel
        (``hil.tracking.initiation``)."""
        free = np.flatnonzero(det_of < 0)
        k = len(free)
        if not k:
            return
        none = np.full(k, -1, np.int64)
        self._reserve(k)
        first_id = self._next_id
        self._initiation.initiate(
            self._float_buf,
            self._int_buf,
            self._n,
            z,
            free,
            frame.t_s,
            self._site,
            self.sensor.north_alignment_rad,
            self.sensor.elevation,
            velocity,
            self._initial_sigmas,
            self._initial_probability,
            first_id,
            none if frame.source is None else frame.source[free].astype(np.int64),
            none if frame.truth_id is None else frame.truth_id[free].astype(np.int64),
            parent_of[free],
        )
        self._n += k
        self._next_id += k
        report.initiated = k
        report.initiations = list(zip(range(first_id, first_id + k), free.tolist(), strict=True))

    # --- stages -----------------------------------------------------------------------------

    def _update(
        self,
        rows: IntArray,
        mode_x: FloatArray,
        mode_p: FloatArray,
        prior: FloatArray,
        z: FloatArray,
        linearised: tuple[FloatArray, FloatArray],
        noise: FloatArray,
    ) -> None:
        """Update every model of each track in ``rows`` with its detection (rows of ``z``),
        re-weight the models by their measurement likelihoods and store the result.
        ``linearised`` is h(x), H at the combined prediction — the single model's own."""
        k, m = prior.shape
        result = ekf_update(
            mode_x.reshape(k * m, STATE_DIM),
            mode_p.reshape(k * m, STATE_DIM, STATE_DIM),
            np.repeat(z, m, axis=0),
            noise,
            self.sensor,
            iterations=self.config.update_iterations,
            linearised=linearised if m == 1 else None,
        )
        x = result.state.reshape(k, m, STATE_DIM)
        p = result.covariance.reshape(k, m, STATE_DIM, STATE_DIM)
        if m > 1:
            ll = gaussian_log_likelihood(result.mahalanobis2, result.innovation_covariance)
            probability = self.models.posterior(prior, ll.reshape(k, m))
        else:
            probability = prior
        self.mode_state[rows], self.mode_covariance[rows] = x, p
        self.mode_probability[rows] = probability
        self.state[rows], self.covariance[rows] = combine(x, p, probability)

    def _measurements(self, frame: DetectionBatch) -> tuple[FloatArray, bool]:
        """The frame's measurements (K, m) in the sensor's layout, and whether they include
        the radial velocity."""
        columns = [frame.range_m, frame.az_rad]
        if self.sensor.elevation:
            if frame.el_rad is None:
                raise ValueError("a 3-D sensor's frame needs el_rad (or declare the sensor 2-D)")
            columns.append(frame.el_rad)
        velocity = self.config.use_radial_velocity and frame.vr_mps is not None
        if velocity:
            assert frame.vr_mps is not None
            columns.append(frame.vr_mps)
        if not len(frame.range_m):
            return np.empty((0, len(columns))), velocity
        return np.column_stack(columns), velocity

    def _visible_compiled(self, frame: DetectionBatch) -> tuple[BoolArray, BoolArray]:
        """``_visible`` by the compiled kernel."""
        if frame.beam_az_rad is None or not self._n:
            everyone = np.ones(self._n, dtype=bool)
            return everyone, everyone
        return self._kernels.visible(
            self._float,
            frame.t_s,
            frame.beam_az_rad,
            frame.beam_half_width_rad,
            self._site,
            self.sensor.north_alignment_rad,
            self.config.sigma_az_rad,
        )

    def _visible(self, frame: DetectionBatch) -> tuple[BoolArray, BoolArray]:
        """(may be associated, should have been detected) per track. A track near the beam
        edge may take a detection but is not blamed for missing one: the margin is three
        sigmas of its azimuth uncertainty plus the measurement's."""
        if frame.beam_az_rad is None or not len(self.ids):
            everyone = np.ones(len(self.ids), dtype=bool)
            return everyone, everyone
        dt = frame.t_s - self.t_update
        d = self.state[:, :3] + self.state[:, 3:] * dt[:, None]
        d = d - np.asarray(self.sensor.position_enu_m)
        az = np.arctan2(d[:, 0], d[:, 1]) - self.sensor.north_alignment_rad
        offset = np.abs(wrap_pi(az - frame.beam_az_rad))
        horizontal = np.maximum(np.hypot(d[:, 0], d[:, 1]), 1.0)
        margin = 3.0 * (self._position_sigma(dt) / horizontal + self.config.sigma_az_rad)
        half = frame.beam_half_width_rad
        return offset <= half + margin, offset <= half - margin

    def _gate(
        self, x: FloatArray, p: FloatArray, z: FloatArray, frame: DetectionBatch, velocity: bool
    ) -> tuple[IntArray, IntArray, FloatArray, tuple[FloatArray, FloatArray]]:
        """Gated (track row, detection, Mahalanobis²) pairs, and h(x), H of every track (the
        update's first linearisation, so it is not computed twice)."""
        m = z.shape[1]
        gate = self._gate_chi2[velocity]
        none = (np.empty((len(x), m)), np.empty((len(x), m, STATE_DIM)))
        empty = (np.empty(0, np.int64), np.empty(0, np.int64), np.empty(0), none)
        if not len(x) or not len(z):
            return empty
        det_enu = polar_to_enu(
            frame.range_m, frame.az_rad + self.sensor.north_alignment_rad, self._elevation(frame)
        ) + np.asarray(self.sensor.position_enu_m)
        # coarse radius: gate-scaled position sigma plus the measurement's cross-range spread
        position_sigma = np.sqrt(np.trace(p[:, :3, :3], axis1=1, axis2=2))
        slant = np.linalg.norm(x[:, :3] - np.asarray(self.sensor.position_enu_m), axis=1)
        angle_sigma = self.config.sigma_az_rad
        if self.sensor.elevation:
            angle_sigma = max(angle_sigma, self.config.sigma_el_rad)
        meas_sigma = np.hypot(self.config.sigma_range_m, slant * angle_sigma)
        radius = math.sqrt(gate) * np.hypot(position_sigma, meas_sigma)
        if len(x) * len(det_enu) <= BRUTE_FORCE_PAIRS:  # a typical dwell: cheaper than a tree
            offset = x[:, None, :3] - det_enu[None, :, :]
            near = np.einsum("tdk,tdk->td", offset, offset) <= (radius**2)[:, None]
            pair_track, pair_det = np.nonzero(near)
            if not len(pair_track):
                return empty
        else:
            tree = cKDTree(det_enu)
            neighbours = tree.query_ball_point(x[:, :3], radius)
            counts = np.fromiter((len(n) for n in neighbours), dtype=np.int64, count=len(x))
            if not counts.sum():
                return empty
            pair_track = np.repeat(np.arange(len(x)), counts)
            pair_det = np.fromiter(
                itertools.chain.from_iterable(neighbours), dtype=np.int64, count=int(counts.sum())
            )
        z_hat, h = self.sensor.predict_measurement(x, with_velocity=velocity)
        y = innovation(z[pair_det], z_hat[pair_track])
        hp = h[pair_track]
        s = hp @ p[pair_track] @ hp.transpose(0, 2, 1) + self._noise[velocity]
        d2 = mahalanobis2(y, s)
        keep = d2 < gate
        return pair_track[keep], pair_det[keep], d2[keep], (z_hat, h)

    def _associate_in_priority(
        self,
        rows: IntArray,
        n_dets: int,
        pair_track: IntArray,
        pair_det: IntArray,
        cost: FloatArray,
        gate: float,
    ) -> tuple[IntArray, IntArray]:
        """``hil.tracking.association.associate_in_priority`` for the visible tracks ``rows``."""
        confirmed = self.status[rows[pair_track]] == CONFIRMED
        return associate_in_priority(confirmed, len(rows), n_dets, pair_track, pair_det, cost, gate)

    def _position_sigma(self, dt_s: FloatArray) -> FloatArray:
        """Position uncertainty (m, RSS over axes) of each track ``dt_s`` after its update,
        from the velocity uncertainty alone (process noise left out: a cheap screen)."""
        cov = self.covariance
        position = cov[:, 0, 0] + cov[:, 1, 1] + cov[:, 2, 2]
        velocity = cov[:, 3, 3] + cov[:, 4, 4] + cov[:, 5, 5]
        return np.asarray(np.sqrt(position + velocity * dt_s**2))

    def _successor_parents(
        self,
        rows: IntArray,
        x: FloatArray,
        p: FloatArray,
        z: FloatArray,
        velocity: bool,
        missed: BoolArray,
        free: BoolArray,
        linearised: tuple[FloatArray, FloatArray] | None = None,
    ) -> IntArray:
        """For each detection: the id of the confirmed track that missed this frame and holds it
        inside its succession gate (the nearest such, by Mahalanobis²), or −1. A detection just
        outside a confirmed track's gate is most likely that target's own (1 − P_G of them
        are, by construction); the tentative track it starts may take over if the confirmed
        track is then deleted for its misses."""
        parent_of = np.full(len(z), -1, np.int64)
        outer = self._succession_chi2[velocity]
        missed &= self.status[rows] == CONFIRMED
        if outer is None or not missed.any() or not free.any():
            return parent_of
        tracks, dets = np.flatnonzero(missed), np.flatnonzero(free)
        if linearised is not None:  # compiled, from h(x), H of every track (the gate's)
            best = self._kernels.succession_parents(
                p, z, linearised[0], linearised[1], tracks, dets, self._noise[velocity], outer
            )
            inside = best >= 0
            parent_of[dets[inside]] = self.ids[rows[tracks[best[inside]]]]
            return parent_of
        z_hat, h = self.sensor.predict_measurement(x[tracks], with_velocity=velocity)
        s = h @ p[tracks] @ h.transpose(0, 2, 1) + self._noise[velocity]
        pair_t = np.repeat(np.arange(len(tracks)), len(dets))
        pair_d = np.tile(dets, len(tracks))
        d2 = mahalanobis2(innovation(z[pair_d], z_hat[pair_t]), s[pair_t]).reshape(
            len(tracks), len(dets)
        )
        best = np.argmin(d2, axis=0)
        inside = d2[best, np.arange(len(dets))] < outer
        parent_of[dets[inside]] = self.ids[rows[tracks[best[inside]]]]
        return parent_of

    def _delete(self, t_s: float, missed_rows: IntArray, report: StepReport) -> int:
        """Delete tracks at their configured consecutive misses (tentative and confirmed each
        by their own count, exactly), tentative ones not confirmed within
        ``confirm_within_looks``, and confirmed ones that missed a look in this frame with a
        predicted uncertainty diverged past ``max_uncertainty_sigmas``
        (``uncertainty_sigmas``; a track just updated spans at most √3 σ, so it is not
        judged)."""
        if not len(self):
            return 0
        c = self.config
        confirmed = self.status == CONFIRMED
        limit = np.where(confirmed, c.delete_after_misses, c.delete_tentative_after_misses)
        stale = ~confirmed & (self.looks > c.confirm_within_looks)
        gone = (self.misses >= limit) | stale
        judged = missed_rows[confirmed[missed_rows] & ~gone[missed_rows]]
        if len(judged):
            gone[judged] = self.uncertainty_sigmas(judged, t_s) > c.max_uncertainty_sigmas
        if not gone.any():
            return 0
        self._succeed(gone & confirmed, gone, report)
        self._keep(~gone)
        return int(np.count_nonzero(gone))

    def _succeed(self, dying: BoolArray, gone: BoolArray, report: StepReport) -> None:
        """Each dying confirmed track hands its id and confirmed status to its best surviving
        successor — a tentative track started inside its succession gate while it missed —
        with at least two detections (a lone clutter point is not a successor)."""
        candidates = np.flatnonzero(~gone & (self.status == TENTATIVE) & (self.parent >= 0))
        if not dying.any() or not len(candidates):
            return
        heirs = candidates[np.isin(self.parent[candidates], self.ids[dying])]
        hits = np.bitwise_count(self.history[heirs] & ((1 << self.config.confirm_window) - 1))
        enough = hits >= 2
        heirs, hits = heirs[enough], hits[enough]
        if not len(heirs):
            return
        # best heir per parent: most hits, then the most recently updated
        order = np.lexsort((-self.t_update[heirs], -hits, self.parent[heirs]))
        heirs = heirs[order]
        first = np.ones(len(heirs), bool)
        first[1:] = self.parent[heirs][1:] != self.parent[heirs][:-1]
        heirs = heirs[first]
        report.successions.extend(
            zip(self.ids[heirs].tolist(), self.parent[heirs].tolist(), strict=True)
        )
        self.ids[heirs] = self.parent[heirs]
        self.status[heirs] = CONFIRMED
        self.parent[heirs] = -1

    def uncertainty_sigmas(self, rows: IntArray, t_s: float) -> FloatArray:
        """How many of the sensor's own standard deviations each track's position uncertainty,
        predicted to ``t_s``, spans where the track is: √Σᵢ (H P Hᵀ)ᵢᵢ / Rᵢᵢ over range,
        azimuth (and elevation). 1 to 2 for a freshly updated track at any range; it grows as
        the track coasts, the faster the nearer the track (the sensor resolves finer there).
        Process noise is left out of the prediction: a cheap screen."""
        dt = t_s - self.t_update[rows]
        state, cov = self.state[rows], self.covariance[rows]
        d = dt[:, None, None]
        p_pp = cov[:, :3, :3] + d * (cov[:, :3, 3:] + cov[:, 3:, :3]) + (d * d) * cov[:, 3:, 3:]
        moved = state.copy()
        moved[:, :3] += state[:, 3:] * dt[:, None]
        _, h = self.sensor.predict_measurement(moved, with_velocity=False)
        h_p = h[:, :, :3]
        variance = np.einsum("kij,kjl,kil->ki", h_p, p_pp, h_p)
        return np.asarray(np.sqrt((variance / self._position_variance).sum(axis=1)))

    def _elevation(self, frame: DetectionBatch) -> FloatArray:
        """The frame's elevations, or zeros for a 2-D sensor (targets at the antenna's height)."""
        if self.sensor.elevation and frame.el_rad is not None:
            return frame.el_rad
        return np.zeros(len(frame.range_m))

    def _initiate(
        self, frame: DetectionBatch, free: BoolArray, velocity_measured: bool, parent: IntArray
    ) -> int:
        """A tentative track per free detection: position from the measurement with its
        covariance exact in the measurement's own axes (range along the line of sight, azimuth
        across it horizontally, elevation across it vertically); velocity unknown
        (``initial_speed_sigma_mps`` per axis) except its radial part when measured. A 2-D
        sensor's tracks get no vertical variance at all."""
        index = np.flatnonzero(free)
        if not len(index):
            return 0
        c = self.config
        site = np.asarray(self.sensor.position_enu_m)
        bearing = frame.az_rad[index] + self.sensor.north_alignment_rad
        el = self._elevation(frame)[index]
        unit = polar_to_enu(np.ones(len(index)), bearing, el)
        r = frame.range_m[index]
        position = site + unit * r[:, None]
        velocity = np.zeros((len(index), 3))
        if velocity_measured:
            assert frame.vr_mps is not None
            velocity = unit * frame.vr_mps[index][:, None]  # the radial part is measured
        k, m = len(index), self.models.count
        rows = np.empty((k, self._float.shape[1]))
        col = self._cols
        state = rows[:, slice(*col["state"])]
        state[:, :3], state[:, 3:] = position, velocity
        flat_cov = rows[:, slice(*col["covariance"])]
        cov = flat_cov.reshape(k, STATE_DIM, STATE_DIM)
        cov[:] = 0.0
        sin_b, cos_b = np.sin(bearing), np.cos(bearing)
        across_az = np.column_stack((cos_b, -sin_b, np.zeros(k)))
        outer_r = unit[:, :, None] * unit[:, None, :]
        outer_az = across_az[:, :, None] * across_az[:, None, :]
        horizontal_r = r * np.cos(el)
        cov[:, :3, :3] = (
            c.sigma_range_m**2 * outer_r
            + ((horizontal_r * c.sigma_az_rad) ** 2)[:, None, None] * outer_az
        )
        speed = c.initial_speed_sigma_mps**2
        radial = c.sigma_vr_mps**2 if velocity_measured else speed
        if self.sensor.elevation:
            sin_e = np.sin(el)
            across_el = np.column_stack((-sin_e * sin_b, -sin_e * cos_b, np.cos(el)))
            outer_el = across_el[:, :, None] * across_el[:, None, :]
            cov[:, :3, :3] += ((r * c.sigma_el_rad) ** 2)[:, None, None] * outer_el
            cov[:, 3:, 3:] = speed * np.eye(3) + (radial - speed) * outer_r
        else:  # the height and vertical velocity are not estimated: no variance
            cov[:, 3:, 3:] = speed * np.diag([1.0, 1.0, 0.0]) + (radial - speed) * outer_r
        rows[:, col["t_update"][0]] = frame.t_s
        rows[:, slice(*col["mode_probability"])] = self.models.initial_probability()
        rows[:, slice(*col["mode_state"])] = np.tile(state, (1, m))
        rows[:, slice(*col["mode_covariance"])] = np.tile(flat_cov, (1, m))
        ids = np.arange(self._next_id, self._next_id + k, dtype=np.int64)
        self._next_id += k
        new_int = np.zeros((k, INT_COLUMNS), np.int64)
        new_int[:, 0] = ids
        new_int[:, 2] = 1  # history: detected in its first look
        new_int[:, 4] = TENTATIVE
        new_int[:, 5] = -1 if frame.source is None else frame.source[index]
        new_int[:, 6] = -1 if frame.truth_id is None else frame.truth_id[index]
        new_int[:, 7] = parent
        n = self._n
        self._reserve(k)
        self._float_buf[n : n + k] = rows
        self._int_buf[n : n + k] = new_int
        self._n = n + k
        return k

    def _reserve(self, k: int) -> None:
        """Room for ``k`` more rows in the tables: capacity grows by doubling."""
        n = self._n
        if n + k > len(self._int_buf):
            capacity = max(2 * len(self._int_buf), n + k)
            self._float_buf = np.concatenate(
                (self._float_buf[:n], np.empty((capacity - n, self._float_buf.shape[1])))
            )
            self._int_buf = np.concatenate(
                (self._int_buf[:n], np.empty((capacity - n, INT_COLUMNS), np.int64))
            )

    def _keep(self, keep: BoolArray) -> None:
        """Drop the tracks where ``keep`` is False: the last live rows move into the holes, so
        the cost grows with the number deleted, not with the table."""
        n = self._n
        gone = np.flatnonzero(~keep)
        new_n = n - len(gone)
        holes = gone[gone < new_n]
        movers = new_n + np.flatnonzero(keep[new_n:n])
        self._float_buf[holes] = self._float_buf[movers]
        self._int_buf[holes] = self._int_buf[movers]
        self._n = new_n

    # --- output -----------------------------------------------------------------------------

    def picture(
        self, t_s: float
    ) -> tuple[IntArray, FloatArray, FloatArray, FloatArray, FloatArray, IntArray, IntArray]:
        """Confirmed tracks extrapolated to ``t_s`` along their combined velocity, without
        full covariances (cheap enough for every loop cycle): ids (K,), ENU positions (K, 3) m,
        velocities (K, 3) m/s, time since each track's last update (K,) s, each track's
        velocity uncertainty at its last update (K,) m/s (RSS over the axes), and the source
        and truth id of its latest detection (K,) each."""
        rows = np.flatnonzero(self.status == CONFIRMED)
        age = t_s - self.t_update[rows]
        state = self.state[rows]
        cov = self.covariance[rows]
        velocity_sigma = np.sqrt(cov[:, 3, 3] + cov[:, 4, 4] + cov[:, 5, 5])
        position = state[:, :3] + state[:, 3:] * age[:, None]
        return (
            self.ids[rows],
            position,
            state[:, 3:],
            age,
            velocity_sigma,
            self.source[rows],
            self.truth_id[rows],
        )

    def tracks_at(self, t_s: float) -> TrackSnapshot:
        """Confirmed tracks predicted to ``t_s`` (the full motion model, covariances included)
        with the source and truth id of each one's latest detection."""
        rows = np.flatnonzero(self.status == CONFIRMED)
        x, p = self.state[rows], self.covariance[rows]  # copies (fancy indexing)
        dt = t_s - self.t_update[rows]
        moved = np.flatnonzero(dt)  # tracks updated at t_s are already there
        if len(moved):
            at = rows[moved]
            mode_x, mode_p, probability = self.models.predict(
                self.mode_state[at], self.mode_covariance[at], self.mode_probability[at], dt[moved]
            )
            x[moved], p[moved] = combine(mode_x, mode_p, probability)
        return TrackSnapshot(
            t_s,
            self.ids[rows].copy(),
            x[:, :3],
            x[:, 3:],
            p,
            self.source[rows].copy(),
            self.truth_id[rows].copy(),
        )
