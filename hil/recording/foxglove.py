"""Display topics as Foxglove well-known schemas in JSON encoding: Foxglove opens a recording
and draws a plan view (detections, tracks, antenna pose, engagements) without any plugin.

Pure functions from numpy arrays to JSON-able dicts. Positions and velocities are rig-local ENU
(x east, y north, z up; metres, metres per second) in ``frame_id`` (default ``"rig"``); times are
nanoseconds since the Unix epoch; bearings are radians clockwise from north, elevations radians
above the horizontal. Every number must be finite: a NaN or infinity raises ``ValueError`` naming
the argument. The schemas are vendored under ``schemas/`` (MIT, see ``schemas/LICENSE``).
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from functools import cache
from importlib import resources
from typing import Any

import numpy as np
import numpy.typing as npt

from hil.recording.channels import ChannelSpec, json_channel

FRAME_ID = "rig"
ANTENNA_FRAME_ID = "antenna"
TOPIC_DETECTIONS = "/display/detections"
TOPIC_TRACKS = "/display/tracks"
TOPIC_RIG_POSE = "/display/rig_pose"
TOPIC_ENGAGEMENTS = "/display/engagements"
SCENE_UPDATE = "foxglove.SceneUpdate"
FRAME_TRANSFORM = "foxglove.FrameTransform"

DETECTION_COLOUR = (1.0, 0.85, 0.1, 0.9)
TENTATIVE_COLOUR = (0.6, 0.6, 0.6, 0.8)
CONFIRMED_COLOUR = (0.1, 0.8, 0.2, 1.0)
ENGAGEMENT_COLOUR = (0.95, 0.15, 0.1, 1.0)
DELETE_ALL = 1
"""foxglove.SceneEntityDeletionType.ALL: clear the topic's earlier entities."""
LINE_STRIP = 0
"""foxglove.LinePrimitive.type LINE_STRIP."""

DISPLAY_DECIMALS_M = 3
"""Track positions on display topics are rounded to the millimetre (shorter JSON; the exact
values are in the binary cycle topics)."""
QUATERNION_DECIMALS = 7
"""Arrow orientations rounded to 1e-7 (about 0.00001°)."""
Vector = npt.ArrayLike


@cache
def schema(name: str) -> dict[str, Any]:
    """The vendored JSON schema of ``name`` (``foxglove.SceneUpdate`` or
    ``foxglove.FrameTransform``)."""
    text = resources.files("hil.recording").joinpath(f"schemas/{name}.json").read_text()
    loaded: dict[str, Any] = json.loads(text)
    return loaded


def display_channels() -> list[ChannelSpec]:
    """The four display topics, JSON-encoded with their Foxglove schemas."""
    return [
        json_channel(TOPIC_DETECTIONS, schema(SCENE_UPDATE)),
        json_channel(TOPIC_TRACKS, schema(SCENE_UPDATE)),
        json_channel(TOPIC_RIG_POSE, schema(FRAME_TRANSFORM)),
        json_channel(TOPIC_ENGAGEMENTS, schema(SCENE_UPDATE)),
    ]


def detections_update(
    t_ns: int, positions_enu_m: Vector, *, size_m: float = 50.0, frame_id: str = FRAME_ID
) -> dict[str, Any]:
    """One frame's detections (N×3 ENU metres) as one entity of N spheres of ``size_m``,
    replacing the previous frame's."""
    positions = _points("positions_enu_m", positions_enu_m)
    spheres = [
        {
            "pose": _pose(position),
            "size": _vector3((size_m, size_m, size_m)),
            "color": _colour(DETECTION_COLOUR),
        }
        for position in positions.tolist()
    ]
    return {
        "deletions": [],
        "entities": [_entity(t_ns, frame_id, "detections", spheres=spheres)],
    }


