"""Each measurement's better direction (issue 23): what a regression is judged by."""

from __future__ import annotations

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
