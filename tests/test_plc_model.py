"""The emulated PLC's scan logic: ICD behaviour, and safety properties over random events."""

from __future__ import annotations

import contextlib
import copy
import math
from dataclasses import fields

import hypothesis
import numpy as np
import pytest
from hypothesis import example, given
from hypothesis import strategies as st
from safety_campaign import safety_property

from drivers.plc.register_map import load_register_map
from drivers.plc.types import ArmState, Coil, FaultCode, Mode
from firmware_stubs.plc.model import (
    ARMING_MS,
    DEFAULT_INHIBIT_SECTORS,
    SCAN_MS,
    WATCHDOG_MS,
    ExceptionCode,
    InhibitSector,
    PlcModel,
    PlcWriteError,
)

MAP = load_register_map()


def words(name: str, value: float) -> list[int]:
    return MAP[name].to_words(value)


def pointing(model: PlcModel, az: float, el: float) -> None:
    model.write_coil(Coil.AXES_ENABLE, True)
    model.write_holding(MAP, 0, words("AZ_SETPOINT", az) + words("EL_SETPOINT", el))
    model.write_holding(MAP, 6, [int(Mode.POINTING)])


def run_until(model: PlcModel, condition: object, limit_ms: int = 20_000) -> int:
    start = model.time_ms
    while not condition(model):  # type: ignore[operator]
        model.scan()
        assert model.time_ms - start <= limit_ms, "condition never reached"
    return model.time_ms - start


def ready_model() -> PlcModel:
    model = PlcModel()
    pointing(model, 1.0, 0.3)
    run_until(model, lambda m: m.in_position)
    model.write_coil(Coil.ARM_REQUEST, True)
    run_until(model, lambda m: m.arm_state is ArmState.ARMED)
    model.scan()
    assert model.ready_to_fire
    return model


def test_power_on_state() -> None:
    model = PlcModel()
    model.scan()
    assert model.arm_state is ArmState.SAFE and model.mode is Mode.IDLE
    assert not any(model.coils) and model.rounds_ready == 4
    assert (model.az.position_rad, model.el.position_rad) == (0.0, 0.0)
    assert model.discrete_inputs() == [True, True, False, False, False, False, False, False]
    assert model.input_registers()[19] == 1


def test_axes_reach_the_setpoint_within_what_the_dynamics_allow() -> None:
    model = PlcModel()
    pointing(model, 1.0, 0.3)
    elapsed = run_until(model, lambda m: m.in_position)
    # 1 rad at 0.5 rad/s with 2 rad/s² ramps: 2.0 s + 0.25 s ramp + 50 ms settle + a few scans
    assert 2000 <= elapsed <= 2500
    assert model.az.position_rad == pytest.approx(1.0, abs=0.002)
    assert abs(model.az.rate_rad_s) <= 0.5 + 1e-9


def test_azimuth_takes_the_shorter_way_round() -> None:
    model = PlcModel()
    pointing(model, 6.0, 0.1)
    run_until(model, lambda m: m.in_position)
    assert model.time_ms < 1200  # 0.28 rad the short way, not 6 rad the long way
    assert model.az.position_rad == pytest.approx(6.0, abs=0.002)


def test_arming_takes_one_second_and_drops_at_once() -> None:
    model = PlcModel()
    pointing(model, 1.0, 0.3)
    model.write_coil(Coil.ARM_REQUEST, True)
    model.scan()
    assert model.arm_state is ArmState.ARMING
    elapsed = run_until(model, lambda m: m.arm_state is ArmState.ARMED)
    assert elapsed == ARMING_MS
    model.write_coil(Coil.ARM_REQUEST, False)
    model.scan()
    assert model.arm_state is ArmState.SAFE


