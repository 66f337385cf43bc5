"""The rig fingerprint: the bench's identity as one canonical JSON document and its SHA-256.

Two campaigns ran on the same bench when their fingerprints are equal. The document holds what
the bench *is*: the rig file's ``[rig]`` name and mode and its device sections (``[radar]``,
``[plc]``: where and how they are reached, and their site geometry with ``[launcher]``), the ICD
versions the software speaks (results.json ``environment.icd``) and the ones the preflight read
from the devices, and the devices that were emulated. It leaves out the loop's tuning
(``[tracker]``, ``[fire_control]`` and any override of them): that is the software a regression
is about, and it is stored in full beside the fingerprint as the effective config.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from typing import Any

from hil.config.rig import RigConfig

IDENTITY_SECTIONS = ("radar", "plc", "launcher")
"""The rig file's sections that say where the bench's devices are and how they are reached."""
PREFLIGHT_IDENTITY_ROWS = ("radar.icd_version", "plc.icd_version")
"""Preflight rows whose reading identifies a device (the rest are health: latency, faults, ...)."""


def canonical(document: object) -> bytes:
    """``document`` as canonical JSON bytes (sorted keys, no spaces, UTF-8): equal documents,
    equal bytes."""
    text = json.dumps(document, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return text.encode("utf-8")


def digest(document: object) -> str:
    """SHA-256 hex of ``document``'s canonical JSON."""
    return hashlib.sha256(canonical(document)).hexdigest()


def rig_document(
    rig: RigConfig | None,
    rig_file: str | None,
    results: Mapping[str, Any],
) -> dict[str, Any]:
    """The identity document of the bench a campaign ran on. ``rig``: its rig file as loaded
    now (None: the file named in results.json no longer loads; the document says so and holds
    what results.json alone knows). ``results``: the results.json document."""
    environment = results.get("environment") or {}
    preflight = results.get("preflight") or {}
    report = preflight.get("report") or {}
    device_icd = {
        row["name"]: row.get("measured") if row.get("measured") is not None else row.get("value")
        for row in report.get("rows") or []
        if row.get("name") in PREFLIGHT_IDENTITY_ROWS
    }
    emulated = set(report.get("emulated") or [])
    for case in results.get("cases") or []:
        for run in case.get("runs") or []:
            emulated.update((run.get("summary") or {}).get("emulated_devices") or [])
    document: dict[str, Any] = {
        "icd": environment.get("icd") or {},
        "device_icd": device_icd,
        "emulated": sorted(str(name) for name in emulated),
    }
    if rig is None:
        document["rig_file_unreadable"] = rig_file
        return document
    document["rig"] = {"name": rig.rig.name, "mode": rig.rig.mode}
    config = rig.model_dump(mode="json")
    for section in IDENTITY_SECTIONS:
        document[section] = config[section]
    return document
