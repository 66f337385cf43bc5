"""The publisher: a thread with its own asyncio event loop that takes snapshots from the
hand-off, encodes them as JSON and publishes them with aiomqtt, so broker I/O and encoding never
run in the loop's event loop.

- Connects with a last will (``hil/<rig>/status``, retained, QoS 1: ``{"state": "offline"}``)
  and, after every (re)connect, publishes the rig's last status again (the will replaced it).
- Takes what the loop offered at most every ``BATCH_S`` and hands it to the client in the order
  offered (``hil.telemetry.outbox``); QoS 1 up to ``MAX_IN_FLIGHT`` unacknowledged at a time.
- A lost or refused TCP connection: one warning per outage, reconnect attempts with backoff
  (``BACKOFF_FIRST_S`` doubling to ``BACKOFF_MAX_S``); meanwhile what the loop offers is
  dropped and counted (``dropped_disconnected``), as are messages whose publishing failed.
- A refused CONNACK (bad user or password, not authorised): one error line naming the broker
  and the user; telemetry stops for the run, which goes on.
- ``stop``: what is queued is published and acknowledged (for at most ``FLUSH_S``: what is
  not by then is counted dropped, with one warning), then a clean DISCONNECT (the broker keeps
  the final status, not the will).

It never subscribes to anything.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import secrets
import threading
from collections.abc import Awaitable
from dataclasses import dataclass, field
from typing import Any

import aiomqtt
from aiomqtt.exceptions import MqttConnectError

from hil.telemetry.connection import ClientSettings
from hil.telemetry.handoff import HandOff
from hil.telemetry.outbox import Outbox
from hil.telemetry.snapshots import Encoded, Snapshot, StatusSnapshot, encode, offline_payload
from hil.telemetry.topics import TOPICS, topic

log = logging.getLogger(__name__)
MQTT_LOG = logging.getLogger("hil.telemetry.mqtt")
"""aiomqtt's and paho's records (debug chatter, under ``-v`` only)."""

CONNECT_TIMEOUT_S = 3.0
"""TCP connect, TLS handshake and CONNACK each within this (s); also the PUBACK wait."""
KEEPALIVE_S = 10
"""MQTT keepalive (s): the broker sends the last will 1.5 × this after the publisher fell
silent without closing its connection (a closed connection triggers it at once)."""
BACKOFF_FIRST_S = 0.25
BACKOFF_MAX_S = 5.0
MAX_IN_FLIGHT = 100
"""QoS 1 messages sent and not yet acknowledged at most (paho queues the rest in order)."""
OUTBOX_SIZE = 2 * MAX_IN_FLIGHT
"""Messages handed to paho and not yet delivered at most; the rest wait in the hand-off (paho
scans its whole queue on every PUBACK: a long one costs quadratic time)."""
REFUSED_CODES = (4, 5, 134, 135)
"""CONNACK codes that end telemetry for the run: bad user name or password, not authorised
(MQTT 3.1.1 and 5 values); any other refusal is retried like a lost connection."""
UNTRUSTED_CERTIFICATE = "CERTIFICATE_VERIFY_FAILED"
"""In a TLS connection error: the broker's certificate does not verify; retrying cannot help."""
BATCH_S = 0.05
"""The publisher takes what the loop offered at most every this many seconds (latency of a
message: at most this plus the broker's)."""
FLUSH_S = 1.0
"""At the end of a run, at most this long (s) to publish what is queued and the final status
and have the QoS 1 ones acknowledged: a broker on a LAN acknowledges within milliseconds, and
one that has not in a second is stalled or too slow to wait for — the run's end (its summary,
its exit code) must not hang on it. What is still unacknowledged then is counted dropped and
said in one warning."""


@dataclass
class PublisherStats:
    """What the publisher did; written by its thread, read after it ended (or as a glance)."""

    state: str = "starting"
    """starting, connected, disconnected, refused (bad credentials), stopped, failed."""
    published: dict[str, int] = field(default_factory=lambda: dict.fromkeys(TOPICS, 0))
    dropped_disconnected: int = 0
    """Messages dropped while the broker was unreachable, or whose publishing failed."""
    reconnects: int = 0
    """Connections made after the first one."""
    error: str = ""
    """The last connection problem, one line (empty: none)."""