def test_fire_when_ready_launches_once() -> None:
    model = ready_model()
    model.write_coil(Coil.FIRE, True)
    record = model.scan()
    assert record.launched and model.launch_count == 1 and model.rounds_ready == 3
    assert model.arm_state is ArmState.FIRING and not model.coils[Coil.FIRE]
    assert model.last_launch_ms == model.time_ms
    run_until(model, lambda m: m.arm_state is ArmState.ARMED)
    assert model.time_ms - model.last_launch_ms == 200


def test_fire_written_during_firing_is_refused_not_queued_into_armed() -> None:
    """ICD v1.1 rule 5: FIRE written in the last FIRING scan, READY_TO_FIRE published 0, is
    refused by the scan that ends FIRING, although READY_TO_FIRE holds again in that scan."""
    model = ready_model()
    model.write_coil(Coil.FIRE, True)
    model.scan()
    run_until(model, lambda m: m.time_ms + SCAN_MS >= m.firing_until_ms)
    assert model.arm_state is ArmState.FIRING and not model.ready_to_fire
    model.write_coil(Coil.FIRE, True)
    record = model.scan()
    assert model.arm_state is ArmState.ARMED and record.ready_to_fire  # FIRING ended here
    assert record.fire_rejected and not record.launched
    assert (model.launch_count, model.rounds_ready, model.fire_reject_count) == (1, 3, 1)
    assert model.fault_code is FaultCode.FIRE_REJECTED
    model.scan()
    assert model.launch_count == 1 and model.ready_to_fire


def test_fire_written_one_scan_after_armed_is_published_launches() -> None:
    """The rule does not make the rig unable to fire: the first scan that publishes ARMED with
    READY_TO_FIRE, then FIRE, then the next scan launches."""
    model = PlcModel()
    pointing(model, 1.0, 0.3)
    run_until(model, lambda m: m.in_position)
    model.write_coil(Coil.ARM_REQUEST, True)
    run_until(model, lambda m: m.arm_state is ArmState.ARMED)
    assert model.ready_to_fire  # published in the scan that reached ARMED
    model.write_coil(Coil.FIRE, True)
    record = model.scan()
    assert record.launched and model.launch_count == 1 and model.fire_reject_count == 0
    # and after FIRING, once READY_TO_FIRE is published again, the next round goes too
    run_until(model, lambda m: m.ready_to_fire)
    model.write_coil(Coil.FIRE, True)
    assert model.scan().launched and model.launch_count == 2


def test_fire_written_before_armed_is_published_is_refused() -> None:
    """FIRE written while ARMING (READY_TO_FIRE published 0) is refused even when the scan that
    handles it is the one that reaches ARMED."""
    model = PlcModel()
    pointing(model, 1.0, 0.3)
    run_until(model, lambda m: m.in_position)
    model.write_coil(Coil.ARM_REQUEST, True)
    model.scan()
    run_until(model, lambda m: m.time_ms + SCAN_MS - m.arming_since_ms >= ARMING_MS)
    assert model.arm_state is ArmState.ARMING
    model.write_coil(Coil.FIRE, True)
    record = model.scan()
    assert model.arm_state is ArmState.ARMED and record.ready_to_fire
    assert record.fire_rejected and model.launch_count == 0 and model.fire_reject_count == 1


def test_last_round_leaves_the_rig_safe() -> None:
    model = ready_model()
    model.reload(1)
    model.write_coil(Coil.FIRE, True)
    model.scan()
    run_until(model, lambda m: m.arm_state is not ArmState.FIRING)
    assert model.arm_state is ArmState.SAFE and model.rounds_ready == 0


def test_refused_fire_only_counts() -> None:
    model = PlcModel()
    model.scan()
    model.write_coil(Coil.FIRE, True)
    record = model.scan()
    assert record.fire_rejected and model.fire_reject_count == 1
    assert model.fault_code is FaultCode.FIRE_REJECTED and model.launch_count == 0
    model.scan()
    assert model.fault_code is FaultCode.NONE  # shown for that scan only


