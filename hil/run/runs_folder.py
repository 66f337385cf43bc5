"""Where runs are recorded by default: ``$HIL_RUNS_DIR``, else ``runs/`` in the current
directory, one file per run named by its mode and start (``hil.recording.channels``)."""

from __future__ import annotations

import os
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from hil.errors import RecordingError
from hil.recording.channels import default_recording_path
from hil.recording.writer import RecordingStats

if TYPE_CHECKING:  # where the runs folder is needs no run: the results store asks it too
    from hil.rig.base import RunSettings
    from hil.run.recorder import RunRecorder

RUNS_DIR_VARIABLE = "HIL_RUNS_DIR"
"""Environment variable naming where recordings go by default (else ``runs/`` in the current
directory)."""


def runs_dir() -> Path:
    """Default home of recordings: ``$HIL_RUNS_DIR``, else ``runs/`` where ``hil run`` started."""
    return Path(os.environ.get(RUNS_DIR_VARIABLE) or "runs")


def open_default_recording(settings: RunSettings) -> RunRecorder:
    """The run's recording under ``runs_dir()``, named by its start; runs started within the
    same second (a sweep) get ``-2``, ``-3``, ... (files are created exclusively, so two
    processes never share one)."""
    from hil.run.recorded import open_run_recording  # the run layer, for a run only

    base = default_recording_path(runs_dir(), settings.rig.rig.mode, datetime.now(UTC))
    for attempt in range(1, 1000):
        path = base if attempt == 1 else base.with_stem(f"{base.stem}-{attempt}")
        try:
            return open_run_recording(path, settings)
        except RecordingError:
            if not path.exists():
                raise
    raise RecordingError(f"{base.parent}: 999 recordings started in one second; use --record")


def recording_summary(stats: RecordingStats) -> dict[str, Any]:
    """What the run's summary says of its recording (``recording`` in ``hil run --json``)."""
    return {
        "path": str(stats.path),
        "messages": stats.messages_written,
        "dropped": stats.messages_dropped,
        "size_bytes": stats.size_bytes,
        "error": stats.error,
    }


def recording_line(stats: RecordingStats) -> str:
    """The recording's line under a run's text summary (drops and a failure said loudly)."""
    line = f"recording: {stats.path} ({stats.messages_written} messages, {stats.size_bytes} bytes"
    if stats.messages_dropped:
        line += f", {stats.messages_dropped} DROPPED: the disk could not keep up"
    if stats.error:
        line += f", FAILED: {stats.error}"
    return line + ")"
