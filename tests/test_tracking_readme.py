"""The tracking library's README example runs as written (it is the API's documentation)."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

README = Path(__file__).resolve().parents[1] / "hil" / "tracking" / "README.md"


def test_readme_example_runs() -> None:
    (example,) = re.findall(r"```python\n(.*?)```", README.read_text(), re.S)
    done = subprocess.run(
        [sys.executable, "-c", example], capture_output=True, text=True, timeout=60, check=False
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("track ") and "(truth 7)" in done.stdout
