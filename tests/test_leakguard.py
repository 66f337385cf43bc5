"""The leak guard itself: a leaking test must fail, a clean one must pass."""

from __future__ import annotations

from pathlib import Path

import pytest

LEAKS = """
import asyncio, socket, subprocess, sys, threading

def test_thread():
    stop = threading.Event()
    test_thread.stop = stop
    threading.Thread(target=stop.wait, name="leaky", daemon=True).start()

def test_process():
    subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])

def test_socket():
    test_socket.keep = socket.socket()

async def test_task():
    asyncio.get_running_loop().create_task(asyncio.sleep(30), name="leaky-task")

def test_clean():
    with socket.socket():
        pass

def test_a_socket_dropped_in_a_reference_cycle_is_not_a_leak():
    held = [socket.socket()]
    held.append(held)

async def test_clean_async():
    await asyncio.sleep(0)
"""


def test_leaks_fail_and_clean_tests_pass(pytester: pytest.Pytester) -> None:
    pytester.makeconftest('pytest_plugins = ["leakguard"]')
    pytester.makepyfile(test_leaky=LEAKS)
    pytester.makeini(
        f"[pytest]\npythonpath = {Path(__file__).parent}\nasyncio_mode = auto\n"
        "asyncio_default_fixture_loop_scope = function\n"
    )
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", "-v")
    result.assert_outcomes(passed=7, errors=4)
    output = result.stdout.str()
    assert "thread 'leaky'" in output
    assert "child process" in output
    assert "socket:" in output
    assert "leaked asyncio tasks: 'leaky-task' (<coroutine object sleep" in output
