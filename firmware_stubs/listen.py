"""TCP addresses the emulators listen on: checked before serving, so a port in use or a foreign
address is one clear ``EndpointError``, and written into URLs (an IPv6 host in brackets)."""

from __future__ import annotations

import errno
import socket

from firmware_stubs.errors import EndpointError


def url_host(host: str) -> str:
    """``host`` as it goes into a URL: ``[::1]`` for an IPv6 address, else unchanged."""
    return f"[{host}]" if ":" in host else host


def check_listen(host: str, port: int) -> str:
    """Check that ``host:port`` can be listened on; returns the host to bind. With port 0 and a
    name that resolves to several addresses (``localhost``) that is the first address only: each
    would get a different free port, and a URL names one port."""
    try:
        addresses = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
    except socket.gaierror as error:
        raise EndpointError(
            f"cannot listen on {url_host(host)}:{port}: {host!r} is neither an address of this "
            "machine nor a host name it knows (e.g. 127.0.0.1, [::1], localhost)"
        ) from error
    for family, kind, proto, _, address in addresses:
        with socket.socket(family, kind, proto) as probe:
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            if family == socket.AF_INET6:  # as asyncio's servers do: IPv4 stays free
                probe.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
            try:
                probe.bind(address)
            except OSError as error:
                raise listen_error(host, port, error) from error
    if port == 0 and len(addresses) > 1:
        return str(addresses[0][4][0])
    return host


def listen_error(host: str, port: int, error: OSError) -> EndpointError:
    """The clear error for a failed bind of ``host:port``."""
    if error.errno == errno.EADDRINUSE:
        why = (
            f"port {port} is already in use; stop what holds it or choose another port "
            "(0: any free port)"
        )
    elif error.errno == errno.EADDRNOTAVAIL:
        why = f"{host} is not an address of this machine; use 127.0.0.1, [::1] or an interface's"
    elif error.errno == errno.EACCES:
        why = f"port {port} needs privileges; choose a port from 1024 up (0: any free port)"
    else:
        why = error.strerror or str(error)
    return EndpointError(f"cannot listen on {url_host(host)}:{port}: {why}")
