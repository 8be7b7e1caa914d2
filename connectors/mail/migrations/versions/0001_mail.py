"""Mail channel: mail_delivery.

Revision ID: mail_0001
Revises:
Create Date: 2026-11-23
"""

import sqlalchemy as sa
from alembic import op

revision = "mail_0001"
down_revision = None
branch_labels = ("mail",)
depends_on = "0001_core"


def upgrade() -> None:
    op.create_table(
        "mail_delivery",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("event_id", sa.Integer(), nullable=False),
        sa.Column("person_id", sa.Integer(), nullable=False),
        sa.Column("address", sa.String(120), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("error", sa.String(300), nullable=False),
        sa.Column("at", sa.DateTime(), server_default=sa.func.now(), nullable=False),
        sa.UniqueConstraint("event_id", "person_id", name="uq_mail_delivery_event"),
    )
    op.create_index("ix_mail_delivery_event_id", "mail_delivery", ["event_id"])


def downgrade() -> None:
    op.drop_table("mail_delivery")
