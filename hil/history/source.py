"""Where the analyses get stored campaigns and their samples: the two queries of the results
store (``hil.history.queries``), as a Protocol so that trend, compare and regression do not
depend on the database. The store satisfies it with a small adapter over its queries; tests
satisfy it with a list in memory."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Protocol

from hil.history.model import MeasurementSample, StoredCampaign

Comparable = tuple[str, str]
"""(campaign file digest, rig fingerprint): campaigns with both equal are comparable."""


class HistorySource(Protocol):
    """Stored campaigns and their measurement samples."""

    def campaigns(
        self,
        name: str | None = None,
        last: int | None = None,
        comparable_to: Comparable | None = None,
        before: datetime | None = None,
    ) -> list[StoredCampaign]:
        """Campaigns, oldest first (newest last): of that ``name``, ``comparable_to`` the given
        digest and fingerprint, started before ``before``; the ``last`` N of them."""
        ...

    def samples(
        self,
        campaign_ids: Sequence[str],
        measurement: str | None = None,
        case: str | None = None,
    ) -> list[MeasurementSample]:
        """The samples of those campaigns, of one measurement key and one case if given."""
        ...
