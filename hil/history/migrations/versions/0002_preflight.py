"""The rig preflight's rows per campaign, and campaigns by start (``hil results list``).

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-07
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision: str | None = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "preflight_rows",
        sa.Column("campaign_id", sa.String(64), primary_key=True),
        sa.Column("position", sa.Integer, primary_key=True),
        sa.Column("name", sa.Text, nullable=False),
        sa.Column("verdict", sa.String(8), nullable=False),
        sa.Column("value", sa.Text, nullable=False),
        sa.Column("measured", sa.Float),
        sa.Column("measured_text", sa.Text),
        sa.Column("unit", sa.String(16), nullable=False),
        sa.Column("limit_text", sa.Text, nullable=False),
        sa.Column("action", sa.Text),
        sa.Column("ignored", sa.Boolean, nullable=False),
        sa.ForeignKeyConstraint(["campaign_id"], ["campaigns.id"], ondelete="CASCADE"),
    )
    op.create_index("ix_campaigns_started", "campaigns", ["started_utc"])


def downgrade() -> None:
    op.drop_index("ix_campaigns_started", "campaigns")
    op.drop_table("preflight_rows")
