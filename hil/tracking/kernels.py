"""Compiled per-step kernels of the tracker (numba, ``hil.tracking._jit.njit``): prediction (CV
and IMM), gating with the association cost, the iterated EKF / IMM update, and the beam
visibility screen. Each kernel works on the tracker's float row table (see
``hil.tracking.table``) and plain arrays, and computes what the numpy implementation computes,
in the same order of operations where it matters (the numpy code is the oracle:
``tests/test_tracker_kernel.py`` compares the two on random frames).

Units and frames: ENU metres and m/s from the rig origin; range m, angles rad (azimuth in the
turntable frame, clockwise; elevation above the horizontal), radial velocity m/s (+ receding).
Track state ``[e, n, u, ve, vn, vu]``.
"""

from __future__ import annotations

import math

import numpy as np
import numpy.typing as npt

from hil.tracking._jit import njit
from hil.tracking.motion import FloatArray

IntArray = npt.NDArray[np.int64]
BoolArray = npt.NDArray[np.bool_]
TWO_PI = 2.0 * math.pi
CONVERGED_M = 0.25  # hil.tracking.measurement.CONVERGED_M
LOOSE_PRIOR_SIGMAS = 3.0  # hil.tracking.measurement.LOOSE_PRIOR_SIGMAS


# --- row-table layout (hil.tracking.table) ------------------------------------------------


O_STATE, O_COVARIANCE, O_T_UPDATE, O_PROBABILITY = 0, 6, 42, 43
"""Column starts in a row of the float table of the combined state (6), its covariance (36),
``t_update`` (1) and the model probabilities (M); the per-model states and covariances follow
(``_mode_offsets``). ``Tracker`` lays its table out the same way."""


@njit
def _mode_offsets(models: int) -> tuple[int, int]:
    """Column starts of the per-model states (M × 6) and covariances (M × 36)."""
    return O_PROBABILITY + models, O_PROBABILITY + 7 * models


@njit
def _wrap_pi(a: float) -> float:
    return math.pi - ((math.pi - a) % TWO_PI)


@njit
def _copy1(source: FloatArray, target: FloatArray) -> None:
    """``target[:] = source`` as a loop (numba compiles array slice assignment slowly)."""
    for i in range(len(target)):
        target[i] = source[i]


@njit
def _copy2(source: FloatArray, target: FloatArray) -> None:
    """``target[:, :] = source`` as a loop."""
    for i in range(target.shape[0]):
        for j in range(target.shape[1]):
            target[i, j] = source[i, j]


@njit
def _fill2(target: FloatArray, value: float) -> None:
    """``target[:, :] = value`` as a loop."""
    for i in range(target.shape[0]):
        for j in range(target.shape[1]):
            target[i, j] = value


# --- motion ---------------------------------------------------------------------------------


@njit
def _cv_predict(
    x: FloatArray,
    p: FloatArray,
    dt: float,
    q: float,
    vertical: bool,
    xo: FloatArray,
    po: FloatArray,
) -> None:
    """Constant velocity by ``dt`` (s): ``hil.tracking.motion.predict`` for one track."""
    for i in range(3):
        xo[i] = x[i] + x[i + 3] * dt
        xo[i + 3] = x[i + 3]
    d = dt
    for i in range(3):
        for j in range(3):
            eye = 1.0 if (i == j and (vertical or i < 2)) else 0.0
            p_pp, p_pv, p_vp, p_vv = p[i, j], p[i, j + 3], p[i + 3, j], p[i + 3, j + 3]
            po[i, j] = p_pp + d * (p_pv + p_vp) + (d * d) * p_vv + (q * d**3 / 3.0) * eye
            cross = (q * d * d / 2.0) * eye
            po[i, j + 3] = p_pv + d * p_vv + cross
            po[i + 3, j] = p_vp + d * p_vv + cross
            po[i + 3, j + 3] = p_vv + (q * d) * eye


