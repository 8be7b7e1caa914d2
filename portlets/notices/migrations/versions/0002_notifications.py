"""Notices written for ``notify``: no sender, a kind, a link, and the event they deliver.

Revision ID: notices_0002
Revises: notices_0001
Create Date: 2026-11-23
"""

import sqlalchemy as sa
from alembic import op

revision = "notices_0002"
down_revision = "notices_0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Batch mode: SQLite cannot drop NOT NULL in place.
    with op.batch_alter_table("notice") as batch:
        batch.alter_column("sender_id", existing_type=sa.Integer(), nullable=True)
        batch.add_column(sa.Column("kind", sa.String(60), nullable=False,
                                   server_default="notice"))
        batch.add_column(sa.Column("link", sa.String(255), nullable=False, server_default=""))
        batch.add_column(sa.Column("event_id", sa.Integer(), nullable=True))
        batch.create_unique_constraint("uq_notice_event_id", ["event_id"])


def downgrade() -> None:
    with op.batch_alter_table("notice") as batch:
        batch.drop_constraint("uq_notice_event_id", type_="unique")
        batch.drop_column("event_id")
        batch.drop_column("link")
        batch.drop_column("kind")
        batch.alter_column("sender_id", existing_type=sa.Integer(), nullable=False)
