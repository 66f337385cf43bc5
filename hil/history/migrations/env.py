"""Alembic's environment for the results store: always online, on the connection
``hil.history.store`` hands over in ``config.attributes["connection"]`` (already inside the
transaction that holds the store's migration lock), so the revisions run in that transaction.

Alembic runs this file with its ``context`` installed; imported otherwise (a walk over the
package's modules), it does nothing."""

from __future__ import annotations

from alembic import context
from sqlalchemy.engine import Connection


def run_migrations() -> None:
    connection = context.config.attributes.get("connection")
    if not isinstance(connection, Connection):
        raise RuntimeError("the results store's migrations run through hil.history.store only")
    context.configure(connection=connection, target_metadata=None)
    with context.begin_transaction():
        context.run_migrations()


if hasattr(context, "config"):  # run by Alembic (command.upgrade)
    run_migrations()
