"""Exceptions of the ``hil`` package: every exception class it defines is in this tree
(``tests/test_exception_roots.py`` holds it so).

    HilError
    ├── ConfigError            a configuration file or override is missing or invalid
    ├── RecordingError         a recording cannot be written, or a file is not a readable recording
    ├── ResultsError           a campaign's results folder or results.json cannot be read
    │   │                      (``hil.campaign.results``)
    │   └── StoreError         the results store cannot be opened, migrated, read or written,
    │                          or is newer than this package (``hil.history.location``)
    ├── NoDevicesError         the rig's mode has no devices to preflight (``hil.preflight.check``)
    ├── RunLostError           the worker running a campaign's run died and the run was not, or
    │                          no longer, retried (``hil.campaign.executor.base``)
    └── ForbiddenWriteError    a PLC write outside the maintenance tools' allowed set; nothing
                               was sent (``hil.plc_tools.maintenance``)

The errors named with a module are defined there, beside the one job that raises them. Every
library error is translated at the boundary with ``raise ... from``.
"""

from __future__ import annotations


class HilError(Exception):
    """Root of every error raised by ``hil``."""


class ConfigError(HilError):
    """A configuration could not be loaded. ``problems`` holds one line per problem, each
    naming the file, the key path and what is allowed."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("\n".join(problems))
        self.problems = problems


class RecordingError(HilError):
    """A recording could not be written or read: the one-line message names the file and what is
    wrong with it (empty, not MCAP, truncated, corrupt) and what to do."""
