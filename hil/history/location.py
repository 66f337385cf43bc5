"""Where the results store is: the URL a command uses, and how it is written.

Precedence (first found wins): ``--store URL``, the environment variable ``HIL_RESULTS_STORE``,
the rig file's ``[results] store`` (``hil.config.results``; its password from the environment
variable ``password_env`` names), else the SQLite file ``results.db`` in the runs folder
(``$HIL_RUNS_DIR``, else ``runs/``). ``--no-store`` turns the store off for one campaign.

URL forms: ``sqlite:///relative/or/absolute.db`` (or a bare file path), and PostgreSQL as
``postgresql://user@host:port/db`` (``postgres://`` and ``postgresql+psycopg://`` too; always
driven by psycopg 3).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError

from hil.campaign.results import ResultsError
from hil.config.results import ResultsStoreConfig
from hil.run.runs_folder import runs_dir

STORE_VARIABLE = "HIL_RESULTS_STORE"
"""Environment variable naming the results store (a URL or a SQLite file path)."""
DEFAULT_FILE = "results.db"
POSTGRES_DRIVERS = ("postgresql", "postgres", "postgresql+psycopg")
URL_FORMS = "sqlite:///FILE.db, a file path, or postgresql://USER@HOST:PORT/DATABASE"


class StoreError(ResultsError):
    """The results store cannot be opened, migrated, read or written: one line naming the
    store and what to do."""


@dataclass(frozen=True)
class StoreLocation:
    """A store's SQLAlchemy URL (``url``, password included) and where it came from
    (``source``: ``--store``, ``HIL_RESULTS_STORE``, the rig file, or the default)."""

    url: URL
    source: str

    @property
    def is_sqlite(self) -> bool:
        return self.url.get_backend_name() == "sqlite"

    def shown(self) -> str:
        """The URL as printed: the password masked; a SQLite store as its file path."""
        if self.is_sqlite:
            return str(self.url.database)
        return self.url.render_as_string(hide_password=True)


def parse_store_url(text: str, relative_to: Path | None = None, password: str | None = None) -> URL:
    """``text`` (a URL form above) as a SQLAlchemy URL driven by sqlite3 or psycopg 3; a
    relative SQLite path is taken from ``relative_to`` (default: the current directory).
    ``StoreError`` (one line) when it is neither."""
    if "://" not in text:
        text = f"sqlite:///{text}"
    try:
        url = make_url(text)
    except ArgumentError as error:
        raise StoreError(f"{text!r}: not a store URL ({error}); use {URL_FORMS}") from None
    if url.drivername in POSTGRES_DRIVERS:
        url = url.set(drivername="postgresql+psycopg")
        if password is not None:
            url = url.set(password=password)
        if not url.host or not url.database:
            raise StoreError(
                f"{text!r}: a PostgreSQL store needs a host and a database; use {URL_FORMS}"
            )
        return url
    if url.drivername not in ("sqlite", "sqlite+pysqlite"):
        raise StoreError(f"{text!r}: unknown store kind {url.drivername!r}; use {URL_FORMS}")
    if not url.database or url.database == ":memory:":
        raise StoreError(f"{text!r}: a SQLite store needs a file; use {URL_FORMS}")
    path = Path(url.database).expanduser()
    if not path.is_absolute() and relative_to is not None:
        path = relative_to / path
    return url.set(drivername="sqlite", database=str(path))


def default_location() -> StoreLocation:
    """``results.db`` in the runs folder."""
    return StoreLocation(make_url(f"sqlite:///{runs_dir() / DEFAULT_FILE}"), "the default")


def choose_location(
    option: str | None,
    rig_table: ResultsStoreConfig | None = None,
    rig_file: Path | None = None,
    environ: dict[str, str] | None = None,
) -> StoreLocation:
    """The store a command uses, by the precedence above. ``rig_table``: the rig file's
    ``[results]`` table (None: it has none); ``rig_file`` is where relative SQLite paths in it
    start."""
    env = os.environ if environ is None else environ
    if option:
        return StoreLocation(parse_store_url(option), "--store")
    if env.get(STORE_VARIABLE):
        return StoreLocation(parse_store_url(env[STORE_VARIABLE]), STORE_VARIABLE)
    if rig_table is not None:
        password = None
        if rig_table.password_env:
            password = env.get(rig_table.password_env)
            if password is None:
                raise StoreError(
                    f"{rig_file}: results.password_env names {rig_table.password_env}, which is "
                    "not set; export it with the store's password"
                )
        folder = rig_file.parent if rig_file is not None else None
        url = parse_store_url(rig_table.store, folder, password)
        return StoreLocation(url, f"{rig_file} [results]")
    return default_location()
