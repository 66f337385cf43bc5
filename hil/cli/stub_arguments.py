"""Argument types of ``hil stub``: each rejects bad input naming what is allowed."""

from __future__ import annotations

import argparse
import math

from firmware_stubs.radar.firmware import RPM_C_LIMIT

MAX_RPM = RPM_C_LIMIT / 100
"""The ICD's SET_RPM range, ±60 rpm."""


def listen_address(text: str) -> tuple[str, int]:
    """``HOST:PORT`` or ``[IPv6]:PORT`` → (host without brackets, port)."""
    if text.startswith("["):
        host, sep, port = text[1:].partition("]:")
    else:
        host, sep, port = text.rpartition(":")
        if ":" in host:
            raise argparse.ArgumentTypeError(
                f"write an IPv6 address in brackets, e.g. [::1]:0, got {text!r}"
            )
    if not sep or not host or not port.isdigit() or int(port) > 65535:
        raise argparse.ArgumentTypeError(
            f"expected HOST:PORT or [IPv6]:PORT with a port 0-65535 (0: any free port), "
            f"got {text!r}"
        )
    return host, int(port)


def rpm(text: str) -> float:
    """A turntable speed within the ICD's SET_RPM range."""
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not (math.isfinite(value) and abs(round(value * 100)) <= RPM_C_LIMIT):
        raise argparse.ArgumentTypeError(
            f"expected rpm in [-{MAX_RPM:g}, {MAX_RPM:g}] (the ICD's SET_RPM range), got {text!r}"
        )
    return value


def period_s(text: str) -> float:
    """A finite time in seconds > 0."""
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not (math.isfinite(value) and value > 0):
        raise argparse.ArgumentTypeError(f"expected seconds > 0, got {text!r}")
    return value


def milliseconds(text: str) -> int:
    """A whole number of milliseconds ≥ 0."""
    if not text.strip().isdigit():
        raise argparse.ArgumentTypeError(f"expected whole milliseconds ≥ 0, got {text!r}")
    return int(text)


def process_id(text: str) -> int:
    """A process id (≥ 1)."""
    if not text.strip().isdigit() or int(text) < 1:
        raise argparse.ArgumentTypeError(
            f"expected a process id (a whole number ≥ 1), got {text!r}"
        )
    return int(text)
