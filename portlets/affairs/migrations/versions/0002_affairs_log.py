"""Office affairs: affairs_log, the history of vehicle requests and trips.

Revision ID: affairs_0002
Revises: affairs_0001
Create Date: 2026-12-04
"""

import sqlalchemy as sa
from alembic import op

revision = "affairs_0002"
down_revision = "affairs_0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "affairs_log",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("subject_type", sa.String(12), nullable=False),
        sa.Column("subject_id", sa.Integer(), nullable=False),
        sa.Column("at", sa.DateTime(), nullable=False),
        sa.Column("actor_id", sa.Integer(), sa.ForeignKey("person.id", name="fk_affairs_log_actor_id_person"), nullable=False),
        sa.Column("action", sa.String(12), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
    )
    op.create_index("ix_affairs_log_subject", "affairs_log", ["subject_type", "subject_id"])


def downgrade() -> None:
    op.drop_index("ix_affairs_log_subject", table_name="affairs_log")
    op.drop_table("affairs_log")
