"""The rig file's optional ``[telemetry]`` table: where a run publishes its live telemetry
(MQTT, ``hil.telemetry``; docs/telemetry.md). Without the table nothing is started.

The password is never in the file (rig files are copied into every recording): the table names
the environment variable that holds it (``password_env``). File paths (TLS) are checked when a
run starts, not here, so a recording's rig still loads on a machine without them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any, Literal
from urllib.parse import urlsplit

from pydantic import Field, field_validator, model_validator

from hil.config.fields import ConfigModel, refuse_literal_password

DEFAULT_PORTS = {"mqtt": 1883, "mqtts": 8883}
MAX_TRACKS_HZ = 50.0
"""Highest tracks rate (Hz): the radar's 10 ms dwell gives at most 100 pictures/s; 50/s is
more than an operator's screen can show."""
MAX_HEALTH_HZ = 10.0
MIN_RATE_HZ = 0.01
"""Slowest rate (Hz): one message per 100 s."""
TOPIC_FORBIDDEN = ("/", "+", "#")


@dataclass(frozen=True)
class BrokerAddress:
    """A broker URL taken apart: ``mqtt://host[:port]`` (plain TCP, default port 1883) or
    ``mqtts://host[:port]`` (TLS, default 8883)."""

    scheme: Literal["mqtt", "mqtts"]
    host: str
    port: int

    @property
    def tls(self) -> bool:
        return self.scheme == "mqtts"

    def __str__(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{self.scheme}://{host}:{self.port}"


def parse_broker(url: str) -> BrokerAddress:
    """``url`` as a broker address; ``ValueError`` with the fix when it is not one."""
    example = 'e.g. "mqtt://127.0.0.1:1883", or "mqtts://broker.lab:8883" for TLS'
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as error:
        raise ValueError(f"not a broker URL ({error}); {example}") from None
    if parts.scheme not in DEFAULT_PORTS:
        raise ValueError(f"the scheme must be mqtt:// or mqtts://; {example}")
    if not parts.hostname:
        raise ValueError(f"the URL names no host; {example}")
    if parts.path not in ("", "/") or parts.query or parts.fragment or parts.username:
        raise ValueError(
            "only mqtt[s]://host:port is allowed (no path, query or user; the user is "
            f"telemetry.username); {example}"
        )
    if port == 0:
        raise ValueError(f"port 0 is not a broker's port; {example}")
    scheme: Literal["mqtt", "mqtts"] = "mqtts" if parts.scheme == "mqtts" else "mqtt"
    return BrokerAddress(scheme, parts.hostname, port or DEFAULT_PORTS[scheme])


def topic_segment_problem(name: str) -> str:
    """Why ``name`` cannot be one MQTT topic level (``""`` when it can)."""
    if not name:
        return "it is empty"
    bad = [c for c in TOPIC_FORBIDDEN if c in name]
    if bad:
        return f"it contains {' and '.join(repr(c) for c in bad)}, which MQTT topics reserve"
    if "\x00" in name:
        return "it contains a NUL character"
    return ""


class TelemetryConfig(ConfigModel):
    """``[telemetry]``: the broker, identity and rates of a run's live telemetry."""

    broker: str
    """``mqtt://host[:port]`` or ``mqtts://host[:port]`` (TLS)."""
    rig_name: str = ""
    """Topic prefix ``hil/<rig_name>/``; empty: the rig's ``[rig].name``."""
    username: str = ""
    password_env: str = ""
    """Name of the environment variable holding the password (needs ``username``)."""
    ca_file: str = ""
    """mqtts: PEM file of the CA that signed the broker's certificate (empty: the system's)."""
    cert_file: str = ""
    """mqtts: client certificate (PEM), with ``key_file``."""
    key_file: str = ""
    tracks_hz: Annotated[float, Field(ge=MIN_RATE_HZ, le=MAX_TRACKS_HZ)] = 5.0
    """Track pictures per second of loop time (QoS 0)."""
    health_hz: Annotated[float, Field(ge=MIN_RATE_HZ, le=MAX_HEALTH_HZ)] = 1.0
    """Loop health snapshots per second of loop time (QoS 0)."""
    queue_size: Annotated[int, Field(ge=16, le=1_000_000)] = 10_000
    """Messages waiting for the publisher at most; beyond it they are dropped and counted."""

    @model_validator(mode="before")
    @classmethod
    def _no_literal_password(cls, data: Any) -> Any:
        return refuse_literal_password(data, "HIL_MQTT_PASSWORD")

    @field_validator("broker")
    @classmethod
    def _broker(cls, broker: str) -> str:
        parse_broker(broker)
        return broker

    @field_validator("rig_name")
    @classmethod
    def _rig_name(cls, name: str) -> str:
        problem = topic_segment_problem(name) if name else ""
        if problem:
            raise ValueError(f"cannot be a topic level: {problem}")
        return name

    @model_validator(mode="after")
    def _consistent(self) -> TelemetryConfig:
        if self.password_env and not self.username:
            raise ValueError("password_env is set without username; set username too")
        if bool(self.cert_file) != bool(self.key_file):
            raise ValueError("cert_file and key_file go together (client certificate and key)")
        tls_keys = [k for k in ("ca_file", "cert_file", "key_file") if getattr(self, k)]
        if tls_keys and not self.address.tls:
            raise ValueError(
                f"{', '.join(tls_keys)} set but the broker is plain mqtt://; use mqtts://"
            )
        return self

    @property
    def address(self) -> BrokerAddress:
        return parse_broker(self.broker)
