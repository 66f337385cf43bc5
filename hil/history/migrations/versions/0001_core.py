"""The core tables: campaigns, cases, runs, measurements, sweep criteria.

Revision ID: 0001
Revises:
Create Date: 2026-12-07
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision: str | None = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "campaigns",
        sa.Column("id", sa.String(64), primary_key=True),
        sa.Column("name", sa.Text, nullable=False),
        sa.Column("campaign_file", sa.Text),
        sa.Column("campaign_digest", sa.String(64), nullable=False),
        sa.Column("started_utc", sa.DateTime, nullable=False),
        sa.Column("finished_utc", sa.DateTime, nullable=False),
        sa.Column("wall_s", sa.Float),
        sa.Column("verdict", sa.String(16), nullable=False),
        sa.Column("interrupted", sa.Boolean, nullable=False),
        sa.Column("software_version", sa.Text, nullable=False),
        sa.Column("git_commit", sa.Text),
        sa.Column("source_digest", sa.Text),
        sa.Column("host", sa.Text),
        sa.Column("results_folder", sa.Text, nullable=False),
        sa.Column("rig_file", sa.Text),
        sa.Column("rig_fingerprint", sa.String(64), nullable=False),
        sa.Column("rig_document", sa.JSON, nullable=False),
        sa.Column("effective_config", sa.JSON),
        sa.Column("overrides", sa.JSON, nullable=False),
        sa.Column("stored_utc", sa.DateTime, nullable=False),
    )
    op.create_index(
        "ix_campaigns_comparable",
        "campaigns",
        ["name", "campaign_digest", "rig_fingerprint", "started_utc"],
    )
    op.create_table(
        "cases",
        sa.Column("campaign_id", sa.String(64), primary_key=True),
        sa.Column("name", sa.Text, primary_key=True),
        sa.Column("position", sa.Integer, nullable=False),
        sa.Column("mode", sa.String(16), nullable=False),
        sa.Column("verdict", sa.String(16), nullable=False),
        sa.Column("emulated", sa.Boolean, nullable=False),
        sa.Column("description", sa.Text, nullable=False),
        sa.ForeignKeyConstraint(["campaign_id"], ["campaigns.id"], ondelete="CASCADE"),
    )
    op.create_table(
        "runs",
        sa.Column("campaign_id", sa.String(64), primary_key=True),
        sa.Column("position", sa.Integer, primary_key=True),
        sa.Column("case_name", sa.Text, nullable=False),
        sa.Column("mode", sa.String(16), nullable=False),
        sa.Column("seed", sa.Integer),
        sa.Column("verdict", sa.String(16), nullable=False),
        sa.Column("digest", sa.String(64)),
        sa.Column("wall_s", sa.Float),
        sa.Column("emulated", sa.Boolean, nullable=False),
        sa.Column("recording", sa.Text),
        sa.Column("recording_start_s", sa.Float),
        sa.Column("recording_end_s", sa.Float),
        sa.Column("replay_of", sa.Text),
        sa.Column("error", sa.Text),
        sa.ForeignKeyConstraint(["campaign_id"], ["campaigns.id"], ondelete="CASCADE"),
    )
    op.create_table(
        "measurements",
        sa.Column("campaign_id", sa.String(64), primary_key=True),
        sa.Column("run_position", sa.Integer, primary_key=True),
        sa.Column("name", sa.Text, primary_key=True),
        sa.Column("value", sa.Float),
        sa.Column("text_value", sa.Text),
        sa.Column("unit", sa.String(16), nullable=False),
        sa.Column("comparator", sa.String(4)),
        sa.Column("limit_value", sa.Float),
        sa.Column("limit_text", sa.Text),
        sa.Column("outcome", sa.String(16)),
        sa.ForeignKeyConstraint(
            ["campaign_id", "run_position"],
            ["runs.campaign_id", "runs.position"],
            ondelete="CASCADE",
        ),
    )
    op.create_index("ix_measurements_name_campaign", "measurements", ["name", "campaign_id"])
    op.create_table(
        "sweep_criteria",
        sa.Column("campaign_id", sa.String(64), primary_key=True),
        sa.Column("case_name", sa.Text, primary_key=True),
        sa.Column("position", sa.Integer, primary_key=True),
        sa.Column("text", sa.Text, nullable=False),
        sa.Column("measurement", sa.Text, nullable=False),
        sa.Column("statistic", sa.String(32)),
        sa.Column("comparator", sa.String(4), nullable=False),
        sa.Column("limit_value", sa.Float),
        sa.Column("limit_text", sa.Text),
        sa.Column("unit", sa.String(16), nullable=False),
        sa.Column("measured", sa.Float),
        sa.Column("measured_text", sa.Text),
        sa.Column("outcome", sa.String(16), nullable=False),
        sa.ForeignKeyConstraint(["campaign_id"], ["campaigns.id"], ondelete="CASCADE"),
    )


def downgrade() -> None:
    for table in ("sweep_criteria", "measurements", "runs", "cases", "campaigns"):
        op.drop_table(table)
