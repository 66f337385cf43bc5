"""The one place fire control meets numba: a typed ``njit`` for the kernels beside it.

numba's own annotations type ``njit`` as returning a dispatcher, not the function; the
decorator here keeps the kernel's own signature for mypy (the kernels and their Python-side
wrappers stay fully typed), and fixes the options DESIGN.md rule 15 asks for:
``cache=True`` (compiled once into the package's ``__pycache__``, or numba's per-user cache
folder when that one is not writable), ``fastmath=False``, no ``parallel``, and numpy's
error model (a float division by zero gives inf/NaN as in the numpy oracle, not an
exception).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar, cast

import numba

F = TypeVar("F", bound=Callable[..., Any])


def njit(function: F) -> F:
    """Compile ``function`` in nopython mode with the project's kernel options."""
    compiled = numba.njit(cache=True, fastmath=False, parallel=False, error_model="numpy")(function)
    return cast(F, compiled)
