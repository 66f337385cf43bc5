"""The results store's Alembic environment (``env.py``) and revisions (``versions/``), shipped
in the package and run by ``hil.history.store`` on first use; never edited by hand."""