@njit
def _imm_predict(
    mx: FloatArray,
    mp: FloatArray,
    mu: FloatArray,
    dt: float,
    rates: FloatArray,
    qs: FloatArray,
    tau: float,
    vertical: bool,
    xo: FloatArray,
    po: FloatArray,
    co: FloatArray,
) -> None:
    """Mix and predict one track's models (``MotionModels.predict``): per-model states
    ``mx`` (M, 6), covariances ``mp`` (M, 6, 6), probabilities ``mu`` (M,) → ``xo``, ``po``,
    predicted probabilities ``co``."""
    m = len(rates)
    decay = math.exp(-m * max(dt, 0.0) / ((m - 1) * tau))
    pi = np.empty((m, m))
    for i in range(m):
        for j in range(m):
            pi[i, j] = (1.0 / m + (1.0 - 1.0 / m) * decay) if i == j else (1.0 - decay) / m
    for j in range(m):
        c = 0.0
        for i in range(m):
            c += mu[i] * pi[i, j]
        co[j] = max(c, 1e-300)
    w = np.empty((m, m))
    for i in range(m):
        for j in range(m):
            w[i, j] = mu[i] * pi[i, j] / co[j]
    x0 = np.zeros((m, 6))
    p0 = np.zeros((m, 6, 6))
    for j in range(m):
        for i in range(m):
            for k in range(6):
                x0[j, k] += w[i, j] * mx[i, k]
        for i in range(m):
            for k in range(6):
                for ll in range(6):
                    p0[j, k, ll] += w[i, j] * mp[i, k, ll]
        for i in range(m):
            for k in range(6):
                dk = mx[i, k] - x0[j, k]
                for ll in range(6):
                    p0[j, k, ll] += w[i, j] * dk * (mx[i, ll] - x0[j, ll])
    f = np.zeros((6, 6))
    fp = np.empty((6, 6))
    for j in range(m):
        omega = -rates[j]
        angle = omega * dt
        sin, cos = math.sin(angle), math.cos(angle)
        if abs(angle) > 1e-9:
            sin_over, cos_over = sin / omega, (1.0 - cos) / omega
        else:
            sin_over, cos_over = dt, 0.0
        _fill2(f, 0.0)
        for k in range(6):
            f[k, k] = 1.0
        f[0, 3], f[0, 4] = sin_over, -cos_over
        f[1, 3], f[1, 4] = cos_over, sin_over
        f[3, 3], f[3, 4] = cos, -sin
        f[4, 3], f[4, 4] = sin, cos
        f[2, 5] = dt
        for k in range(6):
            s = 0.0
            for ll in range(6):
                s += f[k, ll] * x0[j, ll]
            xo[j, k] = s
        for k in range(6):
            for ll in range(6):
                s = 0.0
                for a in range(6):
                    s += f[k, a] * p0[j, a, ll]
                fp[k, ll] = s
        for k in range(6):
            for ll in range(6):
                s = 0.0
                for a in range(6):
                    s += fp[k, a] * f[ll, a]
                po[j, k, ll] = s
        q = qs[j]
        for axis in range(3 if vertical else 2):
            po[j, axis, axis] += q * dt**3 / 3.0
            po[j, axis, axis + 3] += q * dt**2 / 2.0
            po[j, axis + 3, axis] += q * dt**2 / 2.0
            po[j, axis + 3, axis + 3] += q * dt
        for k in range(6):
            for ll in range(k + 1, 6):
                s = 0.5 * (po[j, k, ll] + po[j, ll, k])
                po[j, k, ll] = s
                po[j, ll, k] = s


@njit
def _combine(mx: FloatArray, mp: FloatArray, mu: FloatArray, x: FloatArray, p: FloatArray) -> None:
    """Moment-matched estimate of one track's mixture (``hil.tracking.imm.combine``)."""
    m = mx.shape[0]
    if m == 1:
        _copy1(mx[0], x)
        _copy2(mp[0], p)
        return
    for k in range(6):
        x[k] = 0.0
    _fill2(p, 0.0)
    for j in range(m):
        for k in range(6):
            x[k] += mu[j] * mx[j, k]
    for j in range(m):
        for k in range(6):
            for ll in range(6):
                p[k, ll] += mu[j] * mp[j, k, ll]
    for j in range(m):
        for k in range(6):
            dk = mx[j, k] - x[k]
            for ll in range(6):
                p[k, ll] += mu[j] * dk * (mx[j, ll] - x[ll])
    for k in range(6):
        for ll in range(k + 1, 6):
            s = 0.5 * (p[k, ll] + p[ll, k])
            p[k, ll] = s
            p[ll, k] = s


