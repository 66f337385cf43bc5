"""Async driver for the turntable radar: frames in, commands out, reconnects by itself.

Lifecycle (explicit, checked)::

    CLOSED --open()--> OPEN --close()--> CLOSED        close() is safe twice

While OPEN a supervisor task keeps the link up: it opens the transport, and when the port
vanishes, hits EOF or an I/O error, or stays silent too long, it reports the link DOWN, waits a
bounded exponential backoff (0.1 s doubling to 2 s by default) and reconnects, until closed.
Consumers never hang on a dead link: ``receive()`` takes a timeout, commands fail at once with
``LinkDownError`` while the link is down, and ``link_state`` says UP, STALE (open but silent for
``stale_after_s``) or DOWN. ``on_link_change`` is called once per change of that state (a
``LinkChange``: the new state and why), so a consumer can say it once.

Every frame that passes the framing checks and whose payload follows the ICD reaches the
consumer through a bounded queue; when it is full the oldest frame is dropped and counted, so
the reader never blocks. A CRC-valid frame whose payload breaks the ICD (a value out of range, a
reserved field set, a wrong count) is counted as a bad payload and never delivered, but it
proves the link works: it keeps the link UP. Each delivered frame carries its host arrival time
and, for timestamped messages, the device time mapped onto the host clock by PING/PONG round
trips (``drivers.clock_sync``). ``health()`` is a flat snapshot of every counter.

Raw-byte tap (for recording): ``on_bytes(data, host_receive_time_s)`` is called with every chunk
exactly as the transport handed it over — before any framing, garbage and corrupt frames
included, across reconnects — and the host receive time: the driver's ``clock`` (default
``time.monotonic``, seconds) read on the event loop as the chunk arrives, the very value every
frame that chunk completes carries as ``t_rx_host_s``. So the concatenated chunks re-decode to
exactly the frames delivered, with their times. It runs inline on the event loop, before the
chunk is decoded: keep it cheap and non-blocking. A tap that raises is logged once and counted
(``tap_errors``); the link carries on (``drivers.taps``). Unset, it costs one ``is None`` test
per chunk.
"""

from __future__ import annotations

import asyncio
import enum
import itertools
import math
import random
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from typing import Any

from drivers.clock_sync import ClockSample, ClockSync
from drivers.errors import (
    CommandRejectedError,
    DriverTimeoutError,
    LinkDownError,
    PayloadError,
    PayloadFault,
)
from drivers.lifecycle import SupervisedDriver
from drivers.radar.framing import StreamDecoder, encode
from drivers.radar.messages import (
    Ack,
    AckResult,
    Message,
    Ping,
    Pong,
    RadarMode,
    RequestStatus,
    SetMode,
    SetRpm,
    SetSector,
    Status,
)
from drivers.radar.url import url_problem
from drivers.serial_transport import HungUpPtys, SerialTransport
from drivers.taps import GuardedTap

BytesTap = Callable[[bytes, float], object]
"""``on_bytes(data, host_receive_time_s)``: raw received bytes and their host time (s)."""

STALE_CHECK_MARGIN_S = 0.01
"""Slack added to the silence watcher's sleeps so that the threshold has passed when it wakes."""


class LinkState(enum.Enum):
    DOWN = "down"
    """Not connected (yet, or any more); the supervisor is (re)connecting."""
    UP = "up"
    """Connected and frames arrive."""
    STALE = "stale"
    """Connected, but nothing has arrived for ``stale_after_s``."""


@dataclass(frozen=True, slots=True)
class RadarFrame:
    """One received message with its times.

    ``t_rx_host_s``: host monotonic time when its bytes arrived. ``t_host_s``: for messages that
    carry a device time, that time mapped to the host clock (``clock_synced``), else the arrival
    time.
    """

    seq: int
    message: Message
    t_rx_host_s: float
    t_host_s: float
    clock_synced: bool

    @property
    def t_device_s(self) -> float | None:
        t_us = getattr(self.message, "t_us", None)
        return None if t_us is None else t_us / 1e6


