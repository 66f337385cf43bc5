"""``hil.loop.cycle_codec``: a cycle's input and output to bytes and back, bit for bit; the
documented layout, and one clear ``ValueError`` for anything that is not a record."""

from __future__ import annotations

import dataclasses
import math
import struct
from collections.abc import Callable

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from hil.fire_control.engagement import Demand, Phase, TrackPicture
from hil.fire_control.interlocks import Interlocks, LauncherStatus
from hil.loop.cycle import CycleInput, CycleOutput, EngagementEvent, TrackChanges
from hil.loop.cycle_codec import (
    VERSION,
    decode_input,
    decode_output,
    encode_input,
    encode_output,
)
from hil.loop.injection import TaggedFrame

finite = st.floats(allow_nan=False, allow_infinity=False)
STATUS = LauncherStatus(
    t_s=12.5, link_up=True, az_rad=0.25, el_rad=0.125, arm_state=2, ready_to_fire=True,
    in_position=True, estop_ok=True, interlock_chain_ok=False, fault_code=3, launch_count=7,
    fire_reject_count=1, rounds_ready=4,
)  # fmt: skip
N_INTERLOCKS = len(dataclasses.fields(Interlocks))
ALL_HOLD = Interlocks(*([True] * N_INTERLOCKS))


def frame(n: int, seed: int = 0) -> TaggedFrame:
    rng = np.random.default_rng(seed)
    return TaggedFrame(
        10.01, 9.5, 42, 1.25, 0.02, 0.012,
        rng.uniform(100, 2e4, n), rng.uniform(-math.pi, math.pi, n), rng.uniform(0, 1, n),
        rng.normal(0, 100, n), rng.random(n) < 0.3, rng.integers(-1, 50, n), 1234.5678,
    )  # fmt: skip


def cycle_input(f: TaggedFrame | None, armed: bool = True) -> CycleInput:
    return CycleInput(10.01, f, 0.01, "", STATUS, "no status for 0.4 s, link down", armed)


def assert_frames_equal(a: TaggedFrame | None, b: TaggedFrame | None) -> None:
    assert (a is None) == (b is None)
    if a is None or b is None:
        return
    for name in TaggedFrame.__slots__:
        x, y = getattr(a, name), getattr(b, name)
        if isinstance(x, np.ndarray):
            assert x.dtype == y.dtype and x.tobytes() == y.tobytes(), name
        else:
            assert type(x) is type(y) and struct.pack("<d", x) == struct.pack("<d", y), name


def assert_inputs_equal(a: CycleInput, b: CycleInput) -> None:
    assert (a.t_s, a.radar_frame_age_s, a.operator_armed) == (
        b.t_s, b.radar_frame_age_s, b.operator_armed,
    )  # fmt: skip
    assert (a.radar_problem, a.launcher_problem) == (b.radar_problem, b.launcher_problem)
    assert repr(a.launcher) == repr(b.launcher)
    assert_frames_equal(a.frame, b.frame)


@pytest.mark.parametrize("n", [0, 1, 3000])
def test_input_round_trip_with_detections(n: int) -> None:
    original = cycle_input(frame(n))
    data = encode_input(original)
    back = decode_input(data)
    assert_inputs_equal(original, back)
    assert encode_input(back) == data


def test_a_decoded_frame_is_recorded_data_that_cannot_be_changed_in_place() -> None:
    decoded = decode_input(encode_input(cycle_input(frame(5)))).frame
    assert decoded is not None
    for name in ("range_m", "az_rad", "el_rad", "vr_mps", "truth_id"):
        column = getattr(decoded, name)
        with pytest.raises(ValueError, match="read-only"):
            column[0] = 0


def test_input_round_trip_without_a_frame_and_with_nonfinite_values() -> None:
    """An idle cycle before the first frame and the first PLC status: inf age, −inf status
    time, NaN angles — all kept bit for bit."""
    original = CycleInput(
        3.0, None, math.inf, "no frame yet, link up", LauncherStatus(-math.inf, False),
        "no status yet, link connecting (timeout) — ünïcode", False,
    )  # fmt: skip
    back = decode_input(encode_input(original))
    assert back.frame is None and back.radar_frame_age_s == math.inf
    assert back.launcher.t_s == -math.inf and math.isnan(back.launcher.az_rad)
    assert back.launcher_problem == original.launcher_problem
    assert encode_input(back) == encode_input(original)


@given(
    t=finite,
    age=finite,
    armed=st.booleans(),
    problem=st.text(max_size=40),
    values=hnp.arrays(np.float64, st.integers(0, 40), elements=finite),
)
def test_input_round_trip_is_bit_exact_for_any_finite_values(
    t: float, age: float, armed: bool, problem: str, values: np.ndarray
) -> None:
    n = len(values)
    f = TaggedFrame(
        t, -t, n, age, -age, t, values, -values, values * 0.5, values[::-1].copy(),
        np.arange(n) % 2 == 0, np.arange(n, dtype=np.int64) - 1, age,
    )  # fmt: skip
    original = CycleInput(t, f, age, problem, STATUS, problem[::-1], armed)
    back = decode_input(encode_input(original))
    assert_inputs_equal(original, back)