def tracks_update(
    t_ns: int,
    track_ids: Sequence[int] | npt.NDArray[np.integer[Any]],
    positions_enu_m: Vector,
    velocities_enu_mps: Vector,
    confirmed: Sequence[bool] | npt.NDArray[np.bool_],
    *,
    lead_time_s: float = 10.0,
    size_m: float = 80.0,
    frame_id: str = FRAME_ID,
) -> dict[str, Any]:
    """The track picture: every earlier track entity deleted, then per track a cube (green when
    confirmed, grey when tentative), an arrow along its velocity as long as the distance covered
    in ``lead_time_s``, and its id as a label."""
    positions = _points("positions_enu_m", positions_enu_m)
    velocities = _points("velocities_enu_mps", velocities_enu_mps)
    ids = np.asarray(track_ids, dtype=np.int64).reshape(-1)
    confirmed_mask = np.asarray(confirmed, dtype=bool).reshape(-1)
    if not len(ids) == len(confirmed_mask) == len(positions) == len(velocities):
        raise ValueError(
            f"tracks_update: {len(ids)} ids, {len(positions)} positions, "
            f"{len(velocities)} velocities and {len(confirmed_mask)} confirmed flags must agree"
        )
    speeds = np.linalg.norm(velocities, axis=1)
    yaws = np.arctan2(velocities[:, 1], velocities[:, 0])
    pitches = np.arctan2(velocities[:, 2], np.hypot(velocities[:, 0], velocities[:, 1]))
    orientations = _quaternions(yaws, pitches)
    labels_at = np.round(positions + np.array([0.0, 0.0, 2 * size_m]), DISPLAY_DECIMALS_M)
    positions = np.round(positions, DISPLAY_DECIMALS_M)
    cube_size = _vector3((size_m, size_m, size_m))
    entities = []
    for track_id, position, label_at, speed, orientation, is_confirmed in zip(
        ids.tolist(),
        positions.tolist(),
        labels_at.tolist(),
        speeds.tolist(),
        orientations,
        confirmed_mask.tolist(),
        strict=True,
    ):
        colour = _colour(CONFIRMED_COLOUR if is_confirmed else TENTATIVE_COLOUR)
        arrows = []
        if speed > 0.0:
            length = speed * lead_time_s
            arrows.append(
                {
                    "pose": _pose(position, orientation),
                    "shaft_length": 0.8 * length,
                    "shaft_diameter": size_m / 4,
                    "head_length": 0.2 * length,
                    "head_diameter": size_m / 2,
                    "color": colour,
                }
            )
        label = f"T{track_id}" + ("" if is_confirmed else "?")
        entities.append(
            _entity(
                t_ns,
                frame_id,
                f"track/{track_id}",
                cubes=[{"pose": _pose(position), "size": cube_size, "color": colour}],
                arrows=arrows,
                texts=[_text(label_at, label, colour)],
                metadata=[{"key": "confirmed", "value": "true" if is_confirmed else "false"}],
            )
        )
    return {"deletions": [_delete_all(t_ns)], "entities": entities}


def rig_pose(
    t_ns: int,
    bearing_rad: float,
    elevation_rad: float = 0.0,
    translation_enu_m: Vector = (0.0, 0.0, 0.0),
    *,
    parent_frame_id: str = FRAME_ID,
    child_frame_id: str = ANTENNA_FRAME_ID,
) -> dict[str, Any]:
    """The antenna's pose in the rig frame: its x axis points along ``bearing_rad`` (clockwise
    from north) raised by ``elevation_rad``, from ``translation_enu_m``."""
    _finite("bearing_rad", bearing_rad)
    _finite("elevation_rad", elevation_rad)
    translation = _points("translation_enu_m", translation_enu_m)
    if len(translation) != 1:
        raise ValueError("rig_pose: translation_enu_m must be one ENU point (3 values)")
    yaw = math.pi / 2 - bearing_rad
    return {
        "timestamp": _time(t_ns),
        "parent_frame_id": parent_frame_id,
        "child_frame_id": child_frame_id,
        "translation": _vector3(translation[0].tolist()),
        "rotation": _quaternion(yaw, elevation_rad),
    }


def engagement_markers(
    t_ns: int,
    engagement_ids: Sequence[int],
    target_positions_enu_m: Vector,
    labels: Sequence[str],
    launcher_position_enu_m: Vector = (0.0, 0.0, 0.0),
    *,
    frame_id: str = FRAME_ID,
) -> dict[str, Any]:
    """Open engagements: per engagement a red line from the launcher to its target and a label
    (e.g. ``"E3 → T12 launched"``) at the target; earlier markers are deleted."""
    targets = _points("target_positions_enu_m", target_positions_enu_m)
    launcher = _points("launcher_position_enu_m", launcher_position_enu_m)
    if len(launcher) != 1:
        raise ValueError("engagement_markers: launcher_position_enu_m must be one ENU point")
    if not len(engagement_ids) == len(targets) == len(labels):
        raise ValueError(
            f"engagement_markers: {len(engagement_ids)} ids, {len(targets)} targets and "
            f"{len(labels)} labels must agree"
        )
    colour = _colour(ENGAGEMENT_COLOUR)
    entities = [
        _entity(
            t_ns,
            frame_id,
            f"engagement/{engagement_id}",
            lines=[
                {
                    "type": LINE_STRIP,
                    "pose": _pose((0.0, 0.0, 0.0)),
                    "thickness": 3.0,
                    "scale_invariant": True,
                    "points": [_vector3(launcher[0].tolist()), _vector3(target)],
                    "color": colour,
                    "colors": [],
                    "indices": [],
                }
            ],
            texts=[_text(target, label, colour)],
        )
        for engagement_id, target, label in zip(
            engagement_ids, targets.tolist(), labels, strict=True
        )
    ]
    return {"deletions": [_delete_all(t_ns)], "entities": entities}


