"""The PLC register map as data, and the pure codecs between SI values and Modbus words.

The map lives in ``configs/plc/launcher-plc-v1.toml`` (written from the ICD), installed with the
package data ``hil.bundled`` (``hil.config.bundled``); both the driver and the emulated PLC load
it, so neither hard-codes an address. Conventions of the ICD:

- addresses are PDU addresses (0-based);
- ``float32`` and ``u32`` occupy two registers, **high word first** (big-endian words, "ABCD");
- ``scale`` converts the wire value to SI: ``si = wire * scale`` (e.g. mrad/s → rad/s);
- ``min``/``max`` bound the **wire** value; ``max_exclusive`` makes ``max`` an open bound.
"""

from __future__ import annotations

import enum
import math
import struct
import tomllib
from dataclasses import dataclass
from importlib.resources import files
from pathlib import Path
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from drivers.errors import RegisterMapError

DEFAULT_MAP_PATH = Path(str(files("hil.bundled").joinpath("plc", "launcher-plc-v1.toml")))
"""The ICD map bundled with hil-testbed, found as ``hil.config.bundled`` finds every bundled
config: by resource, not beside the source tree. ``drivers`` imports no ``hil`` code: the data
package ``hil.bundled`` holds only files (loading it runs two docstring-only ``__init__``)."""


class Table(enum.Enum):
    """The four Modbus tables, with their read function codes."""

    COILS = "coils"
    DISCRETE_INPUTS = "discrete_inputs"
    HOLDING_REGISTERS = "holding_registers"
    INPUT_REGISTERS = "input_registers"


WIDTH = {"bit": 1, "u16": 1, "u32": 2, "float32": 2}


class _Strict(BaseModel):
    """Frozen, strict, no unknown keys, and every float finite (``nan``/``inf`` refused)."""

    model_config = ConfigDict(extra="forbid", frozen=True, strict=True, allow_inf_nan=False)


class RegisterSpec(_Strict):
    """One entry of the map."""

    address: Annotated[int, Field(ge=0, le=0xFFFF)]
    name: Annotated[str, Field(pattern=r"^[A-Z][A-Z0-9_]*$")]
    type: Literal["bit", "u16", "u32", "float32"] = "bit"
    unit: str = ""
    scale: Annotated[float, Field(gt=0)] = 1.0
    min: float | None = None
    max: float | None = None
    max_exclusive: bool = False
    access: Literal["r", "rw"] = "r"
    doc: str = ""

    @property
    def width(self) -> int:
        """Registers (or bits) the value occupies."""
        return WIDTH[self.type]

    @property
    def writable(self) -> bool:
        return self.access == "rw"

    def check_wire(self, wire: float) -> str | None:
        """Why the wire value ``wire`` is out of range, or ``None`` if it is allowed."""
        if not math.isfinite(wire):
            return f"{self.name}: {wire} is not a finite number"
        if self.min is not None and wire < self.min:
            return f"{self.name}: {wire} is below its minimum {self.min}"
        if self.max is not None and (wire >= self.max if self.max_exclusive else wire > self.max):
            bound = "below" if self.max_exclusive else "at most"
            return f"{self.name}: {wire} must be {bound} {self.max}"
        return None

    def to_words(self, si_value: float) -> list[int]:
        """The registers for an SI value (range-checked; ``ValueError`` names the register)."""
        wire = si_value / self.scale
        # a float32 as the PLC will see it; integers as sent
        wire = as_float32(wire) if self.type == "float32" else round(wire)
        problem = self.check_wire(wire)
        if problem:
            raise ValueError(problem)
        return encode_words(self.type, wire)

    def from_words(self, words: list[int]) -> float:
        """The SI value held in ``words`` (``width`` registers starting at this address)."""
        return decode_words(self.type, words) * self.scale


def as_float32(value: float) -> float:
    """``value`` rounded to the nearest IEEE-754 single, as a float32 register pair holds it."""
    return float(struct.unpack(">f", struct.pack(">f", value))[0])


