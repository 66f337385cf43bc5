"""Angle wrapping, ENU ↔ polar conversion and antenna scan patterns."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from numpy.testing import assert_allclose

from sim.coordinates import TWO_PI, enu_to_polar, polar_to_enu, wrap_pi, wrap_two_pi
from sim.scan import ScanMode, ScanPattern

angles = st.floats(-1e4, 1e4, allow_nan=False)


@given(angles)
def test_wrap_pi_interval_and_equivalence(a: float) -> None:
    w = float(wrap_pi(a))
    assert -math.pi < w <= math.pi
    assert math.isclose(math.cos(w), math.cos(a), abs_tol=1e-9)
    assert math.isclose(math.sin(w), math.sin(a), abs_tol=1e-9)


@given(angles)
def test_wrap_two_pi_interval(a: float) -> None:
    w = float(wrap_two_pi(a))
    assert 0.0 <= w < TWO_PI
    assert math.isclose(math.cos(w), math.cos(a), abs_tol=1e-9)


def test_wrap_edges() -> None:
    assert float(wrap_pi(math.pi)) == math.pi
    assert float(wrap_pi(-math.pi)) == math.pi
    assert float(wrap_two_pi(-1e-18)) == 0.0


@given(st.floats(1.0, 1e5), st.floats(-math.pi, math.pi), st.floats(-1.5, 1.5))
def test_polar_round_trip(r: float, bearing: float, el: float) -> None:
    back = enu_to_polar(polar_to_enu(r, bearing, el))
    assert math.isclose(float(back[0]), r, rel_tol=1e-12)
    assert math.isclose(float(wrap_pi(back[1] - bearing)), 0.0, abs_tol=1e-9)
    assert math.isclose(float(back[2]), el, abs_tol=1e-12)


def test_bearing_is_clockwise_from_north() -> None:
    _, bearing, _ = enu_to_polar(np.array([[0.0, 1.0, 0.0], [1.0, 0.0, 0.0], [-1.0, 0.0, 0.0]]))
    assert_allclose(bearing, [0.0, math.pi / 2, -math.pi / 2])


def test_rotating_scan_advances_and_counts_revolutions() -> None:
    scan = ScanPattern.from_rpm(ScanMode.ROTATING, 12.0, dwell_s=0.01)  # 5 s per revolution
    assert scan.pose_at(1.25).az_rad == pytest.approx(math.pi / 2)
    assert [scan.pose_at(t).scan_id for t in (0.005, 4.995, 5.005, 12.0)] == [0, 0, 1, 2]
    assert scan.pose_at(1.0).sweep_rad == pytest.approx(12.0 * TWO_PI / 60.0 * 0.01)
    backwards = ScanPattern.from_rpm(ScanMode.ROTATING, -12.0)
    assert backwards.pose_at(1.25).az_rad == pytest.approx(3 * math.pi / 2)


def test_sector_scan_stays_in_sector_and_reverses() -> None:
    scan = ScanPattern.from_rpm(
        ScanMode.SECTOR, 10.0, sector_centre_rad=0.0, sector_width_rad=math.radians(120.0)
    )
    centres = scan.dwell_centres(0.0, 10.0)
    az = np.array([float(wrap_pi(scan.pose_at(float(t)).az_rad)) for t in centres])
    assert az.min() >= math.radians(-60.0) - 1e-9 and az.max() <= math.radians(60.0) + 1e-9
    steps = np.sign(np.diff(az))
    assert np.count_nonzero(np.diff(steps)) >= 4  # swept back and forth (2 s per sweep)
    assert scan.pose_at(5.0).scan_id == 2


def test_dwell_centres_tile_time() -> None:
    scan = ScanPattern.from_rpm(ScanMode.ROTATING, 12.0, dwell_s=0.01)
    centres = scan.dwell_centres(0.0, 2.0)
    assert len(centres) == 200
    assert_allclose(np.diff(centres), 0.01)
    assert centres[0] == pytest.approx(0.005)
    assert len(ScanPattern(ScanMode.STANDBY, 1.0).dwell_centres(0.0, 10.0)) == 0
