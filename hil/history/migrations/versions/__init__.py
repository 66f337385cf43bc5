"""Alembic revisions of the results store, oldest first (``0001_core``, ``0002_preflight``)."""
