"""SMS channel: sms_delivery.

Revision ID: sms_0001
Revises:
Create Date: 2026-11-23
"""

import sqlalchemy as sa
from alembic import op

revision = "sms_0001"
down_revision = None
branch_labels = ("sms",)
depends_on = "0001_core"


def upgrade() -> None:
    op.create_table(
        "sms_delivery",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("event_id", sa.Integer(), nullable=False),
        sa.Column("person_id", sa.Integer(), nullable=False),
        sa.Column("phone", sa.String(20), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("biz_id", sa.String(64), nullable=False),
        sa.Column("error", sa.String(300), nullable=False),
        sa.Column("at", sa.DateTime(), server_default=sa.func.now(), nullable=False),
        sa.UniqueConstraint("event_id", "person_id", name="uq_sms_delivery_event"),
    )
    op.create_index("ix_sms_delivery_event_id", "sms_delivery", ["event_id"])


def downgrade() -> None:
    op.drop_table("sms_delivery")
