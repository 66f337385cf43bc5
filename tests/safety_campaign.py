"""The safety campaign's Hypothesis settings, shared by the safety properties.

Every safety property (the PLC's fire rule and interlocks, the engagement's no-request-while-an-
interlock-is-open, the software interlocks and no-fire sectors) runs 10,000 sequences in every
profile: derandomised in the default profile, so ``make test`` and CI run the same sequences and a
red CI is never luck; random in ``HYPOTHESIS_PROFILE=slow`` (``tests/conftest.py``), the
exploration whose every counterexample becomes an ``@example``.
"""

from __future__ import annotations

from hypothesis import HealthCheck, settings

SAFETY_SEQUENCES = 10_000

safety_property = settings(
    max_examples=SAFETY_SEQUENCES,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
"""Decorator for a safety property; the rest (derandomised or not) comes from the profile."""
