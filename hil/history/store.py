"""Opening the results store: an engine on its SQLite file or PostgreSQL database, migrated to
this package's schema on first use, or refused with one line.

SQLite: every connection gets ``journal_mode=WAL`` (readers never wait for the writer),
``busy_timeout`` (a writer waits that long for another's lock, then fails) and
``foreign_keys=ON``; every transaction is ``BEGIN IMMEDIATE``, so a writer takes the lock when it
starts and two writers queue instead of failing halfway. PostgreSQL: psycopg 3 with a connect
timeout and a lock timeout. Either way a store that cannot be reached, or is locked past its
timeout, is a :class:`StoreError` in bounded time, never a hang.

Migrations (``migrations/``, Alembic) run in one transaction under the store's migration lock
(the SQLite write lock; a PostgreSQL advisory lock), so two processes opening a new store at
once make it once. A database stamped with a revision this package does not know (made by a
newer hil-testbed) is refused.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any

from sqlalchemy import Engine, create_engine, event, inspect, text
from sqlalchemy.engine import Connection
from sqlalchemy.exc import DBAPIError, IntegrityError, SQLAlchemyError

from hil.history.location import StoreError, StoreLocation, parse_store_url

if TYPE_CHECKING:
    from alembic.config import Config

MIGRATIONS = Path(__file__).parent / "migrations"
BUSY_TIMEOUT_S = 10.0
"""How long a SQLite writer waits for another's lock (s) before the store counts as locked."""
CONNECT_TIMEOUT_S = 5
"""How long a PostgreSQL connection attempt may take (s; libpq takes whole seconds)."""
LOCK_TIMEOUT_S = 10
"""How long a PostgreSQL statement waits for a lock (s)."""
HEAD_REVISION = "0002"
"""The newest revision of ``migrations/versions`` (a test checks it is Alembic's head): a store
stamped with it is opened without loading Alembic (0.4 s of every ``hil results`` command)."""
MIGRATION_LOCK = 0x68696C23
"""PostgreSQL advisory lock key held while the schema is checked and migrated ("hil#")."""


def _sqlite_connection(dbapi_connection: Any, record: Any, busy_timeout_s: float) -> None:
    """Each new sqlite3 connection: autocommit at the driver (SQLAlchemy's ``begin`` event
    below issues the BEGIN), busy timeout, WAL, foreign keys."""
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    cursor.execute(f"PRAGMA busy_timeout = {int(busy_timeout_s * 1000)}")
    cursor.execute("PRAGMA journal_mode = WAL")
    cursor.execute("PRAGMA foreign_keys = ON")
    cursor.close()


def make_engine(location: StoreLocation, busy_timeout_s: float = BUSY_TIMEOUT_S) -> Engine:
    """An engine on ``location`` configured as the module says (no connection made yet)."""
    if location.is_sqlite:
        path = Path(str(location.url.database))
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as error:
            raise StoreError(
                f"{path}: cannot create the store's folder ({error.strerror or error}); "
                "give a writable place with --store or HIL_RESULTS_STORE"
            ) from error
        engine = create_engine(location.url, connect_args={"timeout": busy_timeout_s})

        @event.listens_for(engine, "connect")
        def _connect(dbapi_connection: Any, record: Any) -> None:
            _sqlite_connection(dbapi_connection, record, busy_timeout_s)

        @event.listens_for(engine, "begin")
        def _begin(connection: Connection) -> None:
            connection.exec_driver_sql("BEGIN IMMEDIATE")

        return engine
    return create_engine(
        location.url,
        connect_args={
            "connect_timeout": CONNECT_TIMEOUT_S,
            "options": f"-c lock_timeout={LOCK_TIMEOUT_S}s",
            "application_name": "hil-testbed",
        },
        pool_pre_ping=True,
    )


def failure(
    location: StoreLocation,
    error: BaseException,
    doing: str,
    busy_timeout_s: float = BUSY_TIMEOUT_S,
) -> StoreError:
    """One line for a database error while ``doing`` (``open``, ``write``, ...)."""
    original = error.orig if isinstance(error, DBAPIError) else error
    reason = " ".join(str(original).split()) or type(original).__name__
    if isinstance(original, sqlite3.OperationalError) and "locked" in reason:
        reason += f" (still locked after {busy_timeout_s:g} s)"
    return StoreError(f"results store {location.shown()}: cannot {doing}: {reason}")


