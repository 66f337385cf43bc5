"""The PLC driver as the loop's launcher: status polled, commands sent beside the loop.

A slow or stopped PLC must not stall tracking, so :meth:`PlcLauncher.apply` only hands the
cycle's demand over and returns; :meth:`PlcLauncher.run_sender` (a task beside the loop) writes
it. Demands are **coalesced**: while a write is on the wire, newer demands replace the waiting
one, and the sender always brings the PLC to the newest (a demand replaced before it was written
is counted, never written). Each demand's writes go out in ``plan`` order — a disarm first.

Safety rules of the sender:

- **Disarm first.** A waiting demand that drops the arm request interrupts the writes of the
  demand being sent (after the write on the wire) and goes next; the disarm is its first write.
- **FIRE is never late.** A FIRE is due within ``fire_window_s`` of the cycle that decided it
  (default: one PLC timeout). If it cannot go on the wire by then — the link down, writes ahead
  of it, a PLC slow to answer — it is dropped and counted (``fire_dropped``), never sent later.
  It is dropped too when a later demand no longer asks for the arm request (the engagement
  ended). It is sent once, never retried.
- **Make safe wins.** :meth:`make_safe` stops the sender after the write on the wire (whose
  answer must not be taken for the next request's), drops any waiting demand and FIRE, and
  writes arm off, IDLE, axes off — then reads the status back until the PLC's scans have acted
  on them (arm state SAFE, axes disabled), for at most ``SAFE_CONFIRM_S``. One read right after
  the writes is not enough: the PLC acts in its next scan, so it may still show ARMING, ARMED or
  FIRING (a FIRE on the wire before the disarm may launch in that scan).

After a failed write or a link loss the whole state (mode, axes, arm) is re-sent. Failures are
counted, not logged one by one: the loop's link watch reports the link's changes of state.
Times are host monotonic seconds (the driver's clock).
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
import math
import time
from collections.abc import Callable

from drivers.errors import DriverError, DriverTimeoutError, LinkDownError, RequestExpiredError
from drivers.plc.driver import PlcDriver, PlcLinkState, PlcStatus
from drivers.plc.types import ArmState, FaultCode, Mode
from hil.fire_control.engagement import Demand
from hil.fire_control.interlocks import LauncherStatus
from hil.loop.launchers import (
    LEVEL_WRITES,
    CommandCounts,
    Op,
    SentState,
    plan,
    status_from_plc,
    write_op,
)
from hil.loop.timing import Histogram

log = logging.getLogger(__name__)
MAKE_SAFE_S = 3.0
"""Budget of ``make_safe``: the write on the wire, the link coming back, three writes and the
read-backs."""
SAFE_CONFIRM_S = 1.0
"""How long ``make_safe`` reads the status back waiting for SAFE: 100 of the ICD's 10 ms scans
(the PLC drops to SAFE in the scan after ARM_REQUEST 0)."""
SCAN_S = 0.01
"""The ICD's PLC scan period: the read-backs' pacing (a new read sees at most one new scan)."""


class PlcLauncher:
    """See the module doc. Run :meth:`poll` and :meth:`run_sender` as tasks beside the loop."""

    def __init__(
        self,
        driver: PlcDriver,
        poll_interval_s: float = 0.05,
        fire_window_s: float | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.driver = driver
        self.name = driver.name
        self.poll_interval_s = poll_interval_s
        self.fire_window_s = driver.timeout_s if fire_window_s is None else fire_window_s
        """A FIRE not on the wire within this many seconds of its cycle is dropped."""
        self.counts = CommandCounts()
        self.delivery = Histogram()
        """From a demand's hand-over to its last write answered (demands written whole)."""
        self._clock = clock
        self._sent = SentState()
        self._latest: LauncherStatus = LauncherStatus(t_s=-math.inf, link_up=False)
        self._have_status = asyncio.Event()
        self._waiting: tuple[Demand, float] | None = None
        self._fire_due_s: float | None = None
        """Deadline of the FIRE waiting to be sent (None: none waiting)."""
        self._wake = asyncio.Event()
        self._idle = asyncio.Event()
        self._idle.set()
        self._closing = False
        self._sending = asyncio.Lock()
        """Held while the sender writes one demand; ``make_safe`` takes it to go next."""
        self._logged: set[str] = set()

    # --- status -----------------------------------------------------------------------------

    def status(self) -> LauncherStatus:
        s = self._latest
        up = self.driver.link_state is PlcLinkState.UP
        if s.link_up == up:
            return s
        return dataclasses.replace(s, link_up=up)

    def status_at(self, t_s: float) -> LauncherStatus:
        """The newest polled status (the poll runs beside the loop; ``t_s`` is not used)."""
        return self.status()

    async def first_status(self, timeout_s: float) -> LauncherStatus:
        async with asyncio.timeout(timeout_s):
            await self._have_status.wait()
        return self._latest

    async def prepare(self) -> None:
        """Start of a run: clear latched faults if the PLC allows it (the operator starting
        a run is the act that acknowledges them; e-stop and chain must be closed)."""
        status = await self.driver.read_status()
        closed = status.estop_ok and status.interlock_chain_ok
        if status.fault_code is not FaultCode.NONE and closed:
            await self.driver.reset_faults()

    async def poll(self) -> None:
        """Read the status every ``poll_interval_s`` while the link is up (runs until
        cancelled); a failed read marks the status's link down and waits for the link."""
        while True:
            try:
                status = await self.driver.read_status()
            except DriverError:
                self.counts.status_failures += 1
                self._latest = dataclasses.replace(self._latest, link_up=False)
                with contextlib.suppress(DriverError):
                    await self.driver.wait_up(self.poll_interval_s * 4)
                continue
            up = self.driver.link_state is PlcLinkState.UP
            self._latest = status_from_plc(status, up, status.t_read_s)
            self._have_status.set()
            await asyncio.sleep(self.poll_interval_s)  # pacing the poll

    def link_problem(self) -> str:
        health = self.driver.health()
        age = self._clock() - self._latest.t_s
        stale = f"no status for {age:.1f} s, " if math.isfinite(age) else "no status yet, "
        return (
            stale
            + f"link {health.link_state.value}"
            + (f" ({health.last_error})" if health.last_error else "")
        )

    # --- commands ---------------------------------------------------------------------------

    async def apply(self, demand: Demand) -> None:
        """Hand this cycle's demand to the sender and return at once (see the module doc)."""
        if self._closing:
            return
        now = self._clock()
        if self._waiting is not None:
            self.counts.coalesced += 1
        self._waiting = (dataclasses.replace(demand, fire=False), now)
        if demand.fire:
            if self._fire_due_s is not None:
                self._drop_fire("a newer FIRE replaced it")
            self._fire_due_s = now + self.fire_window_s
        elif self._fire_due_s is not None and not demand.arm:
            self._drop_fire("the arm request was dropped before it went out")
        self._idle.clear()
        self._wake.set()

    async def idle(self) -> None:
        """Wait until every demand handed over has been written, coalesced or dropped."""
        await self._idle.wait()

    async def run_sender(self) -> None:
        """Write the newest demand whenever there is one (runs until cancelled)."""
        while True:
            await self._wake.wait()
            self._wake.clear()
            while self._waiting is not None:
                if self.driver.link_state is not PlcLinkState.UP:
                    await self._wait_for_link()
                    continue
                demand, handed_s = self._waiting
                self._waiting = None
                async with self._sending:
                    if await self._write(demand):
                        self.delivery.add(self._clock() - handed_s)
            if self._waiting is None:
                self._idle.set()

    async def make_safe(self) -> LauncherStatus | None:
        """Disarm, stop pointing, disable the axes, then read the state back until the PLC
        shows SAFE with the axes off (at most ``SAFE_CONFIRM_S``); the last status read — SAFE,
        or what the PLC still showed when the read-backs ran out — or None if none could be
        read (unknown)."""
        self._closing = True
        self._waiting = None
        if self._fire_due_s is not None:
            self._drop_fire("the run ended")
        try:
            async with asyncio.timeout(MAKE_SAFE_S):
                async with self._sending:  # after the write on the wire, never beside it
                    await self.driver.wait_up(MAKE_SAFE_S)
                    await self.driver.request_arm(False)
                    await self.driver.set_mode(Mode.IDLE)
                    await self.driver.enable_axes(False)
                    status = await self._read_back_safe()
        except (DriverError, TimeoutError) as error:
            why = str(error) or f"not done within {MAKE_SAFE_S:g} s ({self.link_problem()})"
            self.counts.errors.append(f"make safe: {why}")
            log.warning("%s: could not make the launcher safe: %s", self.name, why)
            return None
        if status.arm_state is not ArmState.SAFE:
            message = (
                f"make safe: the PLC still showed {status.arm_state.name} "
                f"{SAFE_CONFIRM_S:g} s after the disarm"
            )
            self.counts.errors.append(message)
            log.warning("%s: %s", self.name, message)
        elif status.axes_enabled:
            log.warning("%s: the launcher is SAFE but its axes are still enabled", self.name)
        return status_from_plc(status, True, status.t_read_s)

    async def _read_back_safe(self) -> PlcStatus:
        """Read the status until it shows SAFE with the axes disabled and no FIRE_REJECTED,
        one read per PLC scan, for at most ``SAFE_CONFIRM_S``; the last status read.
        FIRE_REJECTED is published for the one scan that refused a FIRE (ICD rule 5, not
        latched): a FIRE written just before the disarm is refused in the scan that disarms,
        and the final state is the one after it (the refusal stays in the reject count)."""
        deadline = self._clock() + SAFE_CONFIRM_S
        while True:
            status = await self.driver.read_status()
            settled = status.fault_code is not FaultCode.FIRE_REJECTED and not status.axes_enabled
            if status.arm_state is ArmState.SAFE and settled:
                return status
            if self._clock() >= deadline:
                return status
            await asyncio.sleep(SCAN_S)  # pacing the reads: the PLC changes once per scan

    # --- internals --------------------------------------------------------------------------

    async def _wait_for_link(self) -> None:
        """The link is down: forget what the PLC was told (it may have reset to SAFE), drop a
        FIRE whose time has passed, and wait a little for the link."""
        self._sent = SentState()
        self._expire_fire()
        with contextlib.suppress(DriverError):
            await self.driver.wait_up(min(self.fire_window_s, 0.05))

    async def _write(self, demand: Demand) -> bool:
        """The writes that bring the PLC to ``demand``, then a due FIRE; True if there were
        some and all went."""
        ops = plan(demand, self._sent)
        for op in ops:
            if self._closing or self._disarm_waiting():
                return False  # the waiting demand drops the arm request: it goes first
            if not await self._op(op):
                return False
        if self._fire_due_s is not None and demand.arm and not self._closing:
            if self._disarm_waiting():
                self._drop_fire("the arm request was dropped before it went out")
                return False
            return await self._fire()
        return bool(ops)

    def _disarm_waiting(self) -> bool:
        waiting = self._waiting
        return waiting is not None and not waiting[0].arm and self._sent.arm is not False

    async def _op(self, op: Op) -> bool:
        try:
            await write_op(op, self.driver, self._sent, self.counts)
        except DriverError as error:
            self.counts.failed += 1
            self._remember(op.what, error)
            if op.what in LEVEL_WRITES:
                self._sent = SentState()  # not known what the PLC holds: send it all again
            return False
        return True

    async def _fire(self) -> bool:
        """Send the due FIRE once, or drop it if its time has passed."""
        due = self._fire_due_s
        self._fire_due_s = None
        if due is None:
            return True
        if self._clock() > due:
            self._count_dropped("its window passed before it could be sent")
            return False
        try:
            await self.driver.request_fire(not_after_s=due)
        except RequestExpiredError:
            self._count_dropped("the link stayed busy past its window")
            return False
        except DriverError as error:
            self.counts.fire += 1  # attempted: it may have reached the PLC; never repeated
            self.counts.failed += 1
            self._remember("fire", error)
            return False
        self.counts.fire += 1
        return True

    def _expire_fire(self) -> None:
        due = self._fire_due_s
        if due is not None and self._clock() > due:
            self._drop_fire("its window passed before it could be sent")

    def _drop_fire(self, why: str) -> None:
        self._fire_due_s = None
        self._count_dropped(why)

    def _count_dropped(self, why: str) -> None:
        self.counts.fire_dropped += 1
        log.warning("%s: FIRE request dropped, never sent: %s", self.name, why)

    def _remember(self, what: str, error: Exception) -> None:
        """Keep the first messages for the summary. A link failure is not logged here (the
        loop's link watch reports each change of link state); a write the PLC refused is
        logged once per kind."""
        message = f"{what}: {error}"
        if len(self.counts.errors) < 100:
            self.counts.errors.append(message)
        if isinstance(error, (LinkDownError, DriverTimeoutError, RequestExpiredError)):
            log.debug("%s: %s", self.name, message)
            return
        kind = f"{what}/{type(error).__name__}"
        if kind not in self._logged:
            self._logged.add(kind)
            log.warning("%s: %s (further ones counted, not logged)", self.name, message)