# --- measurement ----------------------------------------------------------------------------


@njit
def _measure(
    x: FloatArray,
    site: FloatArray,
    north: float,
    elevation: bool,
    velocity: bool,
    z: FloatArray,
    h: FloatArray,
) -> None:
    """h(x) into ``z`` (m,) and its Jacobian into ``h`` (m, 6): ``PolarSensor.predict_measurement``
    for one state."""
    e, n, u = x[0] - site[0], x[1] - site[1], x[2] - site[2]
    rho2 = max(e * e + n * n, 1e-12)
    rho = math.sqrt(rho2)
    r2 = rho2 + u * u
    r = math.sqrt(r2)
    _fill2(h, 0.0)
    z[0] = r
    z[1] = _wrap_pi(math.atan2(e, n) - north)
    h[0, 0], h[0, 1], h[0, 2] = e / r, n / r, u / r
    h[1, 0] = n / rho2
    h[1, 1] = -e / rho2
    rows = 3 if elevation else 2
    if elevation:
        z[2] = math.atan2(u, rho)
        h[2, 0] = -e * u / (r2 * rho)
        h[2, 1] = -n * u / (r2 * rho)
        h[2, 2] = rho / r2
    if velocity:
        rate = (e * x[3] + n * x[4] + u * x[5]) / r
        z[rows] = rate
        h[rows, 0] = (x[3] - rate * e / r) / r
        h[rows, 1] = (x[4] - rate * n / r) / r
        h[rows, 2] = (x[5] - rate * u / r) / r
        h[rows, 3], h[rows, 4], h[rows, 5] = e / r, n / r, u / r


@njit
def _solve(s: FloatArray, b: FloatArray, a: FloatArray, x: FloatArray) -> float:
    """S⁻¹ B into ``x`` (m, k) for a small S (m, m) and B (m, k), by Gaussian elimination with
    partial pivoting (``a``: (m, m) scratch); returns log |det S|."""
    m = s.shape[0]
    _copy2(s, a)
    _copy2(b, x)
    logdet = 0.0
    for c in range(m):
        pivot = c
        for r in range(c + 1, m):
            if abs(a[r, c]) > abs(a[pivot, c]):
                pivot = r
        if pivot != c:
            for k in range(m):
                a[c, k], a[pivot, k] = a[pivot, k], a[c, k]
            for k in range(x.shape[1]):
                x[c, k], x[pivot, k] = x[pivot, k], x[c, k]
        logdet += math.log(abs(a[c, c]))
        for r in range(c + 1, m):
            factor = a[r, c] / a[c, c]
            for k in range(c, m):
                a[r, k] -= factor * a[c, k]
            for k in range(x.shape[1]):
                x[r, k] -= factor * x[c, k]
    for c in range(m - 1, -1, -1):
        for k in range(x.shape[1]):
            v = x[c, k]
            for j in range(c + 1, m):
                v -= a[c, j] * x[j, k]
            x[c, k] = v / a[c, c]
    return logdet


@njit
def _innovation_covariance(
    h: FloatArray, p: FloatArray, noise: FloatArray, hp: FloatArray, out: FloatArray
) -> None:
    """H P Hᵀ + R into ``out`` (m, m); ``hp`` (m, 6) scratch."""
    m = h.shape[0]
    for i in range(m):
        for k in range(6):
            s = 0.0
            for a in range(6):
                s += h[i, a] * p[a, k]
            hp[i, k] = s
    for i in range(m):
        for j in range(m):
            s = 0.0
            for a in range(6):
                s += hp[i, a] * h[j, a]
            out[i, j] = s + noise[i, j]


