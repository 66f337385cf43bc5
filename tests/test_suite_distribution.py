"""How ``make pytest`` hands tests to its workers (one per core, ``--dist loadgroup``): the
files that share an expensive module fixture (``xdist_group``) are each one group on one worker.
A pytest or pytest-xdist upgrade that silently stops it makes the suite minutes slower (pytest
9.2 did: pytest-dev/pytest-xdist#1386), so it is checked here."""

from __future__ import annotations

import pytest


def test_a_group_runs_on_one_worker(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        test_grouped="""
        import os
        from pathlib import Path

        import pytest

        pytestmark = pytest.mark.xdist_group("grouped")

        @pytest.mark.parametrize("i", range(8))
        def test_worker(i):
            Path(__file__).with_name(f"ran-{i}").write_text(os.environ["PYTEST_XDIST_WORKER"])
        """
    )
    done = pytester.runpytest_subprocess("-n", "2", "--dist", "loadgroup", "-p", "no:hil")
    done.assert_outcomes(passed=8)
    workers = {path.read_text() for path in pytester.path.glob("ran-*")}
    assert len(list(pytester.path.glob("ran-*"))) == 8
    assert len(workers) == 1, workers
