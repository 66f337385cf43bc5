"""The loop's view of its two device links, judged as the fire-control interlocks judge them.

- **radar** is *up* while its newest frame is at most ``max_radar_silence_s`` old (the
  ``radar_link_fresh`` interlock; before the first frame, counted from the run's start);
- **PLC** is *up* while its link is up and its newest status is at most
  ``max_plc_status_age_s`` old (the ``plc_link_healthy`` interlock).

Every change is logged once, as one warning line (``radar link lost at 3.2 s: …``, ``radar link
back at 5.0 s after 1.8 s``); outages are counted and timed. A link that is not up at the run's
last cycle is **lost** (lost and not recovered by the end): ``hil run`` then exits 4, unless the
rig's final state is unknown (3). Times are seconds on the loop clock.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass

log = logging.getLogger(__name__)


@dataclass
class LinkWatch:
    """One link's availability over a run (see the module doc). ``start_s``: the run's start."""

    name: str
    start_s: float
    up: bool = True
    outages: int = 0
    longest_outage_s: float = 0.0
    down_since_s: float | None = None
    reason: str = ""
    """Why the link went down last (the driver's last error, or the silence)."""

    def observe(self, ok: bool, now_s: float, why: Callable[[], str]) -> None:
        """The link is ``ok`` at ``now_s``; log and count a change. ``why`` is asked only
        when the link goes down."""
        if ok == self.up:
            return
        if not ok:
            self.up, self.down_since_s, self.reason = False, now_s, why()
            self.outages += 1
            log.warning("%s link lost at %.1f s: %s", self.name, now_s - self.start_s, self.reason)
            return
        since = self.down_since_s if self.down_since_s is not None else now_s
        self.longest_outage_s = max(self.longest_outage_s, now_s - since)
        self.up, self.down_since_s = True, None
        log.warning(
            "%s link back at %.1f s after %.1f s", self.name, now_s - self.start_s, now_s - since
        )

    def finish(self, now_s: float) -> None:
        """End of run: an outage still open counts up to ``now_s``."""
        if self.down_since_s is not None:
            self.longest_outage_s = max(self.longest_outage_s, now_s - self.down_since_s)

    @property
    def lost(self) -> bool:
        """Down at the end of the run (after ``finish``): lost and not recovered."""
        return not self.up

    def summary(self) -> dict[str, object]:
        since = self.down_since_s
        return {
            "lost": self.lost,
            "outages": self.outages,
            "longest_outage_s": round(self.longest_outage_s, 3),
            "lost_at_s": None if since is None else round(since - self.start_s, 3),
            "reason": self.reason if self.outages else "",
        }


@dataclass
class LinkWatches:
    """Both links of a run, fed every cycle by the loop."""

    radar: LinkWatch
    plc: LinkWatch
    max_radar_silence_s: float
    max_plc_status_age_s: float

    @classmethod
    def start(
        cls, start_s: float, max_radar_silence_s: float, max_plc_status_age_s: float
    ) -> LinkWatches:
        return cls(
            LinkWatch("radar", start_s),
            LinkWatch("PLC", start_s),
            max_radar_silence_s,
            max_plc_status_age_s,
        )

    def observe(
        self,
        now_s: float,
        frame_age_s: float,
        plc_link_up: bool,
        plc_status_t_s: float,
        radar_why: Callable[[], str],
        plc_why: Callable[[], str],
    ) -> None:
        age = min(frame_age_s, now_s - self.radar.start_s)
        self.radar.observe(age <= self.max_radar_silence_s, now_s, radar_why)
        status_age = now_s - plc_status_t_s
        plc_ok = plc_link_up and status_age <= self.max_plc_status_age_s
        self.plc.observe(plc_ok, now_s, plc_why)

    def finish(self, now_s: float) -> None:
        self.radar.finish(now_s)
        self.plc.finish(now_s)

    @property
    def lost(self) -> list[str]:
        """The links lost and not recovered by the end of the run: ``radar``, ``plc``."""
        return [key for key, w in (("radar", self.radar), ("plc", self.plc)) if w.lost]
