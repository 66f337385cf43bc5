"""The rule for tests that need a Debian tool: skip with the install command outside CI, fail
under CI."""

from __future__ import annotations

import pytest
from debian_tools import require_tool

MISSING = "hil-no-such-tool"


def test_a_missing_tool_skips_outside_ci_naming_the_install_command(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    for unset in ("", "false", "0"):
        monkeypatch.setenv("CI", unset)
        with pytest.raises(pytest.skip.Exception, match=f"apt-get install {MISSING}-pkg"):
            require_tool(MISSING, f"{MISSING}-pkg")
    monkeypatch.delenv("CI")
    with pytest.raises(pytest.skip.Exception, match=f"apt-get install {MISSING}$"):
        require_tool(MISSING)


def test_a_missing_tool_fails_under_ci(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CI", "true")
    with pytest.raises(pytest.fail.Exception, match=f"apt-get install {MISSING}"):
        require_tool(MISSING)


def test_an_installed_tool_is_found_in_and_out_of_ci(monkeypatch: pytest.MonkeyPatch) -> None:
    for ci in ("true", ""):
        monkeypatch.setenv("CI", ci)
        assert require_tool("sh").endswith("/sh")