def _alembic_config() -> Config:
    from alembic.config import Config  # loaded only to migrate (HEAD_REVISION)

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    return config


def head_revision() -> str:
    """This package's newest schema revision, as Alembic finds it in ``migrations/``."""
    from alembic.script import ScriptDirectory

    head = ScriptDirectory.from_config(_alembic_config()).get_current_head()
    assert head is not None
    return head


def stamped_revision(connection: Connection) -> str | None:
    """The revision the database on ``connection`` is stamped with, read from Alembic's version
    table (None: no schema yet, or more than one row, which only Alembic can judge)."""
    if not inspect(connection).has_table("alembic_version"):
        return None
    rows = connection.execute(text("SELECT version_num FROM alembic_version")).scalars().all()
    return str(rows[0]) if len(rows) == 1 else None


def migrate(connection: Connection, location: StoreLocation, target: str = "head") -> None:
    """Bring the schema on ``connection`` (inside its transaction) to ``target``; refuse a
    database stamped with a revision this package does not know."""
    if connection.dialect.name == "postgresql":
        connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": MIGRATION_LOCK})
    if target == "head" and stamped_revision(connection) == HEAD_REVISION:
        return  # the usual open: up to date, and Alembic not loaded
    from alembic import command
    from alembic.runtime.migration import MigrationContext
    from alembic.script import ScriptDirectory

    config = _alembic_config()
    script = ScriptDirectory.from_config(config)
    current = MigrationContext.configure(connection).get_current_revision()
    known = {revision.revision for revision in script.walk_revisions()}
    if current is not None and current not in known:
        raise StoreError(
            f"results store {location.shown()}: its schema is revision {current}, newer than "
            f"this hil-testbed knows (up to {script.get_current_head()}); upgrade hil-testbed "
            "(pip install -U hil-testbed) to use it"
        )
    wanted = script.get_current_head() if target == "head" else target
    if current == wanted:
        return
    config.attributes["connection"] = connection
    command.upgrade(config, target)


class Store:
    """An open results store: ``engine`` on ``location``, its schema at this package's head.
    A context manager; ``close`` releases its connections."""

    def __init__(
        self, location: StoreLocation, engine: Engine, busy_timeout_s: float = BUSY_TIMEOUT_S
    ) -> None:
        self.location = location
        self.engine = engine
        self.busy_timeout_s = busy_timeout_s

    @contextmanager
    def transaction(self, doing: str) -> Iterator[Connection]:
        """One transaction (committed at the end, rolled back on an error); a database error
        becomes a one-line ``StoreError`` saying what could not be done (a duplicate key is
        raised as it is)."""
        try:
            with self.engine.begin() as connection:
                yield connection
        except IntegrityError:
            raise  # a key stored meanwhile: the caller decides (``ingest.write_rows``)
        except SQLAlchemyError as error:
            raise failure(self.location, error, doing, self.busy_timeout_s) from error

    def close(self) -> None:
        self.engine.dispose()

    def __enter__(self) -> Store:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        self.close()


def open_store(
    location: StoreLocation | str, busy_timeout_s: float = BUSY_TIMEOUT_S, *, create: bool = True
) -> Store:
    """The store at ``location`` (or a URL / SQLite path, ``hil.history.location``), migrated
    to this package's schema (made on first use). ``StoreError`` (one line) if it cannot be
    reached in bounded time, is locked past its timeout, is not a store, or is newer than this
    package; and with ``create=False`` (the commands that only read) if it is a SQLite file that
    does not exist: reading never makes a store."""
    if isinstance(location, str):
        location = StoreLocation(parse_store_url(location), "given")
    if not create and location.is_sqlite and not Path(str(location.url.database)).exists():
        raise StoreError(
            f"no results store at {location.shown()} (nothing stored yet); give the store "
            "with --store or HIL_RESULTS_STORE, or store campaigns with hil campaign run "
            "or hil results import"
        )
    engine = make_engine(location, busy_timeout_s)
    store = Store(location, engine, busy_timeout_s)
    try:
        with store.transaction("open it") as connection:
            migrate(connection, location)
    except BaseException:
        store.close()
        raise
    return store
