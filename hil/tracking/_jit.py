"""The one place ``hil.tracking`` meets numba: ``njit`` compiles a kernel with the project's
rules (``cache=True``, no fastmath, no parallel) and falls back to compiling in memory when no
cache location is writable (a read-only install with an unwritable ``NUMBA_CACHE_DIR`` and home:
numba refuses ``cache=True`` at decoration, "no locator available"). numba has no type
information; this module keeps the decorated kernels' Python signatures as mypy sees them.

Where the cache lives (numba's rules): ``NUMBA_CACHE_DIR`` if set; else ``__pycache__`` beside
the kernel's source file if writable; else a per-user directory (``~/.cache/numba`` on Linux).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar, cast

import numba

F = TypeVar("F", bound=Callable[..., object])

OPTIONS: dict[str, object] = {"fastmath": False, "parallel": False, "error_model": "numpy"}
"""No fastmath, no parallel (deterministic, IEEE results); ``error_model="numpy"``: a division by
zero gives inf/nan as numpy does instead of raising, which also spares the compiler a check and an
exception path per division (a third of the compile time)."""

CACHING: dict[str, bool] = {}
"""Per kernel (qualified name): whether it compiles into an on-disk cache (False: in memory)."""


def njit(function: F) -> F:
    """Compile ``function`` lazily with numba, cached on disk where possible."""
    name = f"{function.__module__}.{function.__qualname__}"
    try:
        compiled = numba.njit(cache=True, fastmath=False, parallel=False, error_model="numpy")(
            function
        )
        CACHING[name] = True
    except RuntimeError as error:  # "cannot cache function …: no locator available …"
        if "no locator available" not in str(error):
            raise
        compiled = numba.njit(cache=False, fastmath=False, parallel=False, error_model="numpy")(
            function
        )
        CACHING[name] = False
    return cast(F, compiled)
