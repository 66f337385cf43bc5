"""The subscriber behind ``hil telemetry watch``: every message of one rig's (or every rig's)
telemetry topics, parsed, handed to a display callback. It only reads: it publishes nothing.

Reconnects by itself with backoff (each loss reported to the callback as a ``WatchedMessage``
with ``name`` ``connection``); a refused CONNACK (bad user or password) ends it with a
``HilError`` naming the broker and the user.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import math
import os
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import aiomqtt
from aiomqtt.exceptions import MqttConnectError

from hil.errors import HilError
from hil.telemetry.connection import ClientSettings
from hil.telemetry.publisher import (
    BACKOFF_FIRST_S,
    BACKOFF_MAX_S,
    CONNECT_TIMEOUT_S,
    KEEPALIVE_S,
    REFUSED_CODES,
    error_code,
    one_line,
)
from hil.telemetry.topics import PREFIX, rig_filter

log = logging.getLogger(__name__)
ALL_RIGS = "+"


@dataclass(frozen=True)
class WatchedMessage:
    """One message as received: its topic, the rig and topic name taken from it, the payload
    (parsed JSON; None when it is not JSON: ``problem`` says why), retained (a message the
    broker kept from before), and the host's Unix time of arrival (s)."""

    topic: str
    rig: str
    name: str
    payload: dict[str, Any] | None
    retained: bool
    received_unix_s: float
    problem: str = ""

    def as_json(self) -> dict[str, Any]:
        return {
            "topic": self.topic,
            "rig": self.rig,
            "name": self.name,
            "retained": self.retained,
            "received_unix_s": round(self.received_unix_s, 6),
            "payload": self.payload,
            "problem": self.problem or None,
        }


def parse(topic: str, body: bytes, retained: bool) -> WatchedMessage:
    """A received message as a ``WatchedMessage`` (never raises)."""
    parts = topic.split("/")
    rig, name = (parts[1], parts[2]) if len(parts) == 3 and parts[0] == PREFIX else ("?", topic)
    now = time.time()
    try:
        payload = json.loads(body)
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        return WatchedMessage(topic, rig, name, None, retained, now, f"not JSON: {error}")
    if not isinstance(payload, dict):
        return WatchedMessage(topic, rig, name, None, retained, now, "not a JSON object")
    return WatchedMessage(topic, rig, name, payload, retained, now)


def connection_note(text: str) -> WatchedMessage:
    """A note on the watcher's own connection, shown like a message."""
    payload = {"state": text}
    return WatchedMessage("", "", "connection", payload, False, time.time())


async def watch(
    client: ClientSettings,
    rig: str,
    seconds: float,
    show: Callable[[WatchedMessage], None],
) -> int:
    """Show every message under ``hil/<rig>/`` (``+``: every rig) for ``seconds`` (inf: until
    cancelled); returns how many were shown."""
    shown = 0
    deadline = None if math.isinf(seconds) else asyncio.get_running_loop().time() + seconds
    backoff_s = BACKOFF_FIRST_S
    with contextlib.suppress(TimeoutError):
        async with asyncio.timeout_at(deadline):
            while True:
                try:
                    async with _client(client) as session:
                        await session.subscribe(rig_filter(rig), qos=1)
                        show(connection_note(f"connected to {client.address}, subscribed"))
                        backoff_s = BACKOFF_FIRST_S
                        async for message in session.messages:
                            body = message.payload
                            raw = body if isinstance(body, bytes) else str(body).encode()
                            show(parse(str(message.topic), raw, bool(message.retain)))
                            shown += 1
                except aiomqtt.MqttError as error:
                    if isinstance(error, MqttConnectError) and error_code(error) in REFUSED_CODES:
                        raise HilError(
                            f"{client.who} refused the connection ({one_line(error)}); check "
                            "--username and the variable named by --password-env"
                        ) from error
                    show(connection_note(f"lost {client.address} ({one_line(error)}); retrying"))
                await asyncio.sleep(backoff_s)  # backoff between attempts, not a condition
                backoff_s = min(2 * backoff_s, BACKOFF_MAX_S)
    return shown


def _client(settings: ClientSettings) -> aiomqtt.Client:
    return aiomqtt.Client(
        settings.address.host,
        settings.address.port,
        username=settings.username,
        password=settings.password,
        logger=logging.getLogger("hil.telemetry.mqtt"),
        identifier=f"hil-watch-{os.getpid()}-{secrets.token_hex(3)}",
        timeout=CONNECT_TIMEOUT_S,
        keepalive=KEEPALIVE_S,
        tls_context=settings.tls_context,
    )
