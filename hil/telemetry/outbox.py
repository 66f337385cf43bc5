"""Messages handed to the MQTT client on one connection, until the broker has them.

aiomqtt's ``publish`` awaits every message's completion through its event loop (a task and a
future per message: about 4,000 messages/s here). The outbox hands each message straight to
the paho client aiomqtt wraps (``Client._client``: aiomqtt ≥ 2.5, < 3 is pinned) and counts it
published from paho's ``on_publish`` (chained in front of aiomqtt's own): at QoS 0 once it is
written to the socket, at QoS 1 once the broker's PUBACK came back. paho sends in the order
``send`` was called. At most ``capacity`` messages wait at once (``room``), so paho's own
queue stays bounded too; ``settled`` is set while none waits.
"""

from __future__ import annotations

import asyncio
from typing import Any

import aiomqtt
import paho.mqtt.client as paho

from hil.telemetry.snapshots import Encoded
from hil.telemetry.topics import TOPICS, TopicName


class Outbox:
    """What one connection's client still has to deliver (see the module doc)."""

    def __init__(
        self,
        client: aiomqtt.Client,
        topics: dict[TopicName, str],
        published: dict[str, int],
        capacity: int,
    ) -> None:
        self._paho: paho.Client = client._client
        self._topics = topics
        self._published = published
        self.capacity = capacity
        self._pending: dict[int, TopicName] = {}
        self.settled = asyncio.Event()
        self.settled.set()
        self.room = asyncio.Event()
        self.room.set()
        chained = self._paho.on_publish

        def on_publish(*args: Any) -> None:  # (client, userdata, mid, reason_code, properties)
            self._delivered(args[2])
            if chained is not None:
                chained(*args)

        self._paho.on_publish = on_publish

    def __len__(self) -> int:
        return len(self._pending)

    def send(self, message: Encoded) -> None:
        """Hand ``message`` to the client; ``MqttCodeError`` when the connection is gone."""
        name = message.topic
        spec = TOPICS[name]
        info = self._paho.publish(self._topics[name], message.payload, spec.qos, spec.retain)
        if info.rc != paho.MQTT_ERR_SUCCESS:
            raise aiomqtt.MqttCodeError(info.rc, "Could not publish message")
        if info.is_published():  # written (QoS 0) before we could wait for it
            self._published[name] += 1
            return
        self._pending[info.mid] = name
        self.settled.clear()
        if len(self._pending) >= self.capacity:
            self.room.clear()

    def abandon(self) -> int:
        """Forget every message not yet delivered (the connection broke); returns how many."""
        count = len(self._pending)
        self._pending.clear()
        self.settled.set()
        self.room.set()
        return count

    def _delivered(self, mid: int) -> None:
        name = self._pending.pop(mid, None)
        if name is None:  # published inside send(), counted there
            return
        self._published[name] += 1
        if len(self._pending) < self.capacity:
            self.room.set()
        if not self._pending:
            self.settled.set()