@njit
def _scratch(m: int) -> tuple[FloatArray, FloatArray, FloatArray, FloatArray, FloatArray]:
    """Work arrays of the update for an m-row measurement: (m, 6) × 3, (m, m) × 2."""
    return (
        np.empty((m, 6)),
        np.empty((m, 6)),
        np.empty((m, 6)),
        np.empty((m, m)),
        np.empty((m, m)),
    )


# --- the kernels the tracker calls ------------------------------------------------------------


@njit
def predict_rows(
    table: FloatArray,
    rows: IntArray,
    t_s: float,
    rates: FloatArray,
    qs: FloatArray,
    tau: float,
    vertical: bool,
) -> tuple[FloatArray, FloatArray, FloatArray, FloatArray, FloatArray]:
    """Predict the tracks ``rows`` of ``table`` to ``t_s`` (s): per-model states (R, M, 6),
    covariances (R, M, 6, 6), probabilities (R, M), and the combined states (R, 6) and
    covariances (R, 6, 6)."""
    m = len(rates)
    o_mstate, o_mcov = _mode_offsets(m)
    n = len(rows)
    mode_x = np.empty((n, m, 6))
    mode_p = np.empty((n, m, 6, 6))
    prior = np.empty((n, m))
    x = np.empty((n, 6))
    p = np.empty((n, 6, 6))
    for k in range(n):
        row = table[rows[k]]
        dt = t_s - row[O_T_UPDATE]
        mx = row[o_mstate : o_mstate + 6 * m].reshape((m, 6))
        mp = row[o_mcov : o_mcov + 36 * m].reshape((m, 6, 6))
        mu = row[O_PROBABILITY : O_PROBABILITY + m]
        if m == 1:
            _cv_predict(mx[0], mp[0], dt, qs[0], vertical, mode_x[k, 0], mode_p[k, 0])
            prior[k, 0] = mu[0]
        else:
            _imm_predict(mx, mp, mu, dt, rates, qs, tau, vertical, mode_x[k], mode_p[k], prior[k])
        _combine(mode_x[k], mode_p[k], prior[k], x[k], p[k])
    return mode_x, mode_p, prior, x, p


