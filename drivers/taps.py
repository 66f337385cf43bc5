"""Taps: synchronous observers a driver calls with what crossed its link (issue 11's recorder).

A tap sees; it never steers. It runs on the event loop, inline, so it must be cheap and must not
block (a recorder hands the data to a bounded queue). A tap that raises never breaks the link:
``GuardedTap`` catches the exception, counts it (``errors``, in the driver's health as
``tap_errors``) and logs the first one with its traceback and every later one not at all. With no
tap set a driver pays one ``is None`` test per chunk or request.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Generic, ParamSpec

log = logging.getLogger(__name__)
P = ParamSpec("P")


class GuardedTap(Generic[P]):
    """``tap`` made exception-safe: calling this calls it, and swallows, counts and logs once
    whatever it raises. ``name`` says whose tap it is in that one log line."""

    def __init__(self, name: str, tap: Callable[P, object]) -> None:
        self.name = name
        self.tap = tap
        self.errors = 0

    def __call__(self, *args: P.args, **kwargs: P.kwargs) -> None:
        try:
            self.tap(*args, **kwargs)
        except Exception:
            self.errors += 1
            if self.errors == 1:
                log.exception(
                    "%s: the tap raised; the link carries on, later tap errors are only counted",
                    self.name,
                )
