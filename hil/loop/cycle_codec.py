"""Compact bytes for one loop cycle's input and output (recording and replay); pure, no I/O.

Every number is little-endian and bit-exact: floats are IEEE-754 float64 (``<d``, NaN and
±inf kept as they are), arrays are numpy ``.tobytes()`` of ``<f8`` / ``<i8`` / ``u1``. Strings
are ``u32`` byte length + UTF-8. Each record starts with a version byte (:data:`VERSION`); a
decoder refuses any other version, trailing bytes or a short buffer with a ``ValueError``.

Input record (:func:`encode_input`)::

    u8   version
    f8   t_s                    loop time (s)
    f8   radar_frame_age_s      (s; inf before the first frame)
    u8   flags                  bit 0 operator_armed, bit 1 frame present
    str  radar_problem          "" while the radar link is healthy
    status launcher             (below)
    str  launcher_problem       "" while the PLC link is healthy
    frame                       only when flag bit 1 is set (below)

    status: f8 t_s, f8 az_rad, f8 el_rad,
            u8 link_up, u8 ready_to_fire, u8 in_position, u8 estop_ok, u8 interlock_chain_ok,
            i8 arm_state, i8 fault_code, i8 launch_count, i8 fire_reject_count, i8 rounds_ready
    frame:  f8 t_s, f8 scenario_t_s, f8 beam_az_rad, f8 beam_el_rad, f8 sweep_rad,
            f8 t_arrival_s, i8 scan_id, u32 n,
            n×f8 range_m, n×f8 az_rad, n×f8 el_rad, n×f8 vr_mps, n×i8 truth_id, n×u1 injected

Output record (:func:`encode_output`), its fields in this order (:data:`OUTPUT_FIELDS`)::

    u8   version
    demand:          u8 axes_enabled, u8 pointing, f8 az_rad, f8 el_rad, u8 arm, u8 fire,
                     u8 carries the interlocks (1: ``demand.interlocks`` is the field below)
    picture:         f8 t_s, u32 K, K×i8 ids, K×3×f8 position_enu_m (row-major),
                     K×3×f8 velocity_enu_mps, K×f8 age_s, K×f8 velocity_sigma_mps,
                     K×u1 injected, K×i8 truth_id
    track_changes:   u32 assigned, u32 initiated, u32 deleted, u32 confirmed,
                     u32 M, M×i8 confirmed_ids
    events:          u32 E, E × (f8 t_s, u8 kind index in EVENT_KINDS, i8 track_id, str reason)
    phase:           u8 index of the engagement phase in ``Phase``
    interlocks:      u8 present, then (if present) u32 bit mask, bit i = the i-th field of
                     ``Interlocks`` holds
    fire_suppressed: u8
"""

from __future__ import annotations

import dataclasses
import struct
from collections.abc import Callable
from typing import Any, TypeVar

import numpy as np
import numpy.typing as npt

from hil.fire_control.engagement import Demand, Phase, TrackPicture
from hil.fire_control.interlocks import Interlocks, LauncherStatus
from hil.loop.cycle import EVENT_KINDS, CycleInput, CycleOutput, EngagementEvent, TrackChanges
from hil.loop.injection import TaggedFrame

VERSION = 1

_U8 = struct.Struct("<B")
_U32 = struct.Struct("<I")
_F8 = struct.Struct("<d")
_INPUT_HEAD = struct.Struct("<BddB")
_STATUS = struct.Struct("<ddd?????qqqqq")
_FRAME_HEAD = struct.Struct("<ddddddqI")
_DEMAND = struct.Struct("<??dd???")
_PICTURE_HEAD = struct.Struct("<dI")
_CHANGES_HEAD = struct.Struct("<IIIII")
_EVENT_HEAD = struct.Struct("<dBq")
_PHASES = tuple(Phase)
_INTERLOCK_NAMES = tuple(f.name for f in dataclasses.fields(Interlocks))

_T = TypeVar("_T", bound=np.generic)


# --- writing --------------------------------------------------------------------------------


def _str(text: str) -> bytes:
    raw = text.encode()
    return _U32.pack(len(raw)) + raw


def _array(values: npt.ArrayLike, dtype: str) -> bytes:
    return np.ascontiguousarray(values, dtype=dtype).tobytes()


def _status(s: LauncherStatus) -> bytes:
    return _STATUS.pack(
        s.t_s,
        s.az_rad,
        s.el_rad,
        s.link_up,
        s.ready_to_fire,
        s.in_position,
        s.estop_ok,
        s.interlock_chain_ok,
        s.arm_state,
        s.fault_code,
        s.launch_count,
        s.fire_reject_count,
        s.rounds_ready,
    )


def _frame(f: TaggedFrame) -> bytes:
    head = _FRAME_HEAD.pack(
        f.t_s, f.scenario_t_s, f.beam_az_rad, f.beam_el_rad, f.sweep_rad, f.t_arrival_s,
        f.scan_id, len(f),
    )  # fmt: skip
    return b"".join(
        (
            head,
            _array(f.range_m, "<f8"),
            _array(f.az_rad, "<f8"),
            _array(f.el_rad, "<f8"),
            _array(f.vr_mps, "<f8"),
            _array(f.truth_id, "<i8"),
            _array(f.injected, "u1"),
        )
    )