def test_inhibit_sector_blocks_ready_to_fire() -> None:
    model = PlcModel()
    pointing(model, math.radians(180.0), 0.3)
    run_until(model, lambda m: m.in_position)
    model.write_coil(Coil.ARM_REQUEST, True)
    run_until(model, lambda m: m.arm_state is ArmState.ARMED)
    model.scan()
    assert not model.ready_to_fire
    pointing(model, 1.0, math.radians(2.0))  # below 3° elevation
    run_until(model, lambda m: m.in_position)
    assert not model.ready_to_fire


def _below(x: float) -> float:
    return math.nextafter(x, -math.inf)


def _above(x: float) -> float:
    return math.nextafter(x, math.inf)


WRAP = InhibitSector(math.radians(350.0), math.radians(10.0))  # through north
BAND = InhibitSector(0.0, 0.0, math.radians(20.0), math.radians(30.0))  # every azimuth


@pytest.mark.parametrize(
    ("sector", "az", "el", "inside"),
    [
        (DEFAULT_INHIBIT_SECTORS[0], math.radians(170.0), 0.3, True),
        (DEFAULT_INHIBIT_SECTORS[0], math.radians(190.0), 0.3, True),
        (DEFAULT_INHIBIT_SECTORS[0], _below(math.radians(170.0)), 0.3, False),
        (DEFAULT_INHIBIT_SECTORS[0], _above(math.radians(190.0)), 0.3, False),
        (DEFAULT_INHIBIT_SECTORS[1], 1.0, math.radians(3.0), True),
        (DEFAULT_INHIBIT_SECTORS[1], 1.0, _above(math.radians(3.0)), False),
        (DEFAULT_INHIBIT_SECTORS[1], 1.0, -math.pi / 2, True),
        (WRAP, math.radians(350.0), 0.3, True),
        (WRAP, math.radians(10.0), 0.3, True),
        (WRAP, 0.0, 0.3, True),
        (WRAP, _below(2 * math.pi), 0.3, True),
        (WRAP, 2 * math.pi, 0.3, True),  # north, however it is written
        (InhibitSector(0.0, math.radians(10.0)), -1e-20, 0.3, True),  # -1e-20 % 2π == 2π
        (InhibitSector(0.0, math.radians(10.0)), 2 * math.pi, 0.3, True),
        (InhibitSector(math.radians(-1e-18), math.radians(10.0)), 0.0, 0.3, True),
        (WRAP, _below(math.radians(350.0)), 0.3, False),
        (WRAP, _above(math.radians(10.0)), 0.3, False),
        (WRAP, math.radians(180.0), 0.3, False),
        (BAND, 4.0, math.radians(20.0), True),
        (BAND, 4.0, math.radians(30.0), True),
        (BAND, 4.0, _below(math.radians(20.0)), False),
        (BAND, 4.0, _above(math.radians(30.0)), False),
    ],
)
def test_inhibit_sector_bounds_are_inclusive(
    sector: InhibitSector, az: float, el: float, inside: bool
) -> None:
    """ICD v1.1 rule 6: closed intervals; the next float beyond a bound is outside."""
    assert sector.contains(az, el) is inside


def _float32_neighbours(angle_rad: float) -> tuple[float, float]:
    """The float32 values just below and just above ``angle_rad`` (what a setpoint can be)."""
    f = np.float32(angle_rad)
    below = f if float(f) < angle_rad else np.nextafter(f, np.float32(-10))
    return float(below), float(np.nextafter(below, np.float32(10)))


