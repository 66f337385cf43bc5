"""The rig file's optional ``[results]`` table: where this bench's campaigns are stored
(``hil.history``; docs/results-store.md). Without it, ``--store`` or ``HIL_RESULTS_STORE`` or the
default SQLite file ``results.db`` in the runs folder is used.

As for telemetry, the password is never in the file (rig files are copied into every recording):
``password_env`` names the environment variable that holds it.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from pydantic import field_validator, model_validator

from hil.config.fields import ConfigModel, refuse_literal_password

STORE_SCHEMES = ("sqlite", "postgresql", "postgres", "postgresql+psycopg")
EXAMPLE = 'e.g. store = "postgresql://hil@db.lab:5432/hil" or store = "sqlite:///results.db"'


class ResultsStoreConfig(ConfigModel):
    """``[results]``: the results store of the campaigns run on this rig."""

    store: str
    """``sqlite:///FILE`` (relative to the rig file's folder) or
    ``postgresql://USER@HOST[:PORT]/DATABASE``."""
    password_env: str = ""
    """Name of the environment variable holding the PostgreSQL password."""

    @model_validator(mode="before")
    @classmethod
    def _no_literal_password(cls, data: Any) -> Any:
        return refuse_literal_password(data, "HIL_RESULTS_PASSWORD")

    @field_validator("store")
    @classmethod
    def _store(cls, store: str) -> str:
        parts = urlsplit(store)
        if parts.scheme not in STORE_SCHEMES:
            raise ValueError(f"the scheme must be sqlite:// or postgresql://; {EXAMPLE}")
        if parts.password is not None:
            raise ValueError(
                "the URL holds a password, which the rig file must not: remove it and set "
                "results.password_env to the environment variable that holds it"
            )
        if parts.scheme != "sqlite" and not (parts.hostname and parts.path.strip("/")):
            raise ValueError(f"a PostgreSQL store needs a host and a database; {EXAMPLE}")
        if parts.scheme == "sqlite" and not parts.path.strip("/"):
            raise ValueError(f"a SQLite store needs a file; {EXAMPLE}")
        return store

    @model_validator(mode="after")
    def _password_for_postgres(self) -> ResultsStoreConfig:
        if self.password_env and self.store.startswith("sqlite"):
            raise ValueError("password_env is set for a SQLite store, which has none; remove it")
        return self