def _entity(
    t_ns: int,
    frame_id: str,
    entity_id: str,
    *,
    arrows: list[dict[str, Any]] | None = None,
    cubes: list[dict[str, Any]] | None = None,
    spheres: list[dict[str, Any]] | None = None,
    lines: list[dict[str, Any]] | None = None,
    texts: list[dict[str, Any]] | None = None,
    metadata: list[dict[str, str]] | None = None,
) -> dict[str, Any]:
    """A foxglove.SceneEntity with every field present (empty lists for unused primitives)."""
    return {
        "timestamp": _time(t_ns),
        "frame_id": frame_id,
        "id": entity_id,
        "lifetime": {"sec": 0, "nsec": 0},
        "frame_locked": False,
        "metadata": metadata or [],
        "arrows": arrows or [],
        "cubes": cubes or [],
        "spheres": spheres or [],
        "cylinders": [],
        "lines": lines or [],
        "triangles": [],
        "texts": texts or [],
        "models": [],
    }


def _delete_all(t_ns: int) -> dict[str, Any]:
    return {"timestamp": _time(t_ns), "type": DELETE_ALL, "id": ""}


def _text(position: Sequence[float], text: str, colour: dict[str, float]) -> dict[str, Any]:
    return {
        "pose": _pose(position),
        "billboard": True,
        "font_size": 14.0,
        "scale_invariant": True,
        "color": colour,
        "text": text,
    }


def _time(t_ns: int) -> dict[str, int]:
    if t_ns < 0:
        raise ValueError(f"a display time must be ≥ 0 ns since the Unix epoch, got {t_ns}")
    sec, nsec = divmod(int(t_ns), 1_000_000_000)
    return {"sec": sec, "nsec": nsec}


def _pose(position: Sequence[float], orientation: dict[str, float] | None = None) -> dict[str, Any]:
    return {
        "position": _vector3(position),
        "orientation": orientation or {"x": 0.0, "y": 0.0, "z": 0.0, "w": 1.0},
    }


def _vector3(values: Sequence[float]) -> dict[str, float]:
    x, y, z = values
    return {"x": float(x), "y": float(y), "z": float(z)}


def _colour(rgba: tuple[float, float, float, float]) -> dict[str, float]:
    r, g, b, a = rgba
    return {"r": r, "g": g, "b": b, "a": a}


def _quaternions(
    yaws_rad: npt.NDArray[np.float64], pitches_up_rad: npt.NDArray[np.float64]
) -> list[dict[str, float]]:
    """``_quaternion`` for arrays of yaws and pitches: the rotations taking +x onto each
    direction, without roll."""
    sz, cz = np.sin(yaws_rad / 2), np.cos(yaws_rad / 2)
    sy, cy = np.sin(-pitches_up_rad / 2), np.cos(-pitches_up_rad / 2)
    parts = np.stack([-sz * sy, cz * sy, sz * cy, cz * cy], axis=1)
    parts = np.round(parts, QUATERNION_DECIMALS).tolist()
    return [{"x": x, "y": y, "z": z, "w": w} for x, y, z, w in parts]


def _quaternion(yaw_rad: float, pitch_up_rad: float) -> dict[str, float]:
    """Yaw about +z (counter-clockwise from east), then raise +x by ``pitch_up_rad``:
    q = q_z(yaw) · q_y(−pitch)."""
    sz, cz = math.sin(yaw_rad / 2), math.cos(yaw_rad / 2)
    sy, cy = math.sin(-pitch_up_rad / 2), math.cos(-pitch_up_rad / 2)
    return {"x": -sz * sy, "y": cz * sy, "z": sz * cy, "w": cz * cy}


def _points(name: str, values: Vector) -> npt.NDArray[np.float64]:
    points = np.asarray(values, dtype=np.float64)
    if points.ndim == 1 and points.size in (0, 3):
        points = points.reshape(-1, 3)
    if points.ndim != 2 or points.shape[1] != 3:
        raise ValueError(f"{name}: expected N×3 ENU values, got shape {points.shape}")
    if not np.isfinite(points).all():
        raise ValueError(f"{name}: every value must be finite (a NaN or infinity was given)")
    return points


def _finite(name: str, value: float) -> None:
    if not math.isfinite(value):
        raise ValueError(f"{name}: must be finite, got {value}")
