"""``python -m hil.cli.warm``: compile every compiled kernel of the loop into numba's cache now.

The tracker's (``hil.tracking.warm``), the fire-control screen's (``hil.fire_control.screen``)
and the sensor model's (``sim._compiled``, which the emulated radar runs too). A process that
finds them in the cache loads them in about a second; one that does not compiles them, about
40 s of one core — once per machine and source tree, since the cache is keyed by both
(``hil/tracking/README.md``, "the numba cache"). ``make`` runs this right after installing, so
neither the first ``make demo`` nor the test workers compile in parallel, each its own copy.

Prints the seconds and whether the kernels went to disk; exit status 0 (a cache that cannot be
written is not an error: the kernels then compile in memory in every process).
"""

from __future__ import annotations

import time


def warm() -> float:
    """Compile (or load) every kernel; returns the seconds it took."""
    from hil.config.fire_control import FireControlConfig
    from hil.fire_control.screen import ScreenLimits
    from hil.fire_control.screen import warm_up as warm_screen
    from hil.tracking.warm import prime
    from sim._compiled import warm_up as warm_sensor

    started = time.perf_counter()
    prime()
    warm_screen(ScreenLimits.of(FireControlConfig(), (0.0, 0.0, 0.0)))
    warm_sensor()
    return time.perf_counter() - started


def main() -> None:
    from hil.tracking import _jit

    seconds = warm()
    cached = all(_jit.CACHING.values())
    where = "cached on disk" if cached else "compiled in memory only (no writable cache)"
    print(f"compiled kernels ready in {seconds:.1f} s, {where}")


if __name__ == "__main__":
    main()
