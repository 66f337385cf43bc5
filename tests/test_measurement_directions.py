"""Each measurement's better direction (issue 23): what a regression is judged by."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from hil.campaign.measurements import MEASUREMENTS, better_direction


@pytest.mark.parametrize(
    ("key", "better"),
    [
        ("gospa_mean_m", "lower"),
        ("latency_p99_ms", "lower"),
        ("time_to_confirm_s", "lower"),
        ("launches_with_interlock_false", "lower"),
        ("radar_longest_silence_s", "lower"),
        ("tracks_confirmed", "higher"),
        ("frames", "higher"),
        ('launches{source="injected"}', "higher"),
        ("duration_s", None),
        ("rig_final_state", None),
        ("no_such_measurement", None),
    ],
)
def test_better_direction(key: str, better: str | None) -> None:
    assert better_direction(key) == better


def test_a_state_has_no_direction_and_every_number_is_considered() -> None:
    """A state is never better or worse; every direction is one of the two words."""
    for measurement in MEASUREMENTS.values():
        if measurement.is_text:
            assert measurement.better is None, measurement.name
        assert measurement.better in ("lower", "higher", None), measurement.name


def test_docs_give_every_measurement_its_direction() -> None:
    docs = (Path(__file__).resolve().parents[1] / "docs" / "results-history.md").read_text()
    (row,) = [line for line in docs.splitlines() if line.startswith("| `gospa_mean_m`")]
    lower, higher, neither = (re.findall(r"`([a-z_0-9]+)`", cell) for cell in row.split("|")[1:4])
    documented = {name: "lower" for name in lower} | {name: "higher" for name in higher}
    documented |= {name: None for name in neither}
    assert documented == {name: m.better for name, m in MEASUREMENTS.items()}
