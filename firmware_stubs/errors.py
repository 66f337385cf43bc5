"""Exceptions of the emulators."""

from __future__ import annotations


class EndpointError(Exception):
    """An emulator cannot serve where it was asked to: a TCP address it cannot listen on, a pty
    link path it cannot create. The message names the address or path, why, and the fix."""
