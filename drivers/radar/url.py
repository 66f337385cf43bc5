"""What is wrong with a radar port URL, said before pyserial says it badly.

pyserial answers a malformed ``socket://`` or ``rfc2217://`` URL with its own internals (``'<='
not supported between instances of 'int' and 'NoneType'`` for a missing port, ``KeyError:
'debug|info|warning|error'`` for a bad option) and a path that is not a tty with an ioctl error.
``url_problem`` checks the syntax (no I/O); ``device_problem`` looks at a local device path. Each
returns one line naming what is wrong and the fix, or ``None``.
"""

from __future__ import annotations

import math
import os
import stat
import urllib.parse

EXAMPLES = "a device path (/dev/ttyUSB0), socket://HOST:PORT or rfc2217://HOST:PORT"
PYSERIAL_SCHEMES = ("socket", "rfc2217", "loop", "spy", "alt", "hwgrep", "cp2110")
LOGGING_LEVELS = ("debug", "info", "warning", "error")
RFC2217_FLAGS = ("ign_set_control", "poll_modem")


def url_problem(url: str) -> str | None:
    """Why pyserial can never open ``url`` (syntax only), or ``None``."""
    if not url.strip():
        return f"the radar URL is empty: give {EXAMPLES}"
    if "://" not in url:
        return None  # a device path: see device_problem
    scheme = url.split("://", 1)[0].lower()
    if scheme not in PYSERIAL_SCHEMES:
        return f"radar URL {url!r}: scheme {scheme!r} is not one pyserial opens; give {EXAMPLES}"
    if scheme not in ("socket", "rfc2217"):
        return None
    form = f"{scheme}://HOST:PORT, e.g. {scheme}://127.0.0.1:5000"
    try:
        parts = urllib.parse.urlsplit(url)
        port = parts.port
    except ValueError as error:
        return f"radar URL {url!r} is malformed ({error}); write {form}"
    if not parts.hostname:
        return f"radar URL {url!r} has no host; write {form}"
    if port is None or port == 0:
        return f"radar URL {url!r} has no port (1-65535); write {form}"
    for option, values in urllib.parse.parse_qs(parts.query, keep_blank_values=True).items():
        problem = _option_problem(scheme, option, values[-1])
        if problem:
            return f"radar URL {url!r}: {problem}"
    return None


def _option_problem(scheme: str, option: str, value: str) -> str | None:
    if option == "logging":
        if value in LOGGING_LEVELS:
            return None
        return f"logging={value!r} is not a level; use one of logging=" + "|".join(LOGGING_LEVELS)
    if scheme == "rfc2217":
        if option in RFC2217_FLAGS:
            return None
        if option == "timeout":
            try:
                seconds = float(value)
            except ValueError:
                seconds = math.nan
            if math.isfinite(seconds) and seconds > 0:
                return None
            return f"timeout={value!r} must be a number of seconds > 0, e.g. timeout=3"
    known = ["logging", *RFC2217_FLAGS, "timeout"] if scheme == "rfc2217" else ["logging"]
    return f"unknown option {option!r}; {scheme}:// takes only " + ", ".join(known)


def device_problem(url: str) -> str | None:
    """For a local device path: why it is not a serial port now (missing, a file, not a tty),
    or ``None`` (also for every ``scheme://`` URL). Opens a character device briefly to ask
    whether it is a terminal (without making it the controlling terminal)."""
    if "://" in url:
        return None
    try:
        mode = os.stat(url).st_mode
    except FileNotFoundError:
        missing = (
            f"{url} points to {os.readlink(url)}, which does not exist"
            if os.path.islink(url)
            else f"{url} does not exist"
        )
        return (
            f"{missing}: check the cable and the port name (ls /dev/ttyUSB* "
            "/dev/serial/by-id), or start an emulated radar with `hil stub radar --pty`"
        )
    except OSError as error:
        return f"{url} cannot be examined ({error.strerror}): give {EXAMPLES}"
    if not stat.S_ISCHR(mode):
        kind = "a directory" if stat.S_ISDIR(mode) else "not a character device"
        return f"{url} is {kind}, not a serial port: give {EXAMPLES}"
    try:
        fd = os.open(url, os.O_RDWR | os.O_NOCTTY | os.O_NONBLOCK)
    except OSError as error:
        return _open_problem(url, error)
    try:
        if not os.isatty(fd):
            return f"{url} is not a terminal (tty), so not a serial port: give {EXAMPLES}"
    finally:
        os.close(fd)
    return None


def _open_problem(url: str, error: OSError) -> str:
    if isinstance(error, PermissionError):
        return (
            f"{url}: permission denied; add yourself to the device's group "
            f"(ls -l {url}; usually `sudo usermod -aG dialout $USER`, then log in again)"
        )
    return f"{url} cannot be opened ({error.strerror}): check the device, or give {EXAMPLES}"