class Publisher:
    """Publishes ``handoff``'s snapshots for rig ``rig_name`` on its own thread (see the module
    doc). ``start`` once, ``stop`` once (from any thread) then ``join``."""

    def __init__(self, client: ClientSettings, rig_name: str, handoff: HandOff[Snapshot]) -> None:
        self.client = client
        self.rig_name = rig_name
        self.handoff = handoff
        self.stats = PublisherStats()
        self.identifier = f"hil-{rig_name}-{os.getpid()}-{secrets.token_hex(3)}"
        """The MQTT client id (unique per run, so two runs never take over each other)."""
        self._thread = threading.Thread(
            target=self._main, name=f"telemetry publisher {rig_name}", daemon=False
        )
        self._stop = threading.Event()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._wake: asyncio.Event | None = None
        self._last_status: Encoded | None = None
        self._topics = {name: topic(rig_name, name) for name in TOPICS}

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        """Ask the publisher to flush and disconnect (returns at once)."""
        self._stop.set()
        loop, wake = self._loop, self._wake
        if loop is not None and wake is not None:
            with contextlib.suppress(RuntimeError):  # its loop has already ended
                loop.call_soon_threadsafe(wake.set)

    def join(self, timeout_s: float) -> bool:
        """Wait for the thread to end (at most ``timeout_s``); True when it has."""
        self._thread.join(timeout_s)
        return not self._thread.is_alive()

    def _main(self) -> None:
        try:
            asyncio.run(self._run())
        except Exception as error:  # never into the run: say it once, count what is left
            self.stats.state, self.stats.error = "failed", f"{type(error).__name__}: {error}"
            log.error("telemetry: the publisher failed (%s); telemetry is off", self.stats.error)
        finally:
            self.stats.dropped_disconnected += self.handoff.close()

    async def _run(self) -> None:
        self._wake = asyncio.Event()
        self._loop = asyncio.get_running_loop()
        backoff_s = BACKOFF_FIRST_S
        connected_before = warned = False
        while True:
            try:
                async with self._connection() as client:
                    if connected_before:
                        self.stats.reconnects += 1
                        log.warning("telemetry: reconnected to %s", self.client.address)
                    connected_before, warned = True, False
                    self.stats.state, backoff_s = "connected", BACKOFF_FIRST_S
                    await self._serve(client)
                self.stats.state = "stopped"
                return
            except aiomqtt.MqttError as error:
                self.stats.error = one_line(error)
                if isinstance(error, MqttConnectError) and error_code(error) in REFUSED_CODES:
                    self.stats.state = "refused"
                    log.error(
                        "telemetry: %s refused the connection (%s); telemetry is off for this "
                        "run, the run goes on; check telemetry.username and the variable named "
                        "by telemetry.password_env",
                        self.client.who,
                        self.stats.error,
                    )
                    return
                if UNTRUSTED_CERTIFICATE in str(error):
                    self.stats.state = "refused"
                    log.error(
                        "telemetry: the certificate of %s is not trusted (%s); telemetry is off "
                        "for this run, the run goes on; set telemetry.ca_file to the CA that "
                        "signed it",
                        self.client.address,
                        self.stats.error,
                    )
                    return
                self.stats.state = "disconnected"
                if not warned:
                    warned = True
                    log.warning(
                        "telemetry: %s unreachable (%s); retrying, messages are dropped and "
                        "counted meanwhile",
                        self.client.who,
                        self.stats.error,
                    )
            self.stats.dropped_disconnected += len(self.handoff.take_all())
            if self._stop.is_set():
                self.stats.state = "stopped (broker unreachable)"
                return
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(backoff_s):
                    await self._wake.wait()
            if self._stop.is_set():
                self.stats.state = "stopped (broker unreachable)"
                return
            backoff_s = min(2 * backoff_s, BACKOFF_MAX_S)

    def _connection(self) -> aiomqtt.Client:
        settings = self.client
        will = aiomqtt.Will(
            self._topics["status"],
            json.dumps(offline_payload(self.rig_name)).encode(),
            qos=1,
            retain=True,
        )
        client = aiomqtt.Client(
            settings.address.host,
            settings.address.port,
            username=settings.username,
            password=settings.password,
            logger=MQTT_LOG,
            identifier=self.identifier,
            will=will,
            clean_session=True,
            timeout=CONNECT_TIMEOUT_S,
            keepalive=KEEPALIVE_S,
            max_inflight_messages=MAX_IN_FLIGHT,
            tls_context=settings.tls_context,
        )
        # the TCP connect (paho's own timeout, default 5 s) within ours too: a run's end waits
        # for an attempt under way (hil.telemetry.outbox says why paho is reached this way)
        client._client.connect_timeout = CONNECT_TIMEOUT_S
        return client

    async def _serve(self, client: aiomqtt.Client) -> None:
        """Publish until stopped (then flush for at most ``FLUSH_S``); ``MqttError`` when the
        connection breaks (what it had not delivered is counted dropped)."""
        assert self._wake is not None
        outbox = Outbox(client, self._topics, self.stats.published, OUTBOX_SIZE)
        watcher = asyncio.create_task(_watch_connection(client), name="telemetry connection")
        try:
            if self._last_status is not None:
                outbox.send(self._last_status)  # the will replaced it on the broker
            deadline: float | None = None
            while True:
                if len(outbox) >= outbox.capacity:  # the broker is slow: the hand-off fills
                    await _within(deadline, _first_of(outbox.room.wait(), watcher))
                    _raise_if_broken(watcher)
                batch = self.handoff.take(outbox.capacity - len(outbox))
                for index, snapshot in enumerate(batch):
                    encoded = encode(snapshot)
                    if isinstance(snapshot, StatusSnapshot):
                        self._last_status = encoded
                    try:
                        outbox.send(encoded)
                    except aiomqtt.MqttError:
                        self.stats.dropped_disconnected += len(batch) - index
                        raise
                if batch and len(self.handoff):
                    continue  # a backlog: on as soon as the outbox has room
                if batch:
                    # let the next batch gather: this thread wakes at most once per BATCH_S,
                    # so the loop's thread seldom has to hand it the GIL
                    await _first_of(asyncio.sleep(BATCH_S), self._wake.wait(), watcher)
                    _raise_if_broken(watcher)
                    continue
                if self._stop.is_set():
                    if deadline is None:
                        deadline = asyncio.get_running_loop().time() + FLUSH_S
                        continue  # one more look: the final status may just have come
                    break
                await _first_of(self.handoff.ready(), self._wake.wait(), watcher)
                _raise_if_broken(watcher)
            await _within(deadline, _first_of(outbox.settled.wait(), watcher))
            _raise_if_broken(watcher)
        except TimeoutError:
            undelivered = outbox.abandon() + len(self.handoff.take_all())
            self.stats.dropped_disconnected += undelivered
            messages = f"{undelivered} message{'' if undelivered == 1 else 's'}"
            self.stats.error = f"{messages} not acknowledged within {FLUSH_S:g} s at the end"
            log.warning(
                "telemetry: %s not delivered: %s did not acknowledge them within %g s at the "
                "end of the run (stalled or slow); counted as dropped in the summary",
                messages,
                self.client.address,
                FLUSH_S,
            )
        except aiomqtt.MqttError:
            self.stats.dropped_disconnected += outbox.abandon()
            raise
        finally:
            watcher.cancel()
            await asyncio.gather(watcher, return_exceptions=True)


