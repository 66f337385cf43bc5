"""The results store's tables (SQLAlchemy Core), as the Alembic revisions in ``migrations/``
make them: this module is what the code reads and writes, the revisions are how a database gets
there. A change to one is a change to the other (``tests/test_results_store.py`` compares them).

Keys are natural, so a campaign's rows are written without reading any generated id back:

    campaigns         id (the results.json campaign.id)            one row per campaign
    cases             (campaign_id, name)                           its cases and their verdicts
    runs              (campaign_id, position)                       one row per run, in file order
    measurements      (campaign_id, run_position, name)             what each run measured
    sweep_criteria    (campaign_id, case_name, position)            a case's criteria over its runs
    preflight_rows    (campaign_id, position)                       revision 0002: the rig preflight

Times are UTC (naive ``DateTime`` columns: SQLite has no time zones); values in the units their
``unit`` column names; JSON columns hold documents exactly as results.json / the rig file give
them. Every child row goes with its campaign (``ON DELETE CASCADE``).
"""

from __future__ import annotations

from sqlalchemy import (
    JSON,
    Boolean,
    Column,
    DateTime,
    Float,
    ForeignKeyConstraint,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
)

metadata = MetaData()

campaigns = Table(
    "campaigns",
    metadata,
    Column("id", String(64), primary_key=True),
    Column("name", Text, nullable=False),
    Column("campaign_file", Text),
    Column("campaign_digest", String(64), nullable=False),
    Column("started_utc", DateTime, nullable=False),
    Column("finished_utc", DateTime, nullable=False),
    Column("wall_s", Float),
    Column("verdict", String(16), nullable=False),
    Column("interrupted", Boolean, nullable=False),
    Column("software_version", Text, nullable=False),
    Column("git_commit", Text),
    Column("source_digest", Text),
    Column("host", Text),
    Column("results_folder", Text, nullable=False),
    Column("rig_file", Text),
    Column("rig_fingerprint", String(64), nullable=False),
    Column("rig_document", JSON, nullable=False),
    Column("effective_config", JSON),
    # hil campaign run --set KEY=VALUE as results.json's campaign.overrides: a "what if"
    # campaign is no regression baseline for its file's own (hil.history.regression)
    Column("overrides", JSON, nullable=False, default=list),
    Column("stored_utc", DateTime, nullable=False),
)
Index(
    "ix_campaigns_comparable",
    campaigns.c.name,
    campaigns.c.campaign_digest,
    campaigns.c.rig_fingerprint,
    campaigns.c.started_utc,
)
Index("ix_campaigns_started", campaigns.c.started_utc)

cases = Table(
    "cases",
    metadata,
    Column("campaign_id", String(64), primary_key=True),
    Column("name", Text, primary_key=True),
    Column("position", Integer, nullable=False),
    Column("mode", String(16), nullable=False),
    Column("verdict", String(16), nullable=False),
    Column("emulated", Boolean, nullable=False),
    Column("description", Text, nullable=False),
    ForeignKeyConstraint(["campaign_id"], ["campaigns.id"], ondelete="CASCADE"),
)

runs = Table(
    "runs",
    metadata,
    Column("campaign_id", String(64), primary_key=True),
    Column("position", Integer, primary_key=True),
    Column("case_name", Text, nullable=False),
    Column("mode", String(16), nullable=False),
    Column("seed", Integer),
    Column("verdict", String(16), nullable=False),
    Column("digest", String(64)),
    Column("wall_s", Float),
    Column("emulated", Boolean, nullable=False),
    Column("recording", Text),
    Column("recording_start_s", Float),
    Column("recording_end_s", Float),
    Column("replay_of", Text),
    Column("error", Text),
    ForeignKeyConstraint(["campaign_id"], ["campaigns.id"], ondelete="CASCADE"),
)

measurements = Table(
    "measurements",
    metadata,
    Column("campaign_id", String(64), primary_key=True),
    Column("run_position", Integer, primary_key=True),
    Column("name", Text, primary_key=True),
    Column("value", Float),
    Column("text_value", Text),
    Column("unit", String(16), nullable=False),
    Column("comparator", String(4)),
    Column("limit_value", Float),
    Column("limit_text", Text),
    Column("outcome", String(16)),
    ForeignKeyConstraint(
        ["campaign_id", "run_position"],
        ["runs.campaign_id", "runs.position"],
        ondelete="CASCADE",
    ),
)
Index("ix_measurements_name_campaign", measurements.c.name, measurements.c.campaign_id)

sweep_criteria = Table(
    "sweep_criteria",
    metadata,
    Column("campaign_id", String(64), primary_key=True),
    Column("case_name", Text, primary_key=True),
    Column("position", Integer, primary_key=True),
    Column("text", Text, nullable=False),
    Column("measurement", Text, nullable=False),
    Column("statistic", String(32)),
    Column("comparator", String(4), nullable=False),
    Column("limit_value", Float),
    Column("limit_text", Text),
    Column("unit", String(16), nullable=False),
    Column("measured", Float),
    Column("measured_text", Text),
    Column("outcome", String(16), nullable=False),
    ForeignKeyConstraint(["campaign_id"], ["campaigns.id"], ondelete="CASCADE"),
)

preflight_rows = Table(
    "preflight_rows",
    metadata,
    Column("campaign_id", String(64), primary_key=True),
    Column("position", Integer, primary_key=True),
    Column("name", Text, nullable=False),
    Column("verdict", String(8), nullable=False),
    Column("value", Text, nullable=False),
    Column("measured", Float),
    Column("measured_text", Text),
    Column("unit", String(16), nullable=False),
    Column("limit_text", Text, nullable=False),
    Column("action", Text),
    Column("ignored", Boolean, nullable=False),
    ForeignKeyConstraint(["campaign_id"], ["campaigns.id"], ondelete="CASCADE"),
)
