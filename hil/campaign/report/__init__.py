"""A campaign's ``report.html``, rendered from its ``results.json`` and the runs' recordings.

``render(folder)`` reads ``folder/results.json`` (``hil.campaign.results``), draws each case's
plots from one representative recording (``trace``, ``plots``, ``figures``) and writes the
self-contained page (``page``) as ``folder/report.html``. ``hil campaign report DIR`` runs it
from the command line.
"""

from __future__ import annotations

import os
from pathlib import Path

from hil.campaign.report.figures import case_figures
from hil.campaign.report.history import ReportHistory
from hil.campaign.report.page import build_page
from hil.campaign.results import ResultsError, load_results

REPORT_FILE = "report.html"

__all__ = ["REPORT_FILE", "ReportHistory", "ResultsError", "render"]


def render(folder: Path, history: ReportHistory | None = None) -> Path:
    """Write ``folder/report.html`` from ``folder/results.json`` and the recordings it names,
    with ``history`` (the campaign against earlier comparable ones; None: no results store) in
    its history section, and return its path. ``ResultsError`` (one line) if the folder or its
    results cannot be read; a missing or unreadable recording only leaves its plots out, with
    a note saying so."""
    results = load_results(folder)
    figures = [case_figures(case) for case in results.cases]
    page = build_page(results, figures, history)
    out = results.folder / REPORT_FILE
    partial = out.with_name(f".{REPORT_FILE}.{os.getpid()}.tmp")
    try:
        partial.write_text(page, encoding="utf-8")
        partial.replace(out)
    except OSError as error:
        partial.unlink(missing_ok=True)
        raise ResultsError(f"{out}: cannot write the report: {error.strerror}") from error
    return out
