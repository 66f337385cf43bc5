"""The engagement state machine: the good path reaches a launch, and no sequence of frames,
link failures and operator events gets a launch request out while any interlock is false.

The oracle below re-derives every interlock from the cycle's raw inputs, independently of
``hil.fire_control.interlocks``.
"""

from __future__ import annotations

import dataclasses
import itertools
import math
from dataclasses import dataclass, field

import numpy as np
import pytest
from hypothesis import event, given
from hypothesis import strategies as st
from safety_campaign import safety_property

from firmware_stubs.plc.model import SCAN_MS, PlcModel, PlcSettings
from hil.config.fire_control import FireControlConfig
from hil.config.plc_emulator import InhibitSectorConfig
from hil.fire_control.engagement import Demand, Engagement, Phase, TrackPicture
from hil.fire_control.interlocks import LauncherStatus
from hil.fire_control.solution import solve
from hil.loop.launchers import InProcessLauncher

CONFIG = FireControlConfig()
LAUNCHER = (25.0, 0.0, 0.0)
TRACK_ID = 7


@dataclass
class World:
    """One inbound target, a launcher that may or may not follow its demands, a PLC."""

    t_s: float = 0.0
    position: np.ndarray = field(default_factory=lambda: np.array([1000.0, 9000.0, 1200.0]))
    velocity: np.ndarray = field(default_factory=lambda: np.array([-20.0, -200.0, 0.0]))
    az_rad: float = 0.0
    el_rad: float = 0.0
    launch_count: int = 0
    reject_count: int = 0

    def picture(self, present: bool, age_s: float, velocity_sigma: float) -> TrackPicture:
        if not present:
            return TrackPicture.empty(self.t_s)
        return TrackPicture(
            self.t_s,
            np.array([TRACK_ID]),
            self.position[None, :].copy(),
            self.velocity[None, :].copy(),
            np.array([age_s]),
            np.array([velocity_sigma]),
            np.array([True]),
            np.array([3]),
        )


def distance_to_default_sectors_deg(az_rad: float, el_rad: float) -> float:
    """Great-circle angle (degrees) from a pointing to the nearest point of the ICD's default
    no-fire sectors (azimuth 170°–190° at any elevation; any azimuth at or below 3°), bounds
    included: 0 inside. Spherical trigonometry, independent of the software's box test."""
    az_deg, el_deg = math.degrees(az_rad) % 360.0, math.degrees(el_rad)
    low = max(0.0, el_deg - 3.0)  # straight down the meridian to the 3° cone
    if 170.0 <= az_deg <= 190.0:
        return 0.0
    offset = math.radians(min(abs(az_deg - 170.0), abs(az_deg - 190.0)))
    if offset >= math.pi / 2:  # the nearest point of the half-plane is the zenith
        meridian = 90.0 - abs(el_deg)
    else:  # distance to a meridian half-plane: sin d = cos(el) sin(Δaz)
        meridian = math.degrees(math.asin(math.cos(el_rad) * math.sin(offset)))
    return min(low, meridian)


def oracle_allows_fire(
    world: World,
    picture: TrackPicture,
    launcher: LauncherStatus,
    radar_age_s: float,
    operator_armed: bool,
) -> bool:
    """Every interlock, from the raw inputs of the cycle."""
    if not len(picture.ids) or not operator_armed:
        return False
    if not picture.age_s[0] <= CONFIG.max_track_age_s:
        return False
    if not picture.velocity_sigma_mps[0] <= CONFIG.max_velocity_sigma_mps:
        return False
    s = solve(np.array(LAUNCHER), picture.position_enu_m[0], picture.velocity_enu_mps[0], CONFIG)
    if not s.valid:
        return False
    cos_error = math.sin(launcher.el_rad) * math.sin(s.el_rad) + math.cos(
        launcher.el_rad
    ) * math.cos(s.el_rad) * math.cos(launcher.az_rad - s.az_rad)
    if not math.degrees(math.acos(min(1.0, cos_error))) <= CONFIG.pointing_tolerance_deg:
        return False
    if distance_to_default_sectors_deg(s.az_rad, s.el_rad) <= CONFIG.pointing_tolerance_deg:
        return False  # some pointing within tolerance of the solution lies in a sector
    if not (launcher.link_up and world.t_s - launcher.t_s <= CONFIG.max_plc_status_age_s):
        return False
    if not radar_age_s <= CONFIG.max_radar_silence_s:
        return False
    return launcher.ready_to_fire and launcher.estop_ok and launcher.interlock_chain_ok