@pytest.mark.parametrize(
    ("az_deg", "el_deg", "axis"),
    [(170.0, 20.0, "az"), (190.0, 20.0, "az"), (60.0, 3.0, "el")],
)
def test_ready_to_fire_at_the_sector_edges_follows_the_actual_float32_pointing(
    az_deg: float, el_deg: float, axis: str
) -> None:
    """The axes settle on the float32 setpoint; READY_TO_FIRE is 0 exactly when that actual
    pointing lies in the sector, bounds included. A setpoint written as exactly 170.0° is
    169.99999° in float32 — outside, so the PLC is ready: keeping a solution there from a
    FIRE is the software's job (its tolerance cone, ``hil.fire_control.interlocks``)."""
    edge = math.radians(az_deg if axis == "az" else el_deg)
    for setpoint in _float32_neighbours(edge):
        model = PlcModel()
        az = setpoint if axis == "az" else math.radians(az_deg)
        el = setpoint if axis == "el" else math.radians(el_deg)
        pointing(model, az, el)
        run_until(model, lambda m: m.in_position)
        model.write_coil(Coil.ARM_REQUEST, True)
        run_until(model, lambda m: m.arm_state is ArmState.ARMED)
        actual = model.az.position_rad if axis == "az" else model.el.position_rad
        assert actual == setpoint  # float32 setpoint, reached exactly
        inside = (
            edge <= actual <= math.radians(190.0)
            if az_deg == 170.0
            else math.radians(170.0) <= actual <= edge
            if az_deg == 190.0
            else actual <= edge
        )
        assert model.in_inhibit_sector() is inside
        assert model.ready_to_fire is not inside
    assert _float32_neighbours(math.radians(170.0))[1] > math.radians(170.0)
    assert float(np.float32(math.radians(170.0))) < math.radians(170.0)  # the 170.0°


def test_estop_latches_and_reset_needs_a_live_heartbeat() -> None:
    model = ready_model()
    model.estop_pressed = True
    model.scan()
    assert model.arm_state is ArmState.SAFE and model.latched_fault is FaultCode.ESTOP
    assert not model.axes_enabled
    model.estop_pressed = False
    model.write_coil(Coil.FAULT_RESET, True)
    model.scan()
    assert model.fault, "no heartbeat yet: reset refused"
    model.write_coil(Coil.HEARTBEAT, True)
    model.write_coil(Coil.FAULT_RESET, True)
    model.scan()
    assert not model.fault and not model.coils[Coil.FAULT_RESET]


def test_watchdog_trips_500_ms_after_the_last_heartbeat() -> None:
    model = ready_model()
    model.write_coil(Coil.HEARTBEAT, True)
    last_change = model.time_ms
    run_until(model, lambda m: m.watchdog_tripped)
    assert model.watchdog_trip_ms is not None
    assert WATCHDOG_MS < model.watchdog_trip_ms - last_change <= WATCHDOG_MS + SCAN_MS
    assert model.arm_state is ArmState.SAFE and model.fault_code is FaultCode.WATCHDOG


@pytest.mark.parametrize(
    ("address", "values", "code"),
    [
        (0, [0x4000], ExceptionCode.ILLEGAL_VALUE),  # half of AZ_SETPOINT
        (1, [0, 0], ExceptionCode.ILLEGAL_VALUE),  # straddles AZ and EL setpoints
        (2, [0x7FC0, 0], ExceptionCode.ILLEGAL_VALUE),  # EL NaN
        (2, [0x4100, 0], ExceptionCode.ILLEGAL_VALUE),  # EL 8.0 rad
        (4, [0], ExceptionCode.ILLEGAL_VALUE),  # rate limit 0
        (5, [501], ExceptionCode.ILLEGAL_VALUE),
        (6, [3], ExceptionCode.ILLEGAL_VALUE),  # no MODE 3
        (7, [0], ExceptionCode.ILLEGAL_ADDRESS),
    ],
)
def test_bad_writes_change_nothing(address: int, values: list[int], code: ExceptionCode) -> None:
    model = PlcModel()
    before = model.holding_registers()
    with pytest.raises(PlcWriteError) as refused:
        model.write_holding(MAP, address, values)
    assert refused.value.code is code
    assert model.holding_registers() == before
    with pytest.raises(PlcWriteError):
        model.write_coil(5, True)


# --- safety properties ---------------------------------------------------------------------