def test_input_record_follows_the_documented_layout() -> None:
    """Sizes and the leading fields as drawn in the module doc (the doc is copied into
    docs/recording.md, so it must stay true)."""
    idle = encode_input(CycleInput(1.5, None, 0.25, "ab", STATUS, "", True))
    head = 1 + 8 + 8 + 1
    status = 3 * 8 + 5 + 5 * 8
    assert len(idle) == head + (4 + 2) + status + 4
    assert idle[0] == VERSION
    assert struct.unpack_from("<ddB", idle, 1) == (1.5, 0.25, 1)
    assert idle[18:24] == b"\x02\x00\x00\x00ab"
    busy_input = cycle_input(frame(5))
    busy = encode_input(busy_input)
    problem = len(busy_input.launcher_problem.encode())
    assert len(busy) == head + 4 + status + 4 + problem + 6 * 8 + 8 + 4 + 5 * (4 * 8 + 8 + 1)
    assert busy[17] == 3  # armed, frame present


def picture(k: int) -> TrackPicture:
    rng = np.random.default_rng(k)
    return TrackPicture(
        7.25,
        np.arange(k, dtype=np.int64) + 100,
        rng.normal(0, 1e4, (k, 3)),
        rng.normal(0, 300, (k, 3)),
        rng.uniform(0, 3, k),
        rng.uniform(0, 50, k),
        rng.random(k) < 0.5,
        rng.integers(-1, 9, k),
    )


OUTPUTS = [
    CycleOutput(
        Demand(), TrackPicture.empty(0.0), TrackChanges.none(), (), Phase.IDLE, None, False
    ),
    CycleOutput(
        Demand(True, True, 0.5, 0.25, True, True, ALL_HOLD), picture(250),
        TrackChanges(12, 3, 2, 2, np.array([101, 140])),
        (EngagementEvent(7.25, "fire_requested", 101),), Phase.FIRE_REQUESTED, ALL_HOLD, False,
    ),
    CycleOutput(
        Demand(True, True, 0.5, 0.25), picture(3), TrackChanges(1, 0, 1, 0, np.empty(0, np.int64)),
        (EngagementEvent(7.25, "aborted", 102, "radar silent for 1.20 s"),
         EngagementEvent(7.25, "designated", 103)),
        Phase.DESIGNATED, Interlocks(*([True] * (N_INTERLOCKS - 1) + [False])), True,
    ),
]  # fmt: skip


@pytest.mark.parametrize("original", OUTPUTS, ids=["idle", "fire", "suppressed"])
def test_output_round_trip(original: CycleOutput) -> None:
    data = encode_output(original)
    back = decode_output(data)
    assert encode_output(back) == data
    assert repr(back.demand) == repr(original.demand)  # NaN az/el of an idle demand included
    assert (back.demand.interlocks is None) == (original.demand.interlocks is None)
    assert back.interlocks == original.interlocks
    assert back.events == original.events and back.phase is original.phase
    assert back.fire_suppressed == original.fire_suppressed
    for name in TrackPicture.__slots__:
        x, y = getattr(original.picture, name), getattr(back.picture, name)
        assert np.asarray(x).tobytes() == np.asarray(y).tobytes(), name
        assert np.asarray(x).dtype == np.asarray(y).dtype, name
    assert back.track_changes.confirmed_ids.tolist() == (
        original.track_changes.confirmed_ids.tolist()
    )


def test_each_interlock_keeps_its_own_bit() -> None:
    for n in range(N_INTERLOCKS):
        flags = [True] * N_INTERLOCKS
        flags[n] = False
        interlocks = Interlocks(*flags)
        base = OUTPUTS[0]
        one = CycleOutput(
            base.demand, base.picture, base.track_changes, (), Phase.READY, interlocks, False
        )
        back = decode_output(encode_output(one)).interlocks
        assert back is not None and back.failing == interlocks.failing and len(back.failing) == 1


@pytest.mark.parametrize(
    ("mangle", "message"),
    [
        (lambda b: b[:-1], "truncated"),
        (lambda b: b[:5], "truncated"),
        (lambda b: b + b"\x00", "1 trailing bytes"),
        (lambda b: bytes([VERSION + 1]) + b[1:], f"version {VERSION + 1}"),
        (lambda b: b"", "truncated"),
    ],
)
def test_a_damaged_record_is_one_clear_error(
    mangle: Callable[[bytes], bytes], message: str
) -> None:
    for data, decode in (
        (encode_input(cycle_input(frame(4))), decode_input),
        (encode_output(OUTPUTS[2]), decode_output),
    ):
        with pytest.raises(ValueError, match=message):
            decode(mangle(data))


def test_every_cut_of_an_input_record_is_a_truncation_error() -> None:
    """The decoder reads at computed offsets: a record cut at any byte (inside the problem
    strings, the status, the frame head or any of its columns) is a ValueError naming it."""
    problem = dataclasses.replace(cycle_input(frame(3)), radar_problem="stale 2.0 s")
    data = encode_input(dataclasses.replace(problem, launcher_problem="link down"))
    for cut in range(len(data)):
        with pytest.raises(ValueError, match="truncated"):
            decode_input(data[:cut])
    assert encode_input(decode_input(data)) == data
