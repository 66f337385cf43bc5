"""One run's telemetry: checked and started before the rig is built, observing every cycle,
stopped as part of the run's clean shutdown (``hil.run.perform``).

Started only when the rig file has a ``[telemetry]`` table and the run is not a replay (a
replay is not the rig live). ``__aenter__`` raises ``ConfigError`` (one line) for a password
variable that is not set or a TLS file that cannot be used, before anything else starts.
``__aexit__`` offers the final retained status (``ended``, or ``failed`` when the run raised),
stops the publisher and waits for its thread (it flushes for at most ``FLUSH_S``; what is not
delivered by then is counted dropped and said in one warning).
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import time
from dataclasses import dataclass
from types import TracebackType
from typing import Any

from hil.config.rig import RigConfig
from hil.config.telemetry import TelemetryConfig
from hil.loop.timing import Histogram
from hil.telemetry.connection import client_settings
from hil.telemetry.handoff import HandOff
from hil.telemetry.observer import ObserverSettings, TelemetryObserver
from hil.telemetry.publisher import CONNECT_TIMEOUT_S, FLUSH_S, Publisher, PublisherStats
from hil.telemetry.snapshots import Snapshot, StatusSnapshot
from hil.telemetry.topics import TOPICS

log = logging.getLogger(__name__)
JOIN_S = FLUSH_S + 2 * CONNECT_TIMEOUT_S + 1.0
"""Longest wait (s) for the publisher thread at the end of a run: a flush, a connect attempt
under way, and its clean disconnect."""


@dataclass(frozen=True)
class RunIdentity:
    """What the status messages say about the run."""

    mode: str
    scenario: str
    seed: int
    armed: bool


@dataclass
class TelemetryStats:
    """A run's telemetry, for its summary: the broker, the topic prefix, and what was
    published, dropped (queue full; broker unreachable or publishing failed), reconnects,
    the publisher's final state, and the observer's time per cycle (µs)."""

    broker: str
    rig_name: str
    publisher: PublisherStats
    handoff: HandOff[Snapshot]
    observe_time: Histogram | None = None

    def summary(self) -> dict[str, Any]:
        publisher = self.publisher
        dropped_full = self.handoff.dropped
        # offered after the publisher had ended (refused, failed): the broker never got them
        not_sent = publisher.dropped_disconnected + self.handoff.refused
        timing = self.observe_time
        p99 = timing.percentile_s(99) if timing is not None else None
        return {
            "broker": self.broker,
            "topic_prefix": f"hil/{self.rig_name}/",
            "state": publisher.state,
            "published": dict(publisher.published),
            "dropped": dropped_full + not_sent,
            "dropped_queue_full": dropped_full,
            "dropped_disconnected": not_sent,
            "reconnects": publisher.reconnects,
            "error": publisher.error,
            "observe_p99_us": None if p99 is None else round(p99 * 1e6, 2),
            "observe_max_us": (
                round(timing.max_s * 1e6, 2) if timing is not None and timing.count else None
            ),
        }


def telemetry_line(summary: dict[str, Any]) -> str:
    """The run summary's text line for telemetry."""
    published = ", ".join(f"{name} {summary['published'][name]}" for name in TOPICS)
    line = (
        f"  telemetry: {summary['broker']} ({summary['topic_prefix']}), {summary['state']}; "
        f"published {published}; dropped {summary['dropped']}; reconnects "
        f"{summary['reconnects']}"
    )
    return line + (f"; last problem: {summary['error']}" if summary["error"] else "")


class TelemetrySession:
    """The telemetry of one run on ``rig`` (see the module doc)."""

    def __init__(self, rig: RigConfig, config: TelemetryConfig, identity: RunIdentity) -> None:
        self.rig = rig
        self.config = config
        self.rig_name = rig.telemetry_rig_name
        self.handoff: HandOff[Snapshot] = HandOff(config.queue_size)
        self.base_status = StatusSnapshot(
            self.rig_name,
            "starting",
            identity.mode,
            identity.scenario,
            identity.seed,
            identity.armed,
            time.time(),
        )
        self._publisher: Publisher | None = None
        self._observer: TelemetryObserver | None = None
        self.stats: TelemetryStats | None = None

    @classmethod
    def for_run(cls, rig: RigConfig, identity: RunIdentity) -> TelemetrySession | None:
        """The run's telemetry, None when the rig has none or the run is a replay."""
        if rig.telemetry is None or identity.mode == "replay":
            return None
        return cls(rig, rig.telemetry, identity)

    async def __aenter__(self) -> TelemetrySession:
        settings = client_settings(self.config)
        publisher = Publisher(settings, self.rig_name, self.handoff)
        self.stats = TelemetryStats(
            str(settings.address), self.rig_name, publisher.stats, self.handoff
        )
        self.handoff.offer(self.base_status, always=True)
        publisher.start()
        self._publisher = publisher
        log.info("telemetry: publishing to %s under hil/%s/", settings.address, self.rig_name)
        return self

    def observer(self, start_s: float) -> TelemetryObserver:
        """The run's observer; ``start_s``: the loop-clock time the run starts."""
        rig = self.rig
        settings = ObserverSettings(
            self.config.tracks_hz,
            self.config.health_hz,
            rig.radar.position_enu_m,
            rig.fire_control.max_radar_silence_s,
            rig.fire_control.max_plc_status_age_s,
        )
        observer = TelemetryObserver(
            self.handoff, self.base_status, settings, start_s, str(self.config.address)
        )
        self._observer = observer
        if self.stats is not None:
            self.stats.observe_time = observer.observe_time
        return observer

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        publisher = self._publisher
        if publisher is None:
            return
        state = "ended" if exc is None else "failed"
        if self._observer is not None:
            final = self._observer.current_status(state, None)
        else:
            final = dataclasses.replace(self.base_status, state=state)
        self.handoff.offer(final, always=True)
        publisher.stop()
        if not await asyncio.to_thread(publisher.join, JOIN_S):
            log.error("telemetry: the publisher did not stop within %.0f s", JOIN_S)
