"""Helpers for radar-link tests: the emulated radar in-process, or the bench radar with --rig."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator

import pytest
from conftest import CONFIGS

from firmware_stubs.radar.emulator import RadarEmulator
from firmware_stubs.radar.endpoints import Endpoint, PtyEndpoint, TcpEndpoint
from firmware_stubs.radar.faults import LinkFaults
from hil.config import load_scenario
from hil.radar_stub import build_radar_firmware

TRANSPORTS = ["pty", "tcp"]
ALL_SOURCES = ["pty", "tcp", pytest.param("rig", marks=pytest.mark.rig)]
"""Emulated over both transports, and the bench radar with ``--rig`` (opt-in)."""


@contextlib.asynccontextmanager
async def radar_under_test(source: str, request: pytest.FixtureRequest) -> AsyncIterator[str]:
    """A radar URL: the emulated radar (in this loop) or the bench's, from ``--rig``."""
    if source == "rig":
        rig = request.getfixturevalue("bench_rig")
        yield rig.radar.url
        return
    async with emulated_radar(source) as emulator:
        yield emulator.url


@contextlib.asynccontextmanager
async def emulated_radar(
    transport: str,
    scenario: str = "single-cv.toml",
    *,
    seed: int = 0,
    rotate: float | None = None,
    faults: LinkFaults | None = None,
    keep_originals: bool = False,
) -> AsyncIterator[RadarEmulator]:
    """The emulated radar in this event loop, on a real pty or a real loopback TCP socket."""
    firmware = build_radar_firmware(load_scenario(CONFIGS / "scenarios" / scenario), seed, rotate)
    endpoint: Endpoint = PtyEndpoint() if transport == "pty" else TcpEndpoint()
    async with RadarEmulator(firmware, endpoint, faults, keep_originals=keep_originals) as emu:
        yield emu
