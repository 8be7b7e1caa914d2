"""Notices: notice, notice_target, notice_receipt.

Revision ID: notices_0001
Revises:
Create Date: 2026-11-23
"""

import sqlalchemy as sa
from alembic import op

revision = "notices_0001"
down_revision = None
branch_labels = ("notices",)
depends_on = "0001_core"


def upgrade() -> None:
    op.create_table(
        "notice",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("title", sa.String(200), nullable=False),
        sa.Column("content", sa.Text(), nullable=False),
        sa.Column("sender_id", sa.Integer(), sa.ForeignKey("person.id", name="fk_notice_sender_id_person"), nullable=False),
        sa.Column("sender_name", sa.String(64), nullable=False),
        sa.Column("created_at", sa.DateTime(), server_default=sa.func.now(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), server_default=sa.func.now(), nullable=False),
        sa.Column("submitted_at", sa.DateTime(), nullable=True),
    )
    op.create_index("ix_notice_sender_id", "notice", ["sender_id"])
    op.create_index("ix_notice_submitted_at", "notice", ["submitted_at"])
    op.create_table(
        "notice_target",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("notice_id", sa.Integer(), sa.ForeignKey("notice.id", ondelete="CASCADE", name="fk_notice_target_notice_id_notice"), nullable=False),
        sa.Column("kind", sa.String(10), nullable=False),
        sa.Column("ref", sa.String(64), nullable=False),
        sa.Column("label", sa.String(100), nullable=False),
    )
    op.create_index("ix_notice_target_notice_id", "notice_target", ["notice_id"])
    op.create_table(
        "notice_receipt",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("notice_id", sa.Integer(), sa.ForeignKey("notice.id", ondelete="CASCADE", name="fk_notice_receipt_notice_id_notice"), nullable=False),
        sa.Column("person_id", sa.Integer(), sa.ForeignKey("person.id", ondelete="CASCADE", name="fk_notice_receipt_person_id_person"), nullable=False),
        sa.Column("read_at", sa.DateTime(), nullable=True),
        sa.UniqueConstraint("notice_id", "person_id", name="uq_notice_receipt_notice_id"),
    )
    op.create_index("ix_notice_receipt_person_id", "notice_receipt", ["person_id"])


def downgrade() -> None:
    op.drop_table("notice_receipt")
    op.drop_table("notice_target")
    op.drop_table("notice")
