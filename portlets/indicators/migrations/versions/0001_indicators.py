"""Indicators: indicators_snapshot, indicators_run.

Revision ID: indicators_0001
Revises:
Create Date: 2026-12-04
"""

import sqlalchemy as sa
from alembic import op

revision = "indicators_0001"
down_revision = None
branch_labels = ("indicators",)
depends_on = "0001_core"


def upgrade() -> None:
    op.create_table(
        "indicators_snapshot",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("indicator", sa.String(40), nullable=False),
        sa.Column("level", sa.String(8), nullable=False),
        sa.Column("subject_id", sa.Integer(), nullable=False),
        sa.Column("dim", sa.String(40), nullable=False),
        sa.Column("period", sa.String(5), nullable=False),
        sa.Column("period_start", sa.Date(), nullable=False),
        sa.Column("value", sa.Float(), nullable=False),
        sa.Column("numerator", sa.Float(), nullable=True),
        sa.Column("denominator", sa.Float(), nullable=True),
        sa.Column("computed_at", sa.DateTime(), nullable=False),
        sa.UniqueConstraint("indicator", "level", "subject_id", "dim", "period",
                            "period_start", name="uq_indicators_snapshot"),
    )
    op.create_index("ix_indicators_snapshot_subject", "indicators_snapshot",
                    ["level", "subject_id", "period", "period_start"])
    op.create_index("ix_indicators_snapshot_period", "indicators_snapshot",
                    ["indicator", "period", "period_start"])
    op.create_table(
        "indicators_run",
        sa.Column("indicator", sa.String(40), primary_key=True),
        sa.Column("computed_at", sa.DateTime(), nullable=False),
        sa.Column("error", sa.String(300), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("indicators_run")
    op.drop_table("indicators_snapshot")
