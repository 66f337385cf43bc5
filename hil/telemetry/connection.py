"""A ``[telemetry]`` table as what aiomqtt needs to connect: host, port, user, password (read
from the environment variable the table names) and TLS context. Checked when a run starts:
every problem is a ``ConfigError`` of one line naming the key and the fix."""

from __future__ import annotations

import os
import ssl
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from hil.config.telemetry import BrokerAddress, TelemetryConfig
from hil.errors import ConfigError


@dataclass(frozen=True)
class ClientSettings:
    """Where and as whom the publisher (or a watcher) connects."""

    address: BrokerAddress
    username: str | None = None
    password: str | None = None
    tls_context: ssl.SSLContext | None = None

    @property
    def who(self) -> str:
        """The broker and user, as error lines name them."""
        user = f"user {self.username!r}" if self.username else "no user (anonymous)"
        return f"broker {self.address} as {user}"


def client_settings(
    config: TelemetryConfig, environ: Mapping[str, str] | None = None
) -> ClientSettings:
    """The connection settings of ``config``; ``ConfigError`` (one line) for a password
    variable that is not set or a TLS file that cannot be used."""
    env = os.environ if environ is None else environ
    password = None
    if config.password_env:
        password = env.get(config.password_env)
        if password is None:
            raise ConfigError(
                [
                    f"telemetry.password_env: the environment variable {config.password_env} "
                    f"is not set; export it with the broker password of user {config.username!r}"
                ]
            )
    address = config.address
    context = (
        tls_context(config.ca_file, config.cert_file, config.key_file) if address.tls else None
    )
    return ClientSettings(address, config.username or None, password, context)


class ClosingSSLSocket(ssl.SSLSocket):
    """An ``SSLSocket`` closed when its handshake fails: paho leaves it open then (its
    ``_ssl_wrap_socket``), and every failed attempt would leak a socket until collected."""

    def do_handshake(self, block: bool = False) -> None:
        try:
            super().do_handshake(block)
        except BaseException:
            self.close()
            raise


def tls_context(ca_file: str, cert_file: str, key_file: str) -> ssl.SSLContext:
    """A client TLS context that verifies the broker (against ``ca_file``, else the system's
    CAs) and, with ``cert_file``/``key_file``, presents a client certificate."""
    for key, path in (("ca_file", ca_file), ("cert_file", cert_file), ("key_file", key_file)):
        if path and not Path(path).is_file():
            raise ConfigError(
                [f"telemetry.{key}: {path}: file not found; give the path of a PEM file"]
            )
    try:
        context = ssl.create_default_context(cafile=ca_file or None)
    except (ssl.SSLError, OSError) as error:
        raise ConfigError(
            [f"telemetry.ca_file: {ca_file}: not a PEM CA certificate ({error})"]
        ) from error
    if cert_file:
        try:
            context.load_cert_chain(cert_file, key_file)
        except (ssl.SSLError, OSError) as error:
            raise ConfigError(
                [
                    f"telemetry.cert_file: {cert_file} with key_file {key_file}: not a PEM "
                    f"certificate and its key ({error})"
                ]
            ) from error
    context.sslsocket_class = ClosingSSLSocket
    return context
