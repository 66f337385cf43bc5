"""What a recording declares before its first message: channels, metadata and attachments.

A channel is a topic with one message encoding and one schema. Display topics are JSON with a
JSON schema (``json_channel``); bulk topics are a documented binary layout (``binary_channel``,
schema encoding ``""``: the layout's name and version are the schema name and the message
encoding, and docs/recording.md describes it).
"""

from __future__ import annotations

import json
import platform
import socket
import sys
from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from hil import __version__

RUN_METADATA = "hil.run"
"""Name of the metadata record with the run's identity (keys: see ``run_metadata``)."""
CLOSE_METADATA = "hil.recording"
"""Name of the metadata record ``Recorder.close`` writes last (messages written and dropped)."""
RECOVERY_METADATA = "hil.recovery"
"""Name of the metadata record ``hil record recover`` adds (source file, messages kept, why the
source's reading stopped)."""
ICD_VERSIONS = {
    "icd_radar": "radar-turntable-serial v1 rev 1.1",
    "icd_plc": "launcher-plc-modbus v1 rev 1.1",
}
"""The device contracts this software implements (shared/icd/*.md)."""
MEDIA_TYPES = {".toml": "application/toml", ".json": "application/json", ".txt": "text/plain"}


@dataclass(frozen=True)
class ChannelSpec:
    """One topic: its MCAP message encoding and the schema its messages follow."""

    topic: str
    message_encoding: str
    schema_name: str
    schema_encoding: str
    schema_data: bytes
    bulk: bool = False
    """The topic's messages go in chunks of their own (``hil.recording.writer``): a big topic
    that replay does not read (cycle outputs, display), so reading the others never
    decompresses it."""


def as_bulk(channel: ChannelSpec) -> ChannelSpec:
    """``channel`` with its messages in chunks of their own (``ChannelSpec.bulk``)."""
    return replace(channel, bulk=True)


@dataclass(frozen=True)
class Attachment:
    """A file stored whole in the recording (a config file, say)."""

    name: str
    media_type: str
    data: bytes


def json_channel(topic: str, schema: Mapping[str, Any]) -> ChannelSpec:
    """A JSON topic whose messages follow ``schema`` (a JSON schema with a ``title``, which names
    it, e.g. ``foxglove.SceneUpdate``)."""
    title = schema.get("title")
    if not isinstance(title, str) or not title:
        raise ValueError(f"topic {topic}: its JSON schema has no 'title' to name it")
    data = json.dumps(schema, separators=(",", ":"), sort_keys=True).encode()
    return ChannelSpec(topic, "json", title, "jsonschema", data)


def binary_channel(topic: str, encoding: str) -> ChannelSpec:
    """A topic of binary messages in the layout named ``encoding`` (e.g. ``hil.cycle.v1``),
    described in docs/recording.md; the schema record carries the name only."""
    if not encoding:
        raise ValueError(f"topic {topic}: a binary channel needs an encoding name")
    return ChannelSpec(topic, encoding, encoding, "", b"")


def config_attachment(path: Path) -> Attachment:
    """A config file as an attachment, named by its file name."""
    media_type = MEDIA_TYPES.get(path.suffix, "application/octet-stream")
    return Attachment(path.name, media_type, path.read_bytes())


def default_recording_path(runs_dir: Path, mode: str, started: datetime) -> Path:
    """Where ``hil run`` puts a recording by default: ``runs/<UTC start>-<mode>.mcap``, e.g.
    ``runs/20261126T103000Z-emulate.mcap`` (sorts by time; no characters a shell or Windows
    share would trip on)."""
    stamp = started.astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")
    return runs_dir / f"{stamp}-{mode}.mcap"


def run_metadata(*, rig: str, mode: str, scenario: str, seed: int | None) -> dict[str, str]:
    """The ``hil.run`` metadata record: what ran, where, with which software and contracts."""
    return {
        "rig": rig,
        "mode": mode,
        "scenario": scenario,
        "seed": "" if seed is None else str(seed),
        "software_version": f"hil-testbed {__version__}",
        "python": f"{platform.python_implementation()} {sys.version.split()[0]}",
        "host": socket.gethostname(),
        **ICD_VERSIONS,
    }