SAFE_AZ = st.floats(0.2, 2.8)  # outside the 170°-190° sector
EVENTS = st.one_of(
    st.tuples(st.just("scans"), st.integers(1, 120)),
    st.tuples(st.just("engage"), SAFE_AZ, st.floats(0.1, 1.4)),
    st.tuples(st.just("prepare"), SAFE_AZ, st.floats(0.1, 1.4)),
    st.tuples(st.just("point"), st.floats(0.0, 6.28), st.floats(-0.08, 1.48)),
    st.tuples(st.just("coil"), st.sampled_from(list(Coil)), st.booleans()),
    st.tuples(st.just("fire")),
    st.tuples(st.just("heartbeat")),
    st.tuples(st.just("estop"), st.booleans()),
    st.tuples(st.just("chain"), st.booleans()),
    st.tuples(st.just("reload"), st.integers(0, 3)),
    st.tuples(
        st.just("raw_write"),
        st.integers(0, 8),
        st.lists(st.integers(0, 0xFFFF), min_size=1, max_size=4),
    ),
)
IGNORED_ON_REFUSAL = {"fire_reject_count", "fault_code", "last_scan", "coils"}


def apply(model: PlcModel, event: tuple[object, ...]) -> None:
    kind = event[0]
    if kind == "prepare":
        pointing(model, float(event[1]), float(event[2]))  # type: ignore[arg-type]
        model.write_coil(Coil.ARM_REQUEST, True)
    elif kind == "point":
        az = float(event[1]) % (2 * math.pi)  # type: ignore[arg-type]
        model.write_holding(
            MAP,
            0,
            words("AZ_SETPOINT", az if az < 6.283 else 0.0) + words("EL_SETPOINT", float(event[2])),
        )  # type: ignore[arg-type]
    elif kind == "coil":
        model.write_coil(int(event[1]), bool(event[2]))  # type: ignore[call-overload]
    elif kind == "fire":
        model.write_coil(Coil.FIRE, True)
    elif kind == "heartbeat":
        model.write_coil(Coil.HEARTBEAT, not model.coils[Coil.HEARTBEAT])
    elif kind == "estop":
        model.estop_pressed = bool(event[1])
    elif kind == "chain":
        model.interlock_open = bool(event[1])
    elif kind == "reload":
        model.reload(int(event[1]))  # type: ignore[call-overload]
    elif kind == "raw_write":
        with contextlib.suppress(PlcWriteError):
            model.write_holding(MAP, int(event[1]), list(event[2]))  # type: ignore[call-overload, arg-type]


def comparable(model: PlcModel) -> dict[str, object]:
    state = {
        f.name: copy.deepcopy(getattr(model, f.name))
        for f in fields(model)
        if f.name not in IGNORED_ON_REFUSAL
    }
    state["coils_except_fire"] = [c for i, c in enumerate(model.coils) if i != Coil.FIRE]
    return state


def in_default_sector(model: PlcModel) -> bool:
    """The ICD's default no-fire sectors, bounds included (rule 6), in degrees: the oracle's own
    sector test, independent of ``InhibitSector``."""
    az_deg = math.degrees(model.az.position_rad) % 360.0
    el_deg = math.degrees(model.el.position_rad)
    return 170.0 <= az_deg <= 190.0 or el_deg <= 3.0


