"""Load (or, on an empty cache, compile) every compiled tracker kernel now: ``prime()`` runs each
once on a one-track dummy with the argument types the tracker passes. A compiled ``Tracker``
primes once per process when it is built, so the cost (numba's import and the cache load, ~1 s;
a cold compile, once) is paid before a loop starts, never inside a loop cycle (a rig's link
watchdogs would see a stall).

``python -m hil.tracking.warm`` fills numba's cache ahead of the first run (e.g. after
install) and prints the seconds it took and whether the kernels are cached on disk (see
hil/tracking/README.md, "the numba cache")."""

from __future__ import annotations

import time

import numpy as np

from hil.tracking import _jit

PRIMED: list[bool] = []
"""Non-empty once ``prime`` has run in this process."""


def prime() -> float:
    """Call every kernel once (tiny inputs, the tracker's argument types); returns seconds."""
    from hil.tracking import initiation, kernels, maintenance

    started = time.perf_counter()
    models = 3
    table = np.zeros((1, kernels.O_PROBABILITY + 43 * models))
    table[:, 6:42] = np.eye(6).reshape(-1)
    table[:, kernels.O_PROBABILITY : kernels.O_PROBABILITY + models] = 1.0 / models
    ints = np.zeros((1, 8), np.int64)
    rows = np.zeros(1, np.int64)
    site = np.zeros(3)
    noise = np.eye(4)
    z = np.array([[1000.0, 0.1, 0.01, 1.0]])
    flags = np.ones(1, np.bool_)
    rates = np.array([0.0, 0.05, -0.05])
    kernels.visible(table, 1.0, 0.0, 0.1, site, 0.0, 1e-3)
    mode_x, mode_p, prior, x, p = kernels.predict_rows(
        table, rows, 1.0, rates, np.ones(models), 20.0, True
    )
    _, _, _, z_hat, jac = kernels.gate(x, p, z, site, 0.0, True, True, noise, 16.0, 5.0, 1e-3)
    kernels.update_rows(
        table, rows, mode_x, mode_p, prior, z, z_hat, jac, noise, site, 0.0, True, True, 3, 1.0
    )
    kernels.succession_parents(p, z, z_hat, jac, rows, rows, noise, 20.0)
    limits = np.array([3, 2, 1, 3, 4], np.int64)
    maintenance.maintain(
        table, ints, rows, flags, flags, limits, 100.0, np.ones(3), 1.0, site, 0.0, True
    )
    initiation.initiate(
        table, ints, 0, z, rows, 1.0, site, 0.0, True, True, np.ones(5), np.ones(models) / 3,
        0, rows, rows, rows,
    )  # fmt: skip
    PRIMED.append(True)
    return time.perf_counter() - started


def main() -> None:
    seconds = prime()
    cached = all(_jit.CACHING.values())
    where = "cached on disk" if cached else "compiled in memory only (no writable cache)"
    print(f"tracker kernels ready in {seconds:.1f} s, {where}")


if __name__ == "__main__":
    main()
