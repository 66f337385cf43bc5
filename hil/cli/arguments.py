"""Argument types shared by the sub-commands: each rejects bad input with a clear message."""

from __future__ import annotations

import argparse
import math
import os
from pathlib import Path

from hil.config.fields import MAX_RUN_S


def finite_float(text: str) -> float:
    """A finite number (``nan`` and ``inf`` are refused)."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None
    if not math.isfinite(value):
        raise argparse.ArgumentTypeError(f"expected a finite number, got {text!r}")
    return value


def positive_float(text: str) -> float:
    """A finite number > 0."""
    value = finite_float(text)
    if not value > 0:
        raise argparse.ArgumentTypeError(f"must be > 0, got {text}")
    return value


def non_negative_float(text: str) -> float:
    """A finite number ≥ 0."""
    value = finite_float(text)
    if not value >= 0:
        raise argparse.ArgumentTypeError(f"must be ≥ 0, got {text}")
    return value


def rate_or_max(text: str) -> float | None:
    """A pace: a finite factor > 0 of recorded speed, or ``max`` (None: as fast as possible)."""
    return None if text == "max" else positive_float(text)


def run_duration(text: str) -> float:
    """Seconds of run time: finite, > 0 and at most ``MAX_RUN_S`` (30 days)."""
    value = positive_float(text)
    if value > MAX_RUN_S:
        raise argparse.ArgumentTypeError(
            f"must be at most {MAX_RUN_S:.0f} s (30 days; a soak run is hours to days), got {text}"
        )
    return value


def non_negative_int(text: str) -> int:
    value = int(text)
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be ≥ 0, got {text}")
    return value


def seed(text: str) -> int:
    return non_negative_int(text)


def probability(text: str) -> float:
    value = finite_float(text)
    if not 0.0 <= value <= 1.0:
        raise argparse.ArgumentTypeError(f"must lie in [0, 1], got {text}")
    return value


def output_file(text: str) -> Path:
    """A file to write: not a directory, and under a directory that exists and is writable (or
    can be created in the nearest existing one)."""
    path = Path(text)
    if text.endswith(("/", os.sep)) or path.is_dir():
        raise argparse.ArgumentTypeError(
            f"{text} is a directory; give a file name, e.g. {text.rstrip('/')}/run.npz"
        )
    ancestor = path.parent
    while not ancestor.exists():
        ancestor = ancestor.parent
    if not ancestor.is_dir():
        raise argparse.ArgumentTypeError(f"cannot create {text}: {ancestor} is not a directory")
    if not os.access(ancestor, os.W_OK | os.X_OK):
        raise argparse.ArgumentTypeError(f"cannot write {text}: {ancestor} is not writable")
    if path.exists() and not os.access(path, os.W_OK):
        raise argparse.ArgumentTypeError(f"cannot write {text}: the file is read-only")
    return path


def add_overrides(parser: argparse.ArgumentParser, what: str, example: str) -> None:
    """``--set KEY=VALUE`` (repeatable) into ``args.overrides``: TOML literals over a config."""
    parser.add_argument(
        "--set",
        dest="overrides",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help=f"override a {what} value, e.g. --set {example}",
    )


MAX_CONNECT_TIMEOUT_S = 3600.0


def connect_timeout_s(text: str) -> float:
    """Seconds to wait for a device's link: in (0, ``MAX_CONNECT_TIMEOUT_S``]."""
    value = finite_float(text)
    if not 0.0 < value <= MAX_CONNECT_TIMEOUT_S:
        raise argparse.ArgumentTypeError(
            f"must be seconds in (0, {MAX_CONNECT_TIMEOUT_S:g}], got {text}"
        )
    return value


def add_store_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--store",
        default=None,
        metavar="URL",
        help="the results store: sqlite:///FILE.db, a file path, or "
        "postgresql://USER@HOST:PORT/DB (default: $HIL_RESULTS_STORE, else results.db in "
        "$HIL_RUNS_DIR or runs/)",
    )


def positive_int(text: str) -> int:
    """A whole number ≥ 1 (``--jobs``, ``--last``)."""
    value = non_negative_int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be ≥ 1, got {text}")
    return value
