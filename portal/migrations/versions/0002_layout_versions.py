"""Published post layout versions.

Revision ID: 0002_layouts
Revises: 0001_core
Create Date: 2026-11-23
"""

import sqlalchemy as sa
from alembic import op

revision = "0002_layouts"
down_revision = "0001_core"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "layout_version",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("post", sa.String(length=40), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("document", sa.JSON(), nullable=False),
        sa.Column("source", sa.String(length=20), nullable=False),
        sa.Column("note", sa.String(length=200), nullable=False),
        sa.Column("author", sa.String(length=64), nullable=False),
        sa.Column("file_sha", sa.String(length=64), nullable=True),
        sa.Column("created_at", sa.DateTime(), server_default=sa.text("(CURRENT_TIMESTAMP)"),
                  nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_layout_version")),
        sa.UniqueConstraint("post", "version", name=op.f("uq_layout_version_post")),
    )
    op.create_index(op.f("ix_layout_version_post"), "layout_version", ["post"])


def downgrade() -> None:
    op.drop_index(op.f("ix_layout_version_post"), table_name="layout_version")
    op.drop_table("layout_version")
