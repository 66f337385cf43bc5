"""Display topics: every message validates against the vendored Foxglove JSON schema — as
published, and in a strict form where every declared field is required and no other is allowed —
and the geometry says what it claims (ENU, bearing clockwise from north)."""

from __future__ import annotations

import copy
import json
import math
from pathlib import Path
from typing import Any

import jsonschema
import numpy as np
import pytest

from hil.recording import foxglove
from hil.recording.reader import Recording
from hil.recording.writer import Recorder

T_NS = 1_790_000_000 * 10**9 + 123_456_789


def strict(schema: dict[str, Any]) -> dict[str, Any]:
    """``schema`` with every object's properties required and nothing else allowed."""
    tightened = copy.deepcopy(schema)

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            if node.get("type") == "object" and "properties" in node:
                node["required"] = sorted(node["properties"])
                node["additionalProperties"] = False
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(tightened)
    return tightened


def assert_valid(message: dict[str, Any], name: str) -> None:
    schema = foxglove.schema(name)
    assert schema["title"] == name
    round_tripped = json.loads(json.dumps(message, allow_nan=False))
    jsonschema.validate(round_tripped, schema)
    jsonschema.validate(round_tripped, strict(schema))


def rotate(q: dict[str, float], v: np.ndarray) -> np.ndarray:
    """Rotate ``v`` by unit quaternion ``q`` (x, y, z, w)."""
    u = np.array([q["x"], q["y"], q["z"]])
    w = q["w"]
    return 2 * np.dot(u, v) * u + (w * w - np.dot(u, u)) * v + 2 * w * np.cross(u, v)


def sample_messages() -> list[tuple[str, dict[str, Any]]]:
    rng = np.random.default_rng(5)
    positions = rng.uniform(-20_000, 20_000, (12, 3))
    velocities = rng.uniform(-300, 300, (12, 3))
    velocities[0] = 0.0  # a hovering track has no arrow
    return [
        (foxglove.SCENE_UPDATE, foxglove.detections_update(T_NS, positions)),
        (foxglove.SCENE_UPDATE, foxglove.detections_update(T_NS, np.empty((0, 3)))),
        (
            foxglove.SCENE_UPDATE,
            foxglove.tracks_update(
                T_NS, np.arange(12), positions, velocities, np.arange(12) % 3 == 0
            ),
        ),
        (foxglove.SCENE_UPDATE, foxglove.tracks_update(T_NS, [], np.empty((0, 3)), [], [])),
        (foxglove.FRAME_TRANSFORM, foxglove.rig_pose(T_NS, math.radians(30), 0.1)),
        (
            foxglove.SCENE_UPDATE,
            foxglove.engagement_markers(
                T_NS, [1, 2], positions[:2], ["E1 → T0 launched", "E2 → T1 hit"], (5.0, -3.0, 1.0)
            ),
        ),
    ]


def test_every_display_message_validates_against_its_foxglove_schema() -> None:
    for name, message in sample_messages():
        assert_valid(message, name)


def test_strict_schema_catches_a_missing_or_unknown_field() -> None:
    _, message = sample_messages()[0]
    broken = copy.deepcopy(message)
    del broken["entities"][0]["spheres"][0]["color"]
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(broken, strict(foxglove.schema(foxglove.SCENE_UPDATE)))
    broken = copy.deepcopy(message)
    broken["entities"][0]["colour"] = {}
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(broken, strict(foxglove.schema(foxglove.SCENE_UPDATE)))


def test_times_split_into_sec_and_nsec() -> None:
    entity = foxglove.detections_update(T_NS, [[1.0, 2.0, 3.0]])["entities"][0]
    assert entity["timestamp"] == {"sec": 1_790_000_000, "nsec": 123_456_789}
    assert entity["frame_id"] == "rig"
    assert entity["spheres"][0]["pose"]["position"] == {"x": 1.0, "y": 2.0, "z": 3.0}


@pytest.mark.parametrize(("bearing_deg", "elevation_deg"), [(0, 0), (90, 0), (30, 20), (250, -5)])
def test_rig_pose_points_the_antenna_along_bearing_and_elevation(
    bearing_deg: float, elevation_deg: float
) -> None:
    bearing, elevation = math.radians(bearing_deg), math.radians(elevation_deg)
    pose = foxglove.rig_pose(T_NS, bearing, elevation)
    boresight = rotate(pose["rotation"], np.array([1.0, 0.0, 0.0]))
    expected = [
        math.cos(elevation) * math.sin(bearing),  # east
        math.cos(elevation) * math.cos(bearing),  # north
        math.sin(elevation),  # up
    ]
    np.testing.assert_allclose(boresight, expected, atol=1e-12)
    up = rotate(pose["rotation"], np.array([0.0, 0.0, 1.0]))
    assert up[2] > 0  # no roll: the antenna's z stays on the up side


def test_track_arrows_point_along_velocity() -> None:
    velocity = np.array([[100.0, -50.0, 20.0]])
    update = foxglove.tracks_update(T_NS, [7], [[0.0, 0.0, 1000.0]], velocity, [True])
    entity = update["entities"][0]
    assert entity["id"] == "track/7" and entity["texts"][0]["text"] == "T7"
    direction = rotate(entity["arrows"][0]["pose"]["orientation"], np.array([1.0, 0.0, 0.0]))
    np.testing.assert_allclose(direction, velocity[0] / np.linalg.norm(velocity), atol=1e-6)
    assert update["deletions"][0]["type"] == foxglove.DELETE_ALL


def test_non_finite_or_misshapen_input_is_refused_naming_the_argument() -> None:
    with pytest.raises(ValueError, match="positions_enu_m: every value must be finite"):
        foxglove.detections_update(T_NS, [[0.0, math.nan, 0.0]])
    with pytest.raises(ValueError, match=r"velocities_enu_mps: expected N×3"):
        foxglove.tracks_update(T_NS, [1], [[0.0, 0.0, 0.0]], [[1.0, 2.0]], [True])
    with pytest.raises(ValueError, match="must agree"):
        foxglove.tracks_update(T_NS, [1, 2], [[0.0, 0.0, 0.0]], [[1.0, 2.0, 3.0]], [True])
    with pytest.raises(ValueError, match="bearing_rad: must be finite"):
        foxglove.rig_pose(T_NS, math.inf)
    with pytest.raises(ValueError, match="≥ 0 ns"):
        foxglove.rig_pose(-1, 0.0)


def test_display_topics_round_trip_through_a_recording(tmp_path: Path) -> None:
    """The file carries each display topic with its schema, as Foxglove needs to draw it."""
    path = tmp_path / "display.mcap"
    messages = sample_messages()
    topic_of = {foxglove.FRAME_TRANSFORM: foxglove.TOPIC_RIG_POSE}
    with Recorder(path, foxglove.display_channels()) as recorder:
        for name, message in messages:
            recorder.record_json(topic_of.get(name, foxglove.TOPIC_TRACKS), T_NS, message)
    with Recording(path) as recording:
        read = list(recording.messages())
    assert [m.schema_name for m in read] == [name for name, _ in messages]
    for message in read:
        assert_valid(json.loads(message.payload), message.schema_name)