def encode_input(cycle: CycleInput) -> bytes:
    """The input record (layout in the module doc)."""
    flags = int(cycle.operator_armed) | (2 if cycle.frame is not None else 0)
    parts = [
        _INPUT_HEAD.pack(VERSION, cycle.t_s, cycle.radar_frame_age_s, flags),
        _str(cycle.radar_problem),
        _status(cycle.launcher),
        _str(cycle.launcher_problem),
    ]
    if cycle.frame is not None:
        parts.append(_frame(cycle.frame))
    return b"".join(parts)


def _demand(d: Demand) -> bytes:
    return _DEMAND.pack(
        d.axes_enabled, d.pointing, d.az_rad, d.el_rad, d.arm, d.fire, d.interlocks is not None
    )


def _picture(p: TrackPicture) -> bytes:
    return b"".join(
        (
            _PICTURE_HEAD.pack(p.t_s, len(p.ids)),
            _array(p.ids, "<i8"),
            _array(p.position_enu_m, "<f8"),
            _array(p.velocity_enu_mps, "<f8"),
            _array(p.age_s, "<f8"),
            _array(p.velocity_sigma_mps, "<f8"),
            _array(p.injected, "u1"),
            _array(p.truth_id, "<i8"),
        )
    )


def _changes(c: TrackChanges) -> bytes:
    head = _CHANGES_HEAD.pack(c.assigned, c.initiated, c.deleted, c.confirmed, len(c.confirmed_ids))
    return head + _array(c.confirmed_ids, "<i8")


def _events(events: tuple[EngagementEvent, ...]) -> bytes:
    parts = [_U32.pack(len(events))]
    for e in events:
        parts.append(_EVENT_HEAD.pack(e.t_s, EVENT_KINDS.index(e.kind), e.track_id))
        parts.append(_str(e.reason))
    return b"".join(parts)


def _interlocks(i: Interlocks | None) -> bytes:
    if i is None:
        return _U8.pack(0)
    mask = sum(1 << n for n, name in enumerate(_INTERLOCK_NAMES) if getattr(i, name))
    return _U8.pack(1) + _U32.pack(mask)


OUTPUT_FIELDS: tuple[tuple[str, Callable[[CycleOutput], bytes]], ...] = (
    ("demand", lambda o: _demand(o.demand)),
    ("picture", lambda o: _picture(o.picture)),
    ("track_changes", lambda o: _changes(o.track_changes)),
    ("events", lambda o: _events(o.events)),
    ("phase", lambda o: _U8.pack(_PHASES.index(o.phase))),
    ("interlocks", lambda o: _interlocks(o.interlocks)),
    ("fire_suppressed", lambda o: _U8.pack(o.fire_suppressed)),
)
"""The output record's fields in order: (name, encoder of that field)."""


def encode_output(cycle: CycleOutput) -> bytes:
    """The output record (layout in the module doc)."""
    return _U8.pack(VERSION) + b"".join(encode(cycle) for _, encode in OUTPUT_FIELDS)


# --- reading --------------------------------------------------------------------------------


class _Reader:
    """Reads a record front to back; a short buffer is a ``ValueError`` naming ``what``."""

    def __init__(self, data: bytes, what: str) -> None:
        self.data, self.what, self.at = memoryview(data), what, 0

    def take(self, size: int) -> memoryview:
        end = self.at + size
        if end > len(self.data):
            raise ValueError(
                f"{self.what} record is truncated: needs {end} bytes, has {len(self.data)}"
            )
        view = self.data[self.at : end]
        self.at = end
        return view

    def unpack(self, layout: struct.Struct) -> tuple[Any, ...]:
        return layout.unpack(self.take(layout.size))

    def u32(self) -> int:
        (value,) = _U32.unpack(self.take(4))
        return int(value)

    def u8(self) -> int:
        (value,) = _U8.unpack(self.take(1))
        return int(value)

    def text(self) -> str:
        return bytes(self.take(self.u32())).decode()

    def array(self, dtype: type[_T], wire: str, count: int) -> npt.NDArray[_T]:
        size = np.dtype(wire).itemsize * count
        return np.frombuffer(self.take(size), dtype=wire).astype(dtype)

    def version(self) -> None:
        version = self.u8()
        if version != VERSION:
            raise ValueError(f"{self.what} record version {version}; this code reads {VERSION}")

    def end(self) -> None:
        if self.at != len(self.data):
            raise ValueError(f"{self.what} record has {len(self.data) - self.at} trailing bytes")


_INPUT_FIXED = struct.Struct("<BddBI")
"""The input record's head and the byte length of its radar problem."""
_STATUS_AND_TEXT = struct.Struct(_STATUS.format + "I")
"""The launcher status and the byte length of the launcher problem after it."""
_FRAME_BYTES_PER_DETECTION = 4 * 8 + 8 + 1


