"""The report's history section (issue 23 §2): this campaign's key measurements against the
last comparable campaigns as a plot, "no history yet" without any, built from the store's
interface (``history_support.MemoryHistory``) and rendered into a real report.html."""

from __future__ import annotations

import json
import re
from datetime import timedelta
from pathlib import Path

from history_support import DIGEST, EPOCH, FINGERPRINT, MemoryHistory, document

from hil.campaign.report import render
from hil.history.report_history import CURRENT, report_history

SEEDS = range(1, 6)


def sweep(level: float) -> dict[str, dict[int, float]]:
    return {
        "gospa_mean_m": {s: level + s for s in SEEDS},
        "tracks_confirmed": {s: 2.0 for s in SEEDS},
    }


def stored_history() -> MemoryHistory:
    history = MemoryHistory()
    for number in range(12):
        history.add(sweep(100.0 + number))
    history.add(sweep(500.0), fingerprint="g" * 64)  # another bench: not comparable
    history.add(sweep(500.0), overrides=("tracker.gate_probability=0.5",))  # a what-if
    return history


def current() -> dict[str, object]:
    return document({"sweep": sweep(130.0)}, started=EPOCH + timedelta(days=2))


def test_the_last_comparable_campaigns_and_this_one() -> None:
    history = report_history(stored_history(), current(), DIGEST, FINGERPRINT, last=10)
    assert history is not None and history.earlier == 10 and history.last == 10
    gospa, tracks = history.measurements  # latency_p99_ms: not measured, not shown
    assert (gospa.key, gospa.unit, tracks.key) == ("gospa_mean_m", "m", "tracks_confirmed")
    (line,) = gospa.lines
    assert line.label == "sweep" and len(line.started) == 11
    assert line.median == (*(100.0 + n + 3 for n in range(2, 12)), 133.0)
    assert line.started[-1] == EPOCH + timedelta(days=2) and line.rig_changes == ()
    named = report_history(stored_history(), current(), DIGEST, FINGERPRINT, ["rmse_m"])
    assert named is not None and named.measurements == ()
    assert CURRENT == "this campaign"


def test_no_store_or_no_comparable_campaign_is_no_history() -> None:
    assert report_history(None, current(), DIGEST, FINGERPRINT) is None
    history = report_history(MemoryHistory(), current(), DIGEST, FINGERPRINT)
    assert history is not None and history.earlier == 0
    assert "no comparable campaign" in history.note


def results_folder(tmp_path: Path) -> Path:
    folder = tmp_path / "run"
    folder.mkdir()
    data = current()
    data["environment"] = {}
    (folder / "results.json").write_text(json.dumps(data))
    return folder


def test_the_report_draws_the_history_plots(tmp_path: Path) -> None:
    folder = results_folder(tmp_path)
    history = report_history(stored_history(), current(), DIGEST, FINGERPRINT)
    page = render(folder, history).read_text()
    assert 'id="history"' in page and 'id="no-history"' not in page
    assert len(re.findall(r'data-plot="history"', page)) == 2
    assert "this campaign and the 10 before" in page


def test_the_report_says_no_history_yet(tmp_path: Path) -> None:
    folder = results_folder(tmp_path)
    page = render(folder).read_text()
    assert '<p class="note" id="no-history">no history yet: no results store</p>' in page
    history = report_history(MemoryHistory(), current(), DIGEST, FINGERPRINT)
    page = render(folder, history).read_text()
    assert "no history yet: no comparable campaign is stored yet" in page
    assert 'data-plot="history"' not in page