@njit
def gate(
    x: FloatArray,
    p: FloatArray,
    z: FloatArray,
    site: FloatArray,
    north: float,
    elevation: bool,
    velocity: bool,
    noise: FloatArray,
    gate_chi2: float,
    sigma_range_m: float,
    angle_sigma_rad: float,
) -> tuple[IntArray, IntArray, FloatArray, FloatArray, FloatArray]:
    """Gated pairs of predicted tracks (x (T, 6), p (T, 6, 6)) and measurements z (D, m):
    track index, detection index, Mahalanobis² (pairs in track-major order), and h(x) (T, m),
    H (T, m, 6) of every track. The coarse gate is ``Tracker._gate``'s (ENU distance within a
    per-track radius; candidates come from a sweep over the detections sorted by east, so the
    cost grows with tracks × nearby detections), the fine gate yᵀS⁻¹y < ``gate_chi2``."""
    t_count, d_count, m = x.shape[0], z.shape[0], z.shape[1]
    det = np.empty((d_count, 3))
    for d in range(d_count):
        el = z[d, 2] if elevation else 0.0
        bearing = z[d, 1] + north
        horizontal = z[d, 0] * math.cos(el)
        det[d, 0] = horizontal * math.sin(bearing) + site[0]
        det[d, 1] = horizontal * math.cos(bearing) + site[1]
        det[d, 2] = z[d, 0] * math.sin(el) + site[2]
    z_hat = np.empty((t_count, m))
    jac = np.empty((t_count, m, 6))
    capacity = max(16, 2 * (t_count + d_count))
    pair_t = np.empty(capacity, np.int64)
    pair_d = np.empty(capacity, np.int64)
    cost = np.empty(capacity)
    count = 0
    # detections sorted by east: each track looks only at those within its radius in east
    # (a window a little wider than the radius; the exact test below decides)
    by_east = np.argsort(det[:, 0])
    east = np.empty(d_count)
    for i in range(d_count):
        east[i] = det[by_east[i], 0]
    root = math.sqrt(gate_chi2)
    y = np.empty((m, 1))
    solved = np.empty((m, 1))
    hp = np.empty((m, 6))
    a = np.empty((m, m))
    for t in range(t_count):
        position_sigma = math.sqrt(p[t, 0, 0] + p[t, 1, 1] + p[t, 2, 2])
        de, dn, du = x[t, 0] - site[0], x[t, 1] - site[1], x[t, 2] - site[2]
        slant = math.sqrt(de * de + dn * dn + du * du)
        meas_sigma = math.hypot(sigma_range_m, slant * angle_sigma_rad)
        radius = root * math.hypot(position_sigma, meas_sigma)
        radius2 = radius * radius
        _measure(x[t], site, north, elevation, velocity, z_hat[t], jac[t])
        s = np.empty((m, m))
        have_s = False
        window = radius * (1.0 + 1e-9) + 1e-6
        lo = np.searchsorted(east, x[t, 0] - window)
        hi = np.searchsorted(east, x[t, 0] + window, side="right")
        for d in np.sort(by_east[lo:hi]):  # in detection order, as the numpy gate pairs them
            oe, on, ou = x[t, 0] - det[d, 0], x[t, 1] - det[d, 1], x[t, 2] - det[d, 2]
            if oe * oe + on * on + ou * ou > radius2:
                continue
            if not have_s:
                _innovation_covariance(jac[t], p[t], noise, hp, s)
                have_s = True
            for i in range(m):
                y[i, 0] = z[d, i] - z_hat[t, i]
            y[1, 0] = _wrap_pi(y[1, 0])
            _solve(s, y, a, solved)
            d2 = 0.0
            for i in range(m):
                d2 += y[i, 0] * solved[i, 0]
            if not d2 < gate_chi2:
                continue
            if count == capacity:
                capacity *= 2
                pair_t = np.concatenate((pair_t, np.empty(capacity - count, np.int64)))
                pair_d = np.concatenate((pair_d, np.empty(capacity - count, np.int64)))
                cost = np.concatenate((cost, np.empty(capacity - count)))
            pair_t[count], pair_d[count], cost[count] = t, d, d2
            count += 1
    return pair_t[:count].copy(), pair_d[:count].copy(), cost[:count].copy(), z_hat, jac


