"""The safety campaign's settings, shared by the safety properties.

Every safety property (the PLC's fire rule and interlocks, the engagement's no-request-while-an-
interlock-is-open, the software interlocks and no-fire sectors) runs 10,000 sequences in every
profile: derandomised in the default profile, so ``make test`` and CI run the same sequences and a
red CI is never luck; random in ``HYPOTHESIS_PROFILE=slow`` (``tests/conftest.py``), the
exploration whose every counterexample becomes an ``@example``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

import pytest
from hypothesis import HealthCheck, settings

SAFETY_SEQUENCES = 10_000
SAFETY_TIMEOUT_S = 900
"""Per-test timeout of a safety property: the suite's 120 s is for one ordinary test; a
campaign takes about a minute on an idle machine and several on a loaded one."""

Test = TypeVar("Test", bound=Callable[..., object])


def safety_property(test: Test) -> Test:
    """Decorator (above ``@given``) for a safety property: 10,000 sequences, no deadline, marked
    ``slow`` with its own timeout; the rest (derandomised or not) comes from the profile."""
    campaign = settings(
        max_examples=SAFETY_SEQUENCES,
        deadline=None,
        suppress_health_check=[HealthCheck.too_slow],
    )
    marked = pytest.mark.timeout(SAFETY_TIMEOUT_S)(pytest.mark.slow(campaign(test)))
    return marked  # type: ignore[no-any-return]