def decode_input(data: bytes) -> CycleInput:
    """The :class:`CycleInput` of an input record; ``ValueError`` if it is not one.

    Replay decodes one per cycle, so this reads at computed offsets with ``unpack_from``, and
    the frame's float and truth-id columns are read-only views of ``data`` (no copies: a frame is
    never changed in place); half the time of a field-by-field read."""
    size = len(data)
    try:
        version, t, age, flags, n = _INPUT_FIXED.unpack_from(data, 0)
        if version != VERSION:
            raise ValueError(f"cycle input record version {version}; this code reads {VERSION}")
        at = _INPUT_FIXED.size + n
        if at > size:
            raise struct.error("radar problem")
        radar_problem = data[_INPUT_FIXED.size : at].decode()
        v = _STATUS_AND_TEXT.unpack_from(data, at)
        at += _STATUS_AND_TEXT.size
        end = at + v[13]
        if end > size:
            raise struct.error("launcher problem")
        launcher_problem = data[at:end].decode()
        at = end
        frame = None
        if flags & 2:
            frame, at = _frame_at(data, at)
    except struct.error:
        raise ValueError(f"cycle input record is truncated ({size} bytes)") from None
    if at != size:
        raise ValueError(f"cycle input record has {size - at} trailing bytes")
    status = LauncherStatus(
        v[0], v[3], v[1], v[2], v[8], v[4], v[5], v[6], v[7], v[9], v[10], v[11], v[12]
    )
    return CycleInput(t, frame, age, radar_problem, status, launcher_problem, bool(flags & 1))


def _frame_at(data: bytes, at: int) -> tuple[TaggedFrame, int]:
    """The frame whose record starts at byte ``at`` of ``data``, and the byte after it
    (``struct.error`` if the buffer is short)."""
    t, scenario_t, beam_az, beam_el, sweep, arrival, scan_id, count = _FRAME_HEAD.unpack_from(
        data, at
    )
    at += _FRAME_HEAD.size
    end = at + count * _FRAME_BYTES_PER_DETECTION
    if end > len(data):
        raise struct.error("frame")
    floats = np.frombuffer(data, "<f8", 4 * count, at).reshape(4, count)
    at += 32 * count
    truth = np.frombuffer(data, "<i8", count, at)
    injected = np.frombuffer(data, "u1", count, at + 8 * count) != 0
    frame = TaggedFrame(
        t, scenario_t, scan_id, beam_az, beam_el, sweep,
        floats[0], floats[1], floats[2], floats[3], injected, truth, arrival,
    )  # fmt: skip
    return frame, end


def _read_picture(r: _Reader) -> TrackPicture:
    t, n = r.unpack(_PICTURE_HEAD)
    return TrackPicture(
        t,
        r.array(np.int64, "<i8", n),
        r.array(np.float64, "<f8", 3 * n).reshape(n, 3),
        r.array(np.float64, "<f8", 3 * n).reshape(n, 3),
        r.array(np.float64, "<f8", n),
        r.array(np.float64, "<f8", n),
        r.array(np.bool_, "u1", n),
        r.array(np.int64, "<i8", n),
    )


def _read_interlocks(r: _Reader) -> Interlocks | None:
    if not r.u8():
        return None
    mask = r.u32()
    return Interlocks(**{name: bool(mask >> n & 1) for n, name in enumerate(_INTERLOCK_NAMES)})


def decode_output(data: bytes) -> CycleOutput:
    """The :class:`CycleOutput` of an output record; ``ValueError`` if it is not one."""
    r = _Reader(data, "cycle output")
    r.version()
    axes, pointing, az, el, arm, fire, carries = r.unpack(_DEMAND)
    picture = _read_picture(r)
    assigned, initiated, deleted, confirmed, m = r.unpack(_CHANGES_HEAD)
    changes = TrackChanges(assigned, initiated, deleted, confirmed, r.array(np.int64, "<i8", m))
    events = []
    for _ in range(r.u32()):
        t, kind, track_id = r.unpack(_EVENT_HEAD)
        events.append(EngagementEvent(t, _kind(kind), track_id, r.text()))
    phase = _PHASES[_index(r.u8(), len(_PHASES), "phase")]
    interlocks = _read_interlocks(r)
    suppressed = bool(r.u8())
    r.end()
    demand = Demand(
        bool(axes), bool(pointing), az, el, bool(arm), bool(fire),
        interlocks if carries else None,
    )  # fmt: skip
    return CycleOutput(demand, picture, changes, tuple(events), phase, interlocks, suppressed)


def _kind(index: int) -> str:
    return EVENT_KINDS[_index(index, len(EVENT_KINDS), "engagement event kind")]


def _index(index: int, count: int, what: str) -> int:
    if not 0 <= index < count:
        raise ValueError(f"cycle output record has {what} {index}; known: 0..{count - 1}")
    return index
