"""The loop's unit of work: one dwell's detections with a source tag on each, and injection.

Every detection carries ``injected`` (False: the radar — bench, emulated or in-process model —
produced it; True: the loop added it) and ``truth_id`` (the scenario target id where known, −1
for clutter and for real detections of a bench radar). Tags stay aligned with the detections
through merging, tracking (by detection index) and into the engagement log.

:class:`Injector` turns a scenario's ``injected`` targets into the detections the radar would
have made in a real frame's dwell — that frame's time and antenna pose, the rig's antenna site,
the scenario's radar performance model with its own seeded noise, no clutter — so an injected
target appears only in dwells whose beam covers it.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from hil.config.scenario import ScenarioConfig
from hil.loop.sim_scenario import build_targets, radar_parameters
from sim.scan import AntennaPose
from sim.sensor import Dwell, RadarSensor

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]
BoolArray = npt.NDArray[np.bool_]


@dataclass(frozen=True, slots=True)
class TaggedFrame:
    """One dwell. ``t_s``: loop-clock time of the dwell centre; ``scenario_t_s``: the same
    instant in scenario time (for injection and truth). Antenna pose in the turntable frame
    (rad); detections in SI units (m, rad turntable azimuth, rad, m/s); ``t_arrival_s`` on the
    latency clock (``time.perf_counter``) when the frame reached the loop."""

    t_s: float
    scenario_t_s: float
    scan_id: int
    beam_az_rad: float
    beam_el_rad: float
    sweep_rad: float
    range_m: FloatArray
    az_rad: FloatArray
    el_rad: FloatArray
    vr_mps: FloatArray
    injected: BoolArray
    truth_id: IntArray
    t_arrival_s: float

    def __len__(self) -> int:
        return len(self.range_m)

    @property
    def injected_count(self) -> int:
        return int(np.count_nonzero(self.injected))


def frame_from_dwell(
    dwell: Dwell, t_s: float, scenario_t_s: float, t_arrival_s: float, injected: bool = False
) -> TaggedFrame:
    """A tagged frame from a sensor-model dwell (its truth ids kept)."""
    n = len(dwell)
    return TaggedFrame(
        t_s,
        scenario_t_s,
        dwell.pose.scan_id,
        dwell.pose.az_rad,
        dwell.pose.el_rad,
        dwell.pose.sweep_rad,
        dwell.range_m,
        dwell.az_rad,
        dwell.el_rad,
        dwell.vr_mps,
        np.full(n, injected),
        dwell.truth_id.astype(np.int64),
        t_arrival_s,
    )


class Injector:
    """Adds the scenario's ``injected`` targets to real frames (see the module doc)."""

    def __init__(self, scenario: ScenarioConfig, seed: int) -> None:
        radar = scenario.radar.model_copy(update={"clutter_per_dwell": 0.0})
        self.sensor = RadarSensor(radar_parameters(radar))
        self.targets = build_targets(scenario, "injected")
        self._rng = np.random.default_rng([seed, 0x1A1EC7])
        self.injected_detections = 0

    def __len__(self) -> int:
        return len(self.targets)

    def inject(self, frame: TaggedFrame) -> TaggedFrame:
        """The frame with the injected targets' detections of its dwell appended."""
        if not len(self.targets):
            return frame
        pose = AntennaPose(
            frame.scenario_t_s, frame.scan_id, frame.beam_az_rad, frame.beam_el_rad, frame.sweep_rad
        )
        dwell = self.sensor.observe(pose, self.targets.state_at(frame.scenario_t_s), self._rng)
        if not len(dwell):
            return frame
        self.injected_detections += len(dwell)
        return dataclasses.replace(
            frame,
            range_m=np.concatenate((frame.range_m, dwell.range_m)),
            az_rad=np.concatenate((frame.az_rad, dwell.az_rad)),
            el_rad=np.concatenate((frame.el_rad, dwell.el_rad)),
            vr_mps=np.concatenate((frame.vr_mps, dwell.vr_mps)),
            injected=np.concatenate((frame.injected, np.ones(len(dwell), bool))),
            truth_id=np.concatenate((frame.truth_id, dwell.truth_id.astype(np.int64))),
        )