def encode_words(kind: str, wire: float) -> list[int]:
    """A wire value as Modbus registers, two-register types high word first."""
    if kind == "float32":
        high, low = struct.unpack(">HH", struct.pack(">f", wire))
        return [high, low]
    value = int(wire)
    if kind == "u32":
        if not 0 <= value <= 0xFFFF_FFFF:
            raise ValueError(f"{value} does not fit a u32")
        return [value >> 16, value & 0xFFFF]
    if not 0 <= value <= 0xFFFF:
        raise ValueError(f"{value} does not fit a u16")
    return [value]


def decode_words(kind: str, words: list[int]) -> float:
    """Registers (high word first) as a wire value."""
    if kind == "float32":
        return float(struct.unpack(">f", struct.pack(">HH", words[0], words[1]))[0])
    if kind == "u32":
        return float((words[0] << 16) | words[1])
    return float(words[0])


class MapInfo(_Strict):
    name: str
    icd_version: int
    unit_id: Annotated[int, Field(ge=1, le=247)] = 1
    panel_unit_id: Annotated[int, Field(ge=1, le=247)] = 247


class RegisterMapFile(_Strict):
    """The whole map file."""

    register_map: MapInfo
    coils: list[RegisterSpec]
    discrete_inputs: list[RegisterSpec]
    holding_registers: list[RegisterSpec]
    input_registers: list[RegisterSpec]

    @model_validator(mode="after")
    def _consistent(self) -> RegisterMapFile:
        names: set[str] = set()
        for table in Table:
            entries = getattr(self, table.value)
            used: set[int] = set()
            for entry in entries:
                bits = table in (Table.COILS, Table.DISCRETE_INPUTS)
                if bits != (entry.type == "bit"):
                    raise ValueError(
                        f"{table.value} {entry.name}: type {entry.type} does not "
                        f"belong in this table"
                    )
                span = set(range(entry.address, entry.address + entry.width))
                if span & used:
                    raise ValueError(f"{table.value} {entry.name}: overlaps another entry")
                if entry.name in names:
                    raise ValueError(f"{entry.name}: name used twice")
                used |= span
                names.add(entry.name)
            if table in (Table.DISCRETE_INPUTS, Table.INPUT_REGISTERS) and any(
                e.writable for e in entries
            ):
                raise ValueError(f"{table.value} are read-only by function code")
        return self


@dataclass(frozen=True)
class RegisterMap:
    """Lookup over a validated map: by name, and per table in address order."""

    info: MapInfo
    tables: dict[Table, tuple[RegisterSpec, ...]]

    @classmethod
    def from_file(cls, data: RegisterMapFile) -> RegisterMap:
        return cls(
            data.register_map,
            {
                table: tuple(sorted(getattr(data, table.value), key=lambda e: e.address))
                for table in Table
            },
        )

    def table_of(self, name: str) -> Table:
        for table, entries in self.tables.items():
            if any(e.name == name for e in entries):
                return table
        raise KeyError(name)

    def __getitem__(self, name: str) -> RegisterSpec:
        for entries in self.tables.values():
            for entry in entries:
                if entry.name == name:
                    return entry
        raise KeyError(f"no register named {name!r} in map {self.info.name}")

    def size(self, table: Table) -> int:
        """Number of addresses the table spans from 0 (one past the last used address)."""
        return max((e.address + e.width for e in self.tables[table]), default=0)

    def entry_at(self, table: Table, address: int) -> RegisterSpec | None:
        """The entry whose span covers ``address``."""
        for entry in self.tables[table]:
            if entry.address <= address < entry.address + entry.width:
                return entry
        return None


def load_register_map(path: Path = DEFAULT_MAP_PATH) -> RegisterMap:
    """Load and validate a map file; problems raise ``RegisterMapError`` naming file and key."""
    try:
        with path.open("rb") as handle:
            raw = tomllib.load(handle)
    except (OSError, tomllib.TOMLDecodeError) as error:
        raise RegisterMapError(f"{path}: {error}") from error
    try:
        return RegisterMap.from_file(RegisterMapFile.model_validate(raw))
    except ValidationError as error:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in e['loc']) or '(top level)'}: "
            f"{str(e['msg']).removeprefix('Value error, ')}"
            for e in error.errors()
        )
        raise RegisterMapError(f"{path}: {problems}") from error