STEP_CHOICES: dict[str, tuple[object, ...]] = {
    "dt_s": (0.05, 0.01, 0.3, 1.0, 3.0),
    "operator_armed": (True, True, True, True, False),
    "link_up": (True, True, True, True, False),
    "status_age_s": (0.02, 0.0, 0.4, 1.0),
    "ready_to_fire": (True, True, True, True, False),
    "estop_ok": (True, True, True, True, False),
    "chain_ok": (True, True, True, True, False),
    "in_position": (True, True, True, True, False),
    "follows": (True, True, True, True, False),
    "present": (True, True, True, True, False),
    "track_age_s": (0.0, 2.0, 10.0),
    "velocity_sigma": (3.0, 3.0, 40.0),
    "radar_age_s": (0.01, 0.01, 0.3, 2.0, math.inf),
    "plc_launches": (True, False),
    "plc_rejects": (False, True),
}
"""Every input of a cycle and the values it may take, the good one first: "mostly" inputs hold
four times in five. One byte of a drawn step picks each input's value (byte mod choices)."""

FIELDS = tuple(STEP_CHOICES)
STEP_BYTES = len(FIELDS) + 2
"""A drawn step: one byte per input, then two that say whether it is a nearly-good step and
which (up to two) inputs it draws (``decode_step``)."""


def decode_step(drawn: bytes) -> dict[str, object]:
    """The cycle a drawn step stands for: an arbitrary cycle (every input drawn), or half the
    time a good cycle with up to two of its inputs drawn — sequences of these get through the
    phases to launch requests (and FIRING, refusals, lost links around them) far more often.
    All-zero bytes are the good cycle, so hypothesis shrinks towards it.

    The whole step is one hypothesis draw, not one per input: the 10,000-sequence campaign
    spent nine tenths of its time drawing (fixed_dictionaries of sampled_from, 20-odd draws a
    step), not stepping the engagement."""
    arbitrary = {
        name: choices[drawn[i] % len(choices)]
        for i, (name, choices) in enumerate(STEP_CHOICES.items())
    }
    selector, second = drawn[-2], drawn[-1]
    if not selector & 1:
        return arbitrary
    picked = {(selector >> 1) % 16, second % 16}  # 15 picks none: 0, 1 or 2 inputs drawn
    return {**GOOD, **{FIELDS[i]: arbitrary[FIELDS[i]] for i in picked if i < len(FIELDS)}}


steps_drawn = st.lists(
    st.binary(min_size=STEP_BYTES, max_size=STEP_BYTES).map(decode_step), min_size=1, max_size=300
)


def run_steps(steps: list[dict[str, object]]) -> tuple[Engagement, list[Demand]]:
    world = World()
    engagement = Engagement(CONFIG, LAUNCHER)
    demands: list[Demand] = []
    last: Demand = Demand()
    for s in steps:
        world.t_s += float(s["dt_s"])  # type: ignore[arg-type]
        world.position = world.position + world.velocity * float(s["dt_s"])  # type: ignore[arg-type]
        if s["follows"] and last.pointing and math.isfinite(last.az_rad):
            world.az_rad, world.el_rad = last.az_rad, last.el_rad
        if last.fire and s["plc_launches"]:
            world.launch_count += 1
        elif last.fire and s["plc_rejects"]:
            world.reject_count += 1
        launcher = LauncherStatus(
            t_s=world.t_s - float(s["status_age_s"]),  # type: ignore[arg-type]
            link_up=bool(s["link_up"]),
            az_rad=world.az_rad,
            el_rad=world.el_rad,
            arm_state=2 if s["operator_armed"] else 0,
            ready_to_fire=bool(s["ready_to_fire"]),
            in_position=bool(s["in_position"]),
            estop_ok=bool(s["estop_ok"]),
            interlock_chain_ok=bool(s["chain_ok"]),
            launch_count=world.launch_count,
            fire_reject_count=world.reject_count,
        )
        picture = world.picture(
            bool(s["present"]),
            float(s["track_age_s"]),  # type: ignore[arg-type]
            float(s["velocity_sigma"]),  # type: ignore[arg-type]
        )
        radar_age = float(s["radar_age_s"])  # type: ignore[arg-type]
        armed = bool(s["operator_armed"])
        demand = engagement.step(picture, launcher, radar_age, armed)
        if demand.fire:
            assert oracle_allows_fire(world, picture, launcher, radar_age, armed), (
                "launch request with an interlock open"
            )
            assert demand.interlocks is not None and demand.interlocks.all_hold
        if demand.arm:
            assert armed, "arm requested without the operator having armed the session"
        demands.append(demand)
        last = demand
    return engagement, demands


