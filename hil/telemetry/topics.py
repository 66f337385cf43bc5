"""The telemetry topics of one rig, ``hil/<rig>/<name>``, with their QoS and retain flags."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

TopicName = Literal["status", "tracks", "health", "interlocks", "events"]


@dataclass(frozen=True)
class TopicSpec:
    """How one topic is published: MQTT QoS (0 at most once, 1 at least once) and whether the
    broker keeps the last message for late subscribers."""

    qos: int
    retain: bool


TOPICS: dict[TopicName, TopicSpec] = {
    "status": TopicSpec(qos=1, retain=True),
    "tracks": TopicSpec(qos=0, retain=False),
    "health": TopicSpec(qos=0, retain=False),
    "interlocks": TopicSpec(qos=1, retain=False),
    "events": TopicSpec(qos=1, retain=False),
}
"""Every topic the publisher uses; ``status`` is also the last will's topic."""

PREFIX = "hil"


def topic(rig_name: str, name: TopicName) -> str:
    """``hil/<rig_name>/<name>``."""
    return f"{PREFIX}/{rig_name}/{name}"


def rig_filter(rig_name: str) -> str:
    """The subscription filter for every topic of one rig (``+`` for every rig)."""
    return f"{PREFIX}/{rig_name}/#"