@dataclass(frozen=True, slots=True)
class LinkChange:
    """The link entered ``state`` at host monotonic time ``t_host_s`` (seconds); ``detail`` says
    why (e.g. the error that took it down)."""

    t_host_s: float
    state: LinkState
    detail: str


@dataclass(frozen=True, slots=True)
class RadarHealth:
    """The link's counters since the driver was created: a flat record of JSON values
    (``dataclasses.asdict`` gives the object for a summary). Times in seconds, host clock.

    Every sync the receiver finds ends as exactly one of: a delivered frame (``frames``), a bad
    payload (``bad_payloads``), or a framing rejection (``crc_errors``, ``bad_version``,
    ``oversize``).
    """

    link_state: str
    """``up``, ``stale`` (connected, nothing for ``stale_after_s``) or ``down``."""
    frames: int
    """Frames delivered to the consumer: framing and ICD payload checks passed."""
    bytes_received: int
    crc_errors: int
    """Frames rejected because their CRC did not match."""
    bad_version: int
    """Frames rejected because their version byte was not 1."""
    oversize: int
    """Frames rejected because their length field exceeded 4096."""
    garbage_bytes: int
    """Bytes skipped while hunting for a sync."""
    resyncs: int
    """Times the receiver lost frame alignment and hunted for a sync."""
    bad_payloads: int
    """CRC-valid frames whose payload breaks the ICD, never delivered (sum of the three below)."""
    bad_payload_length: int
    """... wrong size for the type, or a DETECTIONS count above 203 or not matching the size."""
    bad_payload_range: int
    """... a field outside its ICD range or enumeration (antenna azimuth ≥ 2π, an elevation
    beyond ±π/2, an ACK result or STATUS mode not in the ICD)."""
    bad_payload_reserved: int
    """... a reserved field or an undefined flag bit not zero."""
    seq_gaps: int
    """Forward jumps in the device's ``seq``."""
    lost_frames: int
    """Frames the device sent that never arrived intact (the sum of the ``seq`` gaps)."""
    seq_restarts: int
    """Backward jumps in ``seq`` (the device restarted); not counted as losses."""
    queue_drops: int
    """Delivered frames the consumer did not take before the queue overflowed."""
    link_losses: int
    """Times an established link went down."""
    reconnects: int
    """Times the link came back up after being down."""
    commands: int
    command_timeouts: int
    longest_silence_s: float
    """Longest time without a delivered frame while the driver was open: between two frames,
    from the first link-up to the first frame, or from the last frame to now (or to close)."""
    last_frame_age_s: float | None
    """Time since the last delivered frame, or since link-up (``None`` before the first)."""
    clock_offset_s: float | None
    clock_drift_ppm: float | None
    last_error: str | None
    tap_errors: int
    """Times the ``on_bytes`` tap raised (the link carried on; the first one was logged)."""


@dataclass(frozen=True, slots=True)
class PingResult:
    rtt_s: float
    device_s: float
    clock_offset_s: float


