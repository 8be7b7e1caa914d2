"""Calendar: cal_feed (personal iCalendar subscription tokens, hashed).

Revision ID: calendar_0001
Revises:
Create Date: 2026-12-04
"""

import sqlalchemy as sa
from alembic import op

revision = "calendar_0001"
down_revision = None
branch_labels = ("calendar",)
depends_on = "0001_core"


def upgrade() -> None:
    op.create_table(
        "cal_feed",
        sa.Column("person_id", sa.Integer(), sa.ForeignKey("person.id", name="fk_cal_feed_person_id_person"), primary_key=True),
        sa.Column("token_hash", sa.String(64), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("used_at", sa.DateTime(), nullable=True),
        sa.UniqueConstraint("token_hash", name="uq_cal_feed_token_hash"),
    )


def downgrade() -> None:
    op.drop_table("cal_feed")
