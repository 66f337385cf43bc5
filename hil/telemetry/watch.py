"""The subscriber behind ``hil telemetry watch``: every message of one rig's (or every rig's)
telemetry topics, parsed, handed to a display callback. It only reads: it publishes nothing.

Once connected it reconnects by itself with backoff (each loss reported to the callback as a
``WatchedMessage`` with ``name`` ``connection``). A first connection that cannot be made ends
it with a ``HilError`` of one line: a refused CONNACK (bad user or password) naming the broker
and the user, a refused or failed connection, or a broker that did not answer (a listener that
accepts TCP and sends no CONNACK, a TLS handshake never answered).
"""

from __future__ import annotations

import asyncio
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
    UNTRUSTED_CERTIFICATE,
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
    cancelled); returns how many were shown.

    ``seconds`` bounds all of it, the first connection included: every connection attempt
    (TCP connect, TLS handshake, CONNACK) is given at most the time left. ``HilError`` when the
    first connection is not made — the broker refused the user, refused the connection, or did
    not answer (within ``CONNECT_TIMEOUT_S`` or ``seconds``, whichever is shorter). Once
    connected, a lost connection is shown (a ``connection`` message) and retried with backoff."""
    shown = 0
    loop = asyncio.get_running_loop()
    deadline = None if math.isinf(seconds) else loop.time() + seconds
    backoff_s = BACKOFF_FIRST_S
    connected = False
    try:
        async with asyncio.timeout_at(deadline):
            while True:
                up = False
                attempt_s = _attempt_s(deadline, loop.time())
                try:
                    async with _client(client, attempt_s) as session:
                        await session.subscribe(rig_filter(rig), qos=1)
                        up = connected = True
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
                    if not connected:
                        raise HilError(not_connected(client, error, attempt_s)) from error
                    what = "lost" if up else "could not reconnect to"
                    show(connection_note(f"{what} {client.address} ({one_line(error)}); retrying"))
                await asyncio.sleep(backoff_s)  # backoff between attempts, not a condition
                backoff_s = min(2 * backoff_s, BACKOFF_MAX_S)
    except TimeoutError:
        if not connected:  # the first attempt was still under way when the time was up
            raise HilError(
                f"telemetry watch: broker {client.address} did not answer within {seconds:g} s "
                f"(--seconds); {NOT_ANSWERING_HINT}"
            ) from None
    return shown


NOT_ANSWERING_HINT = (
    "check the broker's host, port and scheme (mqtt:// or mqtts://) and that the broker is "
    "running and not stopped: a stopped one, or another service on that port, may still accept "
    "the TCP connection"
)


def not_connected(client: ClientSettings, error: aiomqtt.MqttError, attempt_s: float) -> str:
    """The error line for a first connection attempt that failed (not a refused user)."""
    detail = one_line(error)
    if "timed out" in detail.lower():
        return (
            f"telemetry watch: broker {client.address} did not answer within {attempt_s:g} s "
            f"({detail}); {NOT_ANSWERING_HINT}"
        )
    if UNTRUSTED_CERTIFICATE in detail:
        hint = "pass --ca-file with the CA that signed the broker's certificate"
    else:
        hint = "check the broker's host and port and that the broker is running"
    return f"telemetry watch: could not connect to broker {client.address} ({detail}); {hint}"


def _attempt_s(deadline: float | None, now: float) -> float:
    """The time (s) one connection attempt may take: ``CONNECT_TIMEOUT_S``, or less when the
    watch ends sooner (never below 10 ms: paho needs a positive socket timeout)."""
    if deadline is None:
        return CONNECT_TIMEOUT_S
    return max(0.01, min(CONNECT_TIMEOUT_S, deadline - now))


def _client(settings: ClientSettings, timeout_s: float) -> aiomqtt.Client:
    client = aiomqtt.Client(
        settings.address.host,
        settings.address.port,
        username=settings.username,
        password=settings.password,
        logger=logging.getLogger("hil.telemetry.mqtt"),
        identifier=f"hil-watch-{os.getpid()}-{secrets.token_hex(3)}",
        timeout=timeout_s,
        keepalive=KEEPALIVE_S,
        tls_context=settings.tls_context,
    )
    # paho's TCP connect and TLS handshake run in an executor thread, each with paho's own
    # socket timeout (default 5 s) that cancelling the await does not stop (and asyncio.run
    # waits for that thread at exit): bound them by this attempt's time too
    client._client.connect_timeout = timeout_s
    return client
