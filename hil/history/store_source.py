"""The results store as the analyses' ``HistorySource``: its two queries (``hil.history.queries``)
as methods, so trend, compare and regression read a real store exactly as their tests read a
list in memory."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from hil.history import queries
from hil.history.model import MeasurementSample, StoredCampaign
from hil.history.source import Comparable
from hil.history.store import Store


class StoreHistory:
    """``HistorySource`` over an open ``Store`` (which the caller closes)."""

    def __init__(self, store: Store) -> None:
        self.store = store

    def campaigns(
        self,
        name: str | None = None,
        last: int | None = None,
        comparable_to: Comparable | None = None,
        before: datetime | None = None,
    ) -> list[StoredCampaign]:
        return queries.campaigns(self.store, name, last, comparable_to, before)

    def samples(
        self,
        campaign_ids: Sequence[str],
        measurement: str | None = None,
        case: str | None = None,
    ) -> list[MeasurementSample]:
        return queries.samples(self.store, campaign_ids, measurement, case)