@njit
def _ekf_one(
    x0: FloatArray,
    p: FloatArray,
    z: FloatArray,
    noise: FloatArray,
    site: FloatArray,
    north: float,
    elevation: bool,
    velocity: bool,
    iterations: int,
    z_hat0: FloatArray,
    h0: FloatArray,
    use_linearised: bool,
    x_out: FloatArray,
    p_out: FloatArray,
    work: FloatArray,
    h: FloatArray,
    hp: FloatArray,
    solved: FloatArray,
    s: FloatArray,
    a: FloatArray,
) -> tuple[float, float]:
    """Iterated EKF update of one state (``hil.tracking.measurement.ekf_update`` for one row):
    writes the state and Joseph-form covariance, returns yᵀS⁻¹y and log det S at the prior.
    ``work`` (≥ 4m + 12 + 72), ``h``/``hp``/``solved`` (m, 6), ``s``/``a`` (m, m): scratch."""
    m = len(z)
    xi = work[0:6]
    x_next = work[6:12]
    z_hat = work[12 : 12 + m]
    y = work[12 + m : 12 + 2 * m]
    correction = work[12 + 2 * m : 12 + 3 * m]
    ycol = work[12 + 3 * m : 12 + 4 * m].reshape((m, 1))
    ikh = work[12 + 4 * m : 48 + 4 * m].reshape((6, 6))
    tmp = work[48 + 4 * m : 84 + 4 * m].reshape((6, 6))
    gain = hp  # (P Hᵀ S⁻¹)ᵀ, m × 6, after hp is used
    _copy1(x0, xi)
    d2 = 0.0
    logdet = 0.0
    for iteration in range(max(iterations, 1)):
        if iteration == 0 and use_linearised:
            _copy1(z_hat0, z_hat)
            _copy2(h0, h)
        else:
            _measure(xi, site, north, elevation, velocity, z_hat, h)
        for i in range(m):
            y[i] = z[i] - z_hat[i]
        y[1] = _wrap_pi(y[1])
        _innovation_covariance(h, p, noise, hp, s)
        for i in range(m):
            for j in range(i + 1, m):
                v = 0.5 * (s[i, j] + s[j, i])
                s[i, j] = v
                s[j, i] = v
        loose = True
        if iteration == 0:
            spread2 = 0.0
            for i in range(m):
                spread2 += s[i, i] / noise[i, i]
            loose = spread2 - m > LOOSE_PRIOR_SIGMAS**2
            for i in range(m):
                ycol[i, 0] = y[i]
            logdet = _solve(s, ycol, a, ycol)
            d2 = 0.0
            for i in range(m):
                d2 += y[i] * ycol[i, 0]
        for i in range(m):  # (P Hᵀ)ᵀ = H P (P symmetric)
            for k in range(6):
                acc = 0.0
                for c in range(6):
                    acc += p[k, c] * h[i, c]
                solved[i, k] = acc
        _solve(s, solved, a, gain)  # gain[i, k] = K[k, i]
        for i in range(m):
            acc = 0.0
            for c in range(6):
                acc += h[i, c] * (xi[c] - x0[c])
            correction[i] = y[i] + acc
        for k in range(6):
            acc = 0.0
            for i in range(m):
                acc += gain[i, k] * correction[i]
            x_next[k] = x0[k] + acc
        step2 = 0.0
        for k in range(3):
            step2 += (x_next[k] - xi[k]) ** 2
        slant = max(
            math.sqrt((xi[0] - site[0]) ** 2 + (xi[1] - site[1]) ** 2 + (xi[2] - site[2]) ** 2),
            1.0,
        )
        moving = step2 / slant >= CONVERGED_M and loose
        _copy1(x_next, xi)
        if not moving:
            break
    _copy1(xi, x_out)
    for k in range(6):
        for ll in range(6):
            acc = 0.0
            for i in range(m):
                acc += gain[i, k] * h[i, ll]
            ikh[k, ll] = (1.0 if k == ll else 0.0) - acc
    for k in range(6):
        for ll in range(6):
            acc = 0.0
            for c in range(6):
                acc += ikh[k, c] * p[c, ll]
            tmp[k, ll] = acc
    gr = solved  # (K R)ᵀ, m × 6
    for j in range(m):
        for k in range(6):
            acc = 0.0
            for i in range(m):
                acc += gain[i, k] * noise[i, j]
            gr[j, k] = acc
    for k in range(6):
        for ll in range(6):
            acc = 0.0
            for c in range(6):
                acc += tmp[k, c] * ikh[ll, c]
            acc2 = 0.0
            for j in range(m):
                acc2 += gr[j, k] * gain[j, ll]
            p_out[k, ll] = acc + acc2
    for k in range(6):
        for ll in range(k + 1, 6):
            v = 0.5 * (p_out[k, ll] + p_out[ll, k])
            p_out[k, ll] = v
            p_out[ll, k] = v
    return d2, logdet