class RadarDriver(SupervisedDriver):
    """The radar link. Use as ``async with RadarDriver(url) as radar: ...``."""

    def __init__(
        self,
        url: str,
        baud: int = 921600,
        *,
        queue_size: int = 1024,
        command_timeout_s: float = 0.2,
        command_retries: int = 2,
        backoff_min_s: float = 0.1,
        backoff_max_s: float = 2.0,
        stale_after_s: float = 1.5,
        reconnect_after_silence_s: float | None = 5.0,
        clock_sync_interval_s: float | None = None,
        on_link_change: Callable[[LinkChange], None] | None = None,
        on_bytes: BytesTap | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        """``on_link_change`` runs on the event loop at each change of ``link_state`` and must
        not raise or block. ``on_bytes`` is the raw-byte tap (module docstring). ``url`` that
        pyserial can never open (see ``drivers.radar.url``) keeps the link DOWN with that
        problem as ``last_error``."""
        super().__init__(f"radar {url}")
        self._bytes_tap = (
            None if on_bytes is None else GuardedTap(f"{self.name} on_bytes", on_bytes)
        )
        self.url = url
        self.baud = baud
        self.command_timeout_s = command_timeout_s
        self.command_retries = command_retries
        self.backoff_min_s = backoff_min_s
        self.backoff_max_s = backoff_max_s
        self.stale_after_s = stale_after_s
        self.reconnect_after_silence_s = reconnect_after_silence_s
        self.clock_sync_interval_s = clock_sync_interval_s
        self._clock = clock
        self._on_link_change = on_link_change
        self._queue_size = queue_size
        self._queue: asyncio.Queue[RadarFrame] = asyncio.Queue(queue_size)
        self._decoder = StreamDecoder()
        self._sync = ClockSync()
        self._transport: SerialTransport | None = None
        self._hung_up_ptys = HungUpPtys()
        """Ptys this driver's connections saw hang up: its reconnects never reopen them."""
        self._acks: dict[int, asyncio.Future[Ack]] = {}
        self._pongs: dict[int, asyncio.Future[tuple[Pong, float]]] = {}
        self._statuses: list[asyncio.Future[Status]] = []
        self._host_seq = itertools.count(random.randrange(0x10000))
        self._last_rx_at: float | None = None
        """Host time of the last CRC-valid frame (or of link-up): the link's liveness."""
        self._last_frame_at: float | None = None
        """Host time of the last delivered frame (or of link-up): the data's freshness."""
        self._silence_since: float | None = None
        """Host time of the last delivered frame (or of the first link-up), while open."""
        self._longest_silence_s = 0.0
        self._closed_at: float | None = None
        self._link_up_at = 0.0
        self._reported_state = LinkState.DOWN
        self._frames_delivered = 0
        self._bad_payloads = dict.fromkeys(PayloadFault, 0)
        self._queue_drops = 0
        self._link_losses = 0
        self._reconnects = 0
        self._commands = 0
        self._command_timeouts = 0
        self._early: list[tuple[bytes, float]] | None = None
        """Bytes (with their arrival times) of a connection still being set up: held until the
        link is counted and UP, so no frame is handed on from a link that says DOWN."""

    # --- state ------------------------------------------------------------------------------

    @property
    def link_state(self) -> LinkState:
        """UP, STALE or DOWN. Any CRC-valid frame counts as life, even one whose payload is
        refused (``last_frame_age_s`` counts delivered frames only)."""
        if not self._up.is_set():
            return LinkState.DOWN
        if self._last_rx_at is None or self._clock() - self._last_rx_at > self.stale_after_s:
            return LinkState.STALE
        return LinkState.UP

    @property
    def last_frame_age_s(self) -> float | None:
        """Seconds since the last delivered frame (or link-up); the data's freshness."""
        return None if self._last_frame_at is None else self._clock() - self._last_frame_at

    @property
    def clock_sync(self) -> ClockSync:
        return self._sync

    @property
    def longest_silence_s(self) -> float:
        """See ``RadarHealth.longest_silence_s``."""
        if self._silence_since is None:
            return self._longest_silence_s
        end = self._clock() if self._closed_at is None else self._closed_at
        return max(self._longest_silence_s, end - self._silence_since)

    def health(self) -> RadarHealth:
        c = self._decoder.counters
        bad = self._bad_payloads
        return RadarHealth(
            link_state=self.link_state.value,
            frames=self._frames_delivered,
            bytes_received=c.bytes,
            crc_errors=c.crc_errors,
            bad_version=c.bad_version,
            oversize=c.oversize,
            garbage_bytes=c.garbage_bytes,
            resyncs=c.resyncs,
            bad_payloads=sum(bad.values()),
            bad_payload_length=bad[PayloadFault.LENGTH],
            bad_payload_range=bad[PayloadFault.RANGE],
            bad_payload_reserved=bad[PayloadFault.RESERVED],
            seq_gaps=c.seq_gaps,
            lost_frames=c.lost_frames,
            seq_restarts=c.seq_restarts,
            queue_drops=self._queue_drops,
            link_losses=self._link_losses,
            reconnects=self._reconnects,
            commands=self._commands,
            command_timeouts=self._command_timeouts,
            longest_silence_s=self.longest_silence_s,
            last_frame_age_s=self.last_frame_age_s,
            clock_offset_s=self._sync.offset_s if self._sync.synced else None,
            clock_drift_ppm=self._sync.drift * 1e6 if self._sync.synced else None,
            last_error=self._last_error,
            tap_errors=0 if self._bytes_tap is None else self._bytes_tap.errors,
        )

    # --- receiving --------------------------------------------------------------------------

    async def receive(self, timeout_s: float | None = None) -> RadarFrame:
        """The next received frame (oldest first); ``DriverTimeoutError`` after ``timeout_s``."""
        self._require_open()
        try:
            async with asyncio.timeout(timeout_s):
                return await self._queue.get()
        except TimeoutError as error:
            raise DriverTimeoutError(
                f"{self.name}: no frame for {timeout_s} s (link {self.link_state.value})"
            ) from error

    async def frames(self, timeout_s: float | None = None) -> AsyncIterator[RadarFrame]:
        """Received frames as they come; each wait is bounded by ``timeout_s``."""
        while True:
            yield await self.receive(timeout_s)

    def drain(self) -> list[RadarFrame]:
        """Every frame queued right now, without waiting."""
        frames = []
        while not self._queue.empty():
            frames.append(self._queue.get_nowait())
        return frames

    # --- commands ---------------------------------------------------------------------------

    async def set_mode(self, mode: RadarMode) -> None:
        await self.command(SetMode(int(mode)))

    async def set_rpm(self, rpm: float) -> None:
        """Turntable speed in rpm (positive clockwise), sent in the ICD's centi-rpm. The device
        answers a speed beyond ±60 rpm with BAD_ARGUMENT (``CommandRejectedError``); a value
        that does not fit the field at all raises ``ValueError`` here."""
        if not (math.isfinite(rpm) and abs(rpm) <= 327.67):
            raise ValueError(f"turntable speed {rpm} rpm is not a finite value the ICD can carry")
        await self.command(SetRpm(round(rpm * 100)))

    async def set_sector(self, centre_rad: float, width_rad: float) -> None:
        """Sector-scan limits: centre (any finite angle, sent wrapped into (−π, π]) and width in
        [0, 2π], radians, turntable frame."""
        if not math.isfinite(centre_rad):
            raise ValueError(f"sector centre {centre_rad} rad is not finite")
        if not 0 <= width_rad <= 2 * math.pi:
            raise ValueError(f"sector width {width_rad} rad is outside [0, 2π]")
        centre_urad = round(math.remainder(centre_rad, 2 * math.pi) * 1e6)
        await self.command(SetSector(centre_urad, round(width_rad * 1e6)))

    async def request_status(self) -> Status:
        """Ask for a STATUS now and return it."""
        waiter: asyncio.Future[Status] = asyncio.get_running_loop().create_future()
        self._statuses.append(waiter)
        try:
            await self.command(RequestStatus())
            async with asyncio.timeout(self.command_timeout_s):
                return await waiter
        except TimeoutError as error:
            self._command_timeouts += 1
            raise DriverTimeoutError(f"{self.name}: no STATUS after REQUEST_STATUS") from error
        finally:
            if waiter in self._statuses:
                self._statuses.remove(waiter)

    async def ping(self) -> PingResult:
        """One PING/PONG round trip; feeds the clock-offset estimate."""
        nonce = random.getrandbits(32)
        waiter: asyncio.Future[tuple[Pong, float]] = asyncio.get_running_loop().create_future()
        self._pongs[nonce] = waiter
        try:
            sent = self._clock()
            await self.command(Ping(nonce))
            async with asyncio.timeout(self.command_timeout_s):
                pong, received = await waiter
        except TimeoutError as error:
            self._command_timeouts += 1
            raise DriverTimeoutError(f"{self.name}: no PONG for PING {nonce:#x}") from error
        finally:
            self._pongs.pop(nonce, None)
        self._sync.add(ClockSample(sent, pong.t_device_s, received))
        return PingResult(received - sent, pong.t_device_s, self._sync.offset_s)

    async def command(self, message: Message) -> Ack:
        """Send any host message and wait for its ACK (retried with a new seq on timeout);
        a non-OK result raises ``CommandRejectedError``."""
        self._require_open()
        name = type(message).__name__
        for _attempt in range(self.command_retries + 1):
            transport = self._transport
            if transport is None or not self._up.is_set():
                raise LinkDownError(
                    f"{self.name}: link down, {name} not sent"
                    + (f" ({self._last_error})" if self._last_error else "")
                )
            seq = next(self._host_seq) & 0xFFFF
            waiter: asyncio.Future[Ack] = asyncio.get_running_loop().create_future()
            self._acks[seq] = waiter
            try:
                self._commands += 1
                await transport.write(encode(message, seq))
                async with asyncio.timeout(self.command_timeout_s):
                    ack = await waiter
            except TimeoutError:
                self._command_timeouts += 1
                continue
            finally:
                self._acks.pop(seq, None)
            if ack.result != AckResult.OK:
                raise CommandRejectedError(name, ack.result, ack.result_name)
            return ack
        raise DriverTimeoutError(
            f"{self.name}: no ACK for {name} after {self.command_retries + 1} attempts"
        )

    # --- internals --------------------------------------------------------------------------

    def _on_data(self, data: bytes) -> None:
        now = self._clock()
        if self._early is not None:  # the port's reader can run before open() returns
            self._early.append((data, now))
            return
        self._deliver(data, now)

    def _deliver(self, data: bytes, now: float) -> None:
        if self._bytes_tap is not None:
            self._bytes_tap(data, now)
        for frame in self._decoder.feed(data):
            self._last_rx_at = now  # a CRC-valid frame proves the link, whatever it holds
            if self._reported_state is LinkState.STALE:
                self._report(LinkState.UP, "frames arrive again")
            try:
                message = frame.message()
            except PayloadError as error:
                self._bad_payloads[error.fault] += 1
                self._last_error = f"bad payload in frame seq {frame.seq}: {error}"
                continue
            self._frames_delivered += 1
            self._last_frame_at = now
            if self._silence_since is not None:
                self._longest_silence_s = max(self._longest_silence_s, now - self._silence_since)
            self._silence_since = now
            self._dispatch(message, now)
            t_us: int | None = getattr(message, "t_us", None)
            if t_us is not None and self._sync.synced:
                self._enqueue(
                    RadarFrame(frame.seq, message, now, self._sync.to_host(t_us / 1e6), True)
                )
            else:
                self._enqueue(RadarFrame(frame.seq, message, now, now, False))

    def _dispatch(self, message: Message, now: float) -> None:
        if isinstance(message, Ack):
            waiter = self._acks.get(message.acked_seq)
            if waiter is not None and not waiter.done():
                waiter.set_result(message)
        elif isinstance(message, Pong):
            pong_waiter = self._pongs.get(message.nonce)
            if pong_waiter is not None and not pong_waiter.done():
                pong_waiter.set_result((message, now))
        elif isinstance(message, Status):
            for status_waiter in self._statuses:
                if not status_waiter.done():
                    status_waiter.set_result(message)

    def _enqueue(self, frame: RadarFrame) -> None:
        if self._queue.full():
            self._queue.get_nowait()
            self._queue_drops += 1
        self._queue.put_nowait(frame)

    def _fail_pending(self, error: Exception) -> None:
        waiters: list[asyncio.Future[Any]] = [
            *self._acks.values(),
            *self._pongs.values(),
            *self._statuses,
        ]
        for waiter in waiters:
            if not waiter.done():
                waiter.set_exception(error)
                waiter.exception()  # retrieved here: the caller may already have given up

    def _report(self, state: LinkState, detail: str) -> None:
        """Tell ``on_link_change`` about a change of state (and only about a change)."""
        if state is self._reported_state:
            return
        self._reported_state = state
        if self._on_link_change is not None:
            self._on_link_change(LinkChange(self._clock(), state, detail))

    async def open(self) -> None:
        await super().open()
        self._closed_at = None
        self._silence_since = None  # time spent closed is no silence of an open link

    def _after_close(self) -> None:
        self._early = None
        self._closed_at = self._clock()
        self._reported_state = LinkState.DOWN
        self._fail_pending(LinkDownError(f"{self.name}: driver closed"))

    async def _supervise(self) -> None:
        problem = url_problem(self.url)
        if problem is not None:  # pyserial can never open it: say why, do not retry
            self._last_error = problem
            await asyncio.get_running_loop().create_future()  # until close() cancels us
        backoff = self.backoff_min_s
        first = True
        silent = False  # the last link was dropped by us for silence, not lost
        while True:
            self._early = []
            try:
                transport = await SerialTransport.open(
                    self.url, self.baud, self._on_data, self._hung_up_ptys
                )
            except LinkDownError as error:
                self._early = None
                self._last_error = str(error)
                self._report(LinkState.DOWN, self._down_detail(error))
                await asyncio.sleep(backoff)  # pacing the retries, not waiting for a condition
                backoff = min(2 * backoff, self.backoff_max_s)
                continue
            if not first:
                self._reconnects += 1
            first = False
            backoff = self.backoff_min_s
            self._decoder.reset()
            self._sync.reset()
            self._transport = transport
            self._link_up_at = self._clock()
            if self._silence_since is None:
                self._silence_since = self._link_up_at
            if not (silent and self._reported_state is LinkState.STALE):
                # a fresh link gets stale_after_s to deliver; one reopened for silence stays
                # STALE (said once) until a frame arrives
                self._last_rx_at = self._last_frame_at = self._link_up_at
                self._report(LinkState.UP, "reconnected" if self._reconnects else "connected")
            self._up.set()
            early, self._early = self._early or [], None
            for data, arrived in early:  # what came while the link was being set up, in order
                self._deliver(data, arrived)
            try:
                reason, silent = await self._hold(transport)
            finally:
                self._up.clear()
                self._transport = None
                await transport.close()
            self._last_error = str(reason)
            self._link_losses += 1
            if not silent:
                self._report(LinkState.DOWN, self._down_detail(reason))
            self._fail_pending(LinkDownError(f"{self.name}: link lost: {reason}"))

    def _down_detail(self, reason: Exception) -> str:
        return (
            f"link lost: {str(reason).removeprefix(f'{self.url}: ')}; reconnecting every "
            f"{self.backoff_min_s:g}-{self.backoff_max_s:g} s"
        )

    async def _hold(self, transport: SerialTransport) -> tuple[Exception, bool]:
        """Run while the link is up; return why it went down, and whether for silence."""
        async with asyncio.TaskGroup() as group:
            helpers: list[asyncio.Task[None]] = []
            if self.clock_sync_interval_s is not None:
                helpers.append(
                    group.create_task(self._keep_clock_synced(self.clock_sync_interval_s))
                )
            helpers.append(group.create_task(self._watch_silence()))
            waiters: set[asyncio.Future[Any]] = {transport.lost, *helpers}
            await asyncio.wait(waiters, return_when=asyncio.FIRST_COMPLETED)
            for task in helpers:
                task.cancel()
        if transport.lost.done():
            return transport.lost.result() or LinkDownError("link closed"), False
        silence = LinkDownError(f"silent for more than {self.reconnect_after_silence_s:g} s")
        return silence, True

    async def _watch_silence(self) -> None:
        """Report STALE once nothing has arrived for ``stale_after_s``; return once this link
        has carried nothing for ``reconnect_after_silence_s`` (never if that is ``None``)."""
        limit_s = self.reconnect_after_silence_s
        while True:
            now = self._clock()
            last = self._last_rx_at if self._last_rx_at is not None else now
            age = now - last
            held_silent = now - max(last, self._link_up_at)
            if limit_s is not None and held_silent > limit_s:
                return
            if age > self.stale_after_s:
                self._report(LinkState.STALE, f"no frame for {self.stale_after_s:g} s")
                wake_in = self.stale_after_s  # frames may resume, then stop again
            else:
                wake_in = self.stale_after_s - age
            if limit_s is not None:
                wake_in = min(wake_in, limit_s - held_silent)
            await asyncio.sleep(max(wake_in, 0.0) + STALE_CHECK_MARGIN_S)

    async def _keep_clock_synced(self, interval_s: float) -> None:
        while True:
            try:
                await self.ping()
            except (DriverTimeoutError, LinkDownError, CommandRejectedError) as error:
                self._last_error = f"clock sync: {error}"
            await asyncio.sleep(interval_s)