GOOD = {
    "dt_s": 0.05,
    "operator_armed": True,
    "link_up": True,
    "status_age_s": 0.02,
    "ready_to_fire": True,
    "estop_ok": True,
    "chain_ok": True,
    "in_position": True,
    "follows": True,
    "present": True,
    "track_age_s": 0.0,
    "velocity_sigma": 3.0,
    "radar_age_s": 0.01,
    "plc_launches": True,
    "plc_rejects": False,
}


def test_the_good_path_launches_once_and_goes_back_to_idle() -> None:
    engagement, demands = run_steps([GOOD] * 400)
    assert sum(d.fire for d in demands) == 1
    assert engagement.launches == 1 and engagement.launch_requests == 1
    record = engagement.records[0]
    assert (record.outcome, record.track_id, record.source, record.truth_id) == (
        "launched",
        TRACK_ID,
        "injected",
        3,
    )
    assert record.time_of_flight_s is not None and record.time_of_flight_s > 0
    # after the assessment the same track is not engaged again
    assert engagement.phase in (Phase.ASSESS, Phase.IDLE)


def test_without_the_operator_nothing_is_armed_or_requested() -> None:
    engagement, demands = run_steps([{**GOOD, "operator_armed": False}] * 400)
    assert not any(d.fire or d.arm for d in demands)
    assert engagement.phase is Phase.READY
    assert engagement.records[0].interlocks_failing_at_end == ("operator_armed",)


def test_a_refused_request_is_not_retried_blindly() -> None:
    refusing = {**GOOD, "plc_launches": False, "plc_rejects": True}
    engagement, demands = run_steps([refusing] * 200)
    assert engagement.launch_requests_refused >= 1
    fire_cycles = [i for i, d in enumerate(demands) if d.fire]
    # a refused track is held for refused_hold_s (5 s = 100 cycles) before it may be retried
    gaps = [b - a for a, b in itertools.pairwise(fire_cycles)]
    assert all(gap >= CONFIG.refused_hold_s / 0.05 for gap in gaps)
    assert engagement.records[0].outcome == "refused"


@safety_property
@given(steps_drawn)
def test_no_launch_request_while_any_interlock_is_open(steps: list[dict[str, object]]) -> None:
    engagement, demands = run_steps(steps)
    # label the sequences so --hypothesis-show-statistics shows how many reach a request
    event(f"launch requests: {min(engagement.launch_requests, 2)}")
    event(f"furthest phase reached: {max((d.fire, d.arm, d.pointing) for d in demands)}")


def test_a_silent_radar_or_stale_track_ends_the_engagement_and_the_arm_request() -> None:
    ready = [GOOD] * 40  # slewed and ready, the PLC not yet ready to fire
    ready = [{**s, "ready_to_fire": False} for s in ready]
    for silence in ({"radar_age_s": 2.0}, {"track_age_s": 10.0}):
        engagement, demands = run_steps([*ready, {**ready[-1], **silence}])
        assert demands[-2].arm and not demands[-1].arm
        assert engagement.phase is Phase.IDLE
        assert engagement.records[0].outcome == "aborted"
        assert not any(d.fire for d in demands)


# --- the no-fire sectors end to end: engagement → in-process PLC (the emulator's scan logic) ---

WRAP_SECTOR = InhibitSectorConfig(az_deg=(350.0, 10.0))
"""A no-fire sector through north, for the rig and the PLC alike."""


async def launches_on_a_line_of_sight(
    bearing_deg: float, elevation_deg: float, sectors: tuple[InhibitSectorConfig, ...] = ()
) -> tuple[int, Engagement]:
    """A target diving straight at the launcher along (bearing, elevation), so every solution
    (and the aim the launcher holds) lies on that line of sight; 20 s of 50 ms cycles with the
    in-process PLC. ``sectors`` (if any) replace the default no-fire sectors on both sides."""
    config = CONFIG.model_copy(update={"inhibit_sectors": sectors}) if sectors else CONFIG
    settings = PlcSettings(inhibit_sectors=tuple(s.to_sector() for s in sectors))
    launcher = InProcessLauncher(PlcModel(settings) if sectors else PlcModel())
    engagement = Engagement(config, (0.0, 0.0, 0.0))
    az, el = math.radians(bearing_deg), math.radians(elevation_deg)
    line = np.array([math.sin(az) * math.cos(el), math.cos(az) * math.cos(el), math.sin(el)])
    t_s = 0.0
    for _ in range(400):
        t_s += 0.05
        launcher.advance_to(t_s)
        picture = TrackPicture(
            t_s,
            np.array([TRACK_ID]),
            (line * (10_000.0 - 200.0 * t_s))[None, :],
            (line * -200.0)[None, :],
            np.array([0.0]),
            np.array([3.0]),
            np.array([False]),
            np.array([-1]),
        )
        await launcher.apply(engagement.step(picture, launcher.status(), 0.01, True))
    return launcher.model.launch_count, engagement