def _raise_if_broken(watcher: asyncio.Task[None]) -> None:
    if watcher.done():
        watcher.result()  # raises MqttError: the connection broke


async def _watch_connection(client: aiomqtt.Client) -> None:
    """Returns never; raises ``MqttError`` when the connection breaks. (The client subscribes to
    nothing, so no message ever arrives: iterating only watches the connection.)"""
    async for _ in client.messages:
        pass
    raise aiomqtt.MqttError("the message iterator ended")


async def _first_of(*waits: Awaitable[Any]) -> None:
    """Wait until the first of ``waits`` finishes; cancel the others (tasks passed in are
    left running)."""
    tasks = [w if isinstance(w, asyncio.Task) else asyncio.ensure_future(w) for w in waits]
    owned = [t for t, w in zip(tasks, waits, strict=True) if t is not w]
    try:
        await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for task in owned:
            task.cancel()
        await asyncio.gather(*owned, return_exceptions=True)


async def _within(deadline: float | None, wait: Awaitable[Any]) -> None:
    async with asyncio.timeout_at(deadline):
        await wait


def error_code(error: aiomqtt.MqttCodeError) -> int | None:
    rc = error.rc
    return rc if isinstance(rc, int) or rc is None else int(rc.value)


def one_line(error: BaseException) -> str:
    text = str(error).strip().splitlines()
    return text[0] if text else type(error).__name__