@njit
def update_rows(
    table: FloatArray,
    rows: IntArray,
    mode_x: FloatArray,
    mode_p: FloatArray,
    prior: FloatArray,
    z: FloatArray,
    z_hat: FloatArray,
    jac: FloatArray,
    noise: FloatArray,
    site: FloatArray,
    north: float,
    elevation: bool,
    velocity: bool,
    iterations: int,
    t_s: float,
) -> None:
    """Update every model of each track ``rows[k]`` of ``table`` with its measurement ``z[k]``
    from its prediction (``mode_x[k]``, ``mode_p[k]``, ``prior[k]``; ``z_hat[k]``, ``jac[k]``
    linearise the single model's own), re-weight the models by their likelihoods, and store
    the result with ``t_update = t_s`` (``Tracker._update`` in numpy)."""
    m = mode_x.shape[1]
    o_mstate, o_mcov = _mode_offsets(m)
    ll = np.empty(m)
    dims = z.shape[1]
    work = np.empty(84 + 4 * dims)
    h, hp, solved, s, a = _scratch(dims)
    for k in range(len(rows)):
        row = table[rows[k]]
        mx = row[o_mstate : o_mstate + 6 * m].reshape((m, 6))
        mp = row[o_mcov : o_mcov + 36 * m].reshape((m, 6, 6))
        mu = row[O_PROBABILITY : O_PROBABILITY + m]
        for j in range(m):
            d2, logdet = _ekf_one(
                mode_x[k, j],
                mode_p[k, j],
                z[k],
                noise,
                site,
                north,
                elevation,
                velocity,
                iterations,
                z_hat[k],
                jac[k],
                m == 1,
                mx[j],
                mp[j],
                work,
                h,
                hp,
                solved,
                s,
                a,
            )
            ll[j] = -0.5 * (d2 + logdet)
        if m > 1:
            top = ll.max()
            total = 0.0
            for j in range(m):
                mu[j] = prior[k, j] * math.exp(ll[j] - top)
                total += mu[j]
            for j in range(m):
                mu[j] = mu[j] / total
        else:
            mu[0] = prior[k, 0]
        covariance = row[O_COVARIANCE : O_COVARIANCE + 36].reshape((6, 6))
        _combine(mx, mp, mu, row[O_STATE : O_STATE + 6], covariance)
        row[O_T_UPDATE] = t_s


@njit
def visible(
    table: FloatArray,
    t_s: float,
    beam_az_rad: float,
    half_width_rad: float,
    site: FloatArray,
    north: float,
    sigma_az_rad: float,
) -> tuple[BoolArray, BoolArray]:
    """(may be associated, should have been detected) per track of ``table`` for a beam at
    ``beam_az_rad`` (turntable frame) ± ``half_width_rad``: ``Tracker._visible``."""
    n = table.shape[0]
    may = np.empty(n, np.bool_)
    should = np.empty(n, np.bool_)
    for k in range(n):
        row = table[k]
        dt = t_s - row[42]
        e = row[0] + row[3] * dt - site[0]
        nn = row[1] + row[4] * dt - site[1]
        az = math.atan2(e, nn) - north
        offset = abs(_wrap_pi(az - beam_az_rad))
        horizontal = max(math.hypot(e, nn), 1.0)
        position = row[6 + 0] + row[6 + 7] + row[6 + 14]
        vel = row[6 + 21] + row[6 + 28] + row[6 + 35]
        sigma = math.sqrt(position + vel * dt**2)
        margin = 3.0 * (sigma / horizontal + sigma_az_rad)
        may[k] = offset <= half_width_rad + margin
        should[k] = offset <= half_width_rad - margin
    return may, should


@njit
def succession_parents(
    p: FloatArray,
    z: FloatArray,
    z_hat: FloatArray,
    jac: FloatArray,
    tracks: IntArray,
    dets: IntArray,
    noise: FloatArray,
    outer_chi2: float,
) -> IntArray:
    """For each detection ``dets[j]``: the index (into ``tracks``) of the track nearest it by
    Mahalanobis² among those holding it inside the succession gate ``outer_chi2``, or −1
    (``Tracker._successor_parents``; ``z_hat``/``jac``: h(x), H of every predicted track)."""
    m = z.shape[1]
    best = np.full(len(dets), -1, np.int64)
    best_d2 = np.full(len(dets), np.inf)
    s = np.empty((m, m))
    hp = np.empty((m, 6))
    a = np.empty((m, m))
    y = np.empty((m, 1))
    solved = np.empty((m, 1))
    for i in range(len(tracks)):
        t = tracks[i]
        _innovation_covariance(jac[t], p[t], noise, hp, s)
        for j in range(len(dets)):
            d = dets[j]
            for r in range(m):
                y[r, 0] = z[d, r] - z_hat[t, r]
            y[1, 0] = _wrap_pi(y[1, 0])
            _solve(s, y, a, solved)
            d2 = 0.0
            for r in range(m):
                d2 += y[r, 0] * solved[r, 0]
            if d2 < best_d2[j] or best[j] < 0:  # the first of equals, as np.argmin
                best_d2[j] = d2
                best[j] = i
    for j in range(len(dets)):
        if not best_d2[j] < outer_chi2:
            best[j] = -1
    return best