def checked_scan(model: PlcModel, history: dict[str, int | None]) -> None:
    """One scan, with every safety property checked on its outcome."""
    fire_pending = model.coils[Coil.FIRE]
    published_ready = model.ready_to_fire  # what the host could see when it wrote FIRE
    counterfactual = copy.deepcopy(model) if fire_pending else model  # the scan without FIRE
    if fire_pending:
        counterfactual.coils[Coil.FIRE] = False
        counterfactual.scan()
    rounds_before = model.rounds_ready
    launches_before = model.launch_count
    state_before = model.arm_state
    record = model.scan()

    # 1. the fire rule (ICD v1.1, scan rule 5), stated independently: a pending FIRE launches
    # exactly when READY_TO_FIRE was published at the end of the previous scan and every
    # condition of READY_TO_FIRE still holds in this scan; no launch without a FIRE
    holds_now = fire_pending and (
        counterfactual.arm_state is ArmState.ARMED
        and counterfactual.in_position
        and counterfactual.rounds_ready > 0
        and not counterfactual.estop_pressed
        and not counterfactual.interlock_open
        and counterfactual.latched_fault is FaultCode.NONE
        and not in_default_sector(counterfactual)
    )
    if fire_pending:
        assert counterfactual.ready_to_fire == holds_now
    assert record.launched == (fire_pending and published_ready and holds_now)
    if model.launch_count != launches_before:
        assert record.launched and record.ready_to_fire and published_ready
        assert model.estop_ok and model.chain_ok and not model.fault
        assert model.in_position and not in_default_sector(model) and rounds_before > 0
        assert state_before is ArmState.ARMED
        assert model.launch_count == (launches_before + 1) & 0xFFFF
    assert not (record.launched and not record.ready_to_fire)
    # 2. SAFE follows e-stop, an open interlock chain or watchdog expiry within one scan
    if model.estop_pressed or model.interlock_open or model.watchdog_tripped:
        assert model.arm_state is ArmState.SAFE
        assert not model.ready_to_fire
    # 3. a refused FIRE changes nothing but the reject counter (and FAULT_CODE for that scan)
    if fire_pending and not record.launched:
        assert record.fire_rejected
        assert comparable(model) == comparable(counterfactual)
        assert model.fault_code is FaultCode.FIRE_REJECTED
    # 4. arming never completes in under 1.0 s of continuous ARMING
    if model.arm_state is ArmState.ARMING and state_before is not ArmState.ARMING:
        history["arming_since"] = model.time_ms
    if model.arm_state is ArmState.ARMED and state_before is ArmState.ARMING:
        since = history["arming_since"]
        assert since is not None and model.time_ms - since >= ARMING_MS
    if model.arm_state is ArmState.SAFE:
        history["arming_since"] = None


@safety_property
@given(st.lists(EVENTS, min_size=1, max_size=40))
# the 10,000-sequence campaign's counterexample (issue 14): FIRE written 190 ms into FIRING,
# READY_TO_FIRE published 0, was launched by the scan that ended FIRING
@example(events=[("engage", 1.0, 1.0), ("scans", 19), ("coil", Coil.FIRE, True)])
def test_safety_invariants_over_random_event_sequences(events: list[tuple[object, ...]]) -> None:
    model = PlcModel()
    history: dict[str, int | None] = {"arming_since": None}
    for event in events:
        if event[0] == "scans":
            for _ in range(int(event[1])):  # type: ignore[call-overload]
                checked_scan(model, history)
        elif event[0] == "engage":  # a whole engagement: slew, arm, and request a launch
            apply(model, ("prepare", event[1], event[2]))
            for _ in range(500):
                checked_scan(model, history)
                if model.arm_state is ArmState.ARMED and model.in_position:
                    break
            apply(model, ("fire",))
            checked_scan(model, history)
        else:
            apply(model, event)
            checked_scan(model, history)
    hypothesis.event("launched" if model.launch_count else "no launch")
    hypothesis.event("fire refused" if model.fire_reject_count else "no refusal")
    hypothesis.event("watchdog tripped" if model.watchdog_tripped else "no watchdog trip")


def test_the_random_sequences_do_reach_launches() -> None:
    """The property test is only meaningful if its sequences can launch; this one does."""
    model = PlcModel()
    history: dict[str, int | None] = {"arming_since": None}
    apply(model, ("prepare", 1.0, 0.5))
    for _ in range(400):
        checked_scan(model, history)
    apply(model, ("fire",))
    checked_scan(model, history)
    assert model.launch_count == 1