@pytest.mark.parametrize(
    ("bearing_deg", "elevation_deg", "sectors", "launched"),
    [
        (170.0, 15.0, (), False),  # on the default sector's bounds (included)...
        (190.0, 15.0, (), False),
        (169.7, 15.0, (), False),  # ...or within the pointing tolerance of them
        (190.3, 15.0, (), False),
        (169.0, 15.0, (), True),  # clear by more than the tolerance: the rig still fires
        (191.0, 15.0, (), True),
        (50.0, 3.2, (), False),  # 0.2° above the low sector's 3° bound
        (50.0, 4.0, (), True),
        (350.0, 15.0, (WRAP_SECTOR,), False),  # a sector through north
        (10.0, 15.0, (WRAP_SECTOR,), False),
        (0.0, 15.0, (WRAP_SECTOR,), False),
        (349.0, 15.0, (WRAP_SECTOR,), True),
        (11.0, 15.0, (WRAP_SECTOR,), True),
    ],
)
async def test_no_launch_at_or_within_tolerance_of_a_sector_edge_end_to_end(
    bearing_deg: float,
    elevation_deg: float,
    sectors: tuple[InhibitSectorConfig, ...],
    launched: bool,
) -> None:
    launches, engagement = await launches_on_a_line_of_sight(bearing_deg, elevation_deg, sectors)
    assert launches == int(launched)
    assert engagement.launch_requests == int(launched)  # refused by the software, not the PLC
    if not launched:
        assert "outside_inhibit_sectors" in engagement.records[0].interlocks_failing_at_end


async def test_the_in_process_launcher_refuses_a_fire_written_during_firing() -> None:
    """The in-process PLC (the emulator's scan logic on the simulated clock) keeps ICD rule 5 as
    the Modbus emulator does: FIRE written in the last FIRING scan is refused and counted, and the
    rig is ready again afterwards without launching it."""
    launcher = InProcessLauncher()
    aim = Demand(axes_enabled=True, pointing=True, az_rad=1.0, el_rad=0.3, arm=True)
    t_s = 0.0
    while not launcher.status().ready_to_fire:
        assert t_s < 10.0, "never ready"
        await launcher.apply(aim)
        t_s += 0.01
        launcher.advance_to(t_s)
    await launcher.apply(dataclasses.replace(aim, fire=True))
    t_s += 0.01
    launcher.advance_to(t_s)
    status = launcher.status()
    assert status.launch_count == 1 and status.arm_state == 3  # FIRING
    model = launcher.model
    t_s = (model.firing_until_ms - SCAN_MS) / 1000  # the last FIRING scan
    launcher.advance_to(t_s)
    assert launcher.status().arm_state == 3 and not launcher.status().ready_to_fire
    await launcher.apply(dataclasses.replace(aim, fire=True))
    launcher.advance_to(t_s + 0.01)  # the scan that ends FIRING
    status = launcher.status()
    assert status.arm_state == 2 and status.ready_to_fire  # ARMED and ready again...
    assert (status.launch_count, status.fire_reject_count) == (1, 1)  # ...the FIRE refused
    launcher.advance_to(t_s + 0.5)
    assert launcher.status().launch_count == 1


def test_a_drawn_step_of_zero_bytes_is_the_good_cycle_and_every_value_can_be_drawn() -> None:
    """Hypothesis shrinks a failing sequence towards zero bytes: towards good cycles."""
    assert decode_step(bytes(STEP_BYTES)) == GOOD
    for i, (name, choices) in enumerate(STEP_CHOICES.items()):
        drawn = {
            decode_step(bytes(i) + bytes([b]) + bytes(STEP_BYTES - i - 1))[name] for b in range(256)
        }
        assert drawn == set(choices)
