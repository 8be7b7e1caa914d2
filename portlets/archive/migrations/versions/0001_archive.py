"""Archive: archive_record, archive_access, and the full-text index (FTS5 table on SQLite,
tsvector column with a GIN index on PostgreSQL).

Revision ID: archive_0001
Revises:
Create Date: 2026-12-04
"""

import sqlalchemy as sa
from alembic import op

revision = "archive_0001"
down_revision = None
branch_labels = ("archive",)
depends_on = "0001_core"


def upgrade() -> None:
    op.create_table(
        "archive_record",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("event_id", sa.Integer(), nullable=True),
        sa.Column("source", sa.String(40), nullable=False),
        sa.Column("number", sa.String(60), nullable=False),
        sa.Column("title", sa.String(200), nullable=False),
        sa.Column("year", sa.Integer(), nullable=False),
        sa.Column("category", sa.String(20), nullable=False),
        sa.Column("retention", sa.String(12), nullable=False),
        sa.Column("unit_id", sa.Integer(), sa.ForeignKey("org_unit.id", name="fk_archive_record_unit_id_org_unit"), nullable=True),
        sa.Column("issuer", sa.String(100), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("url", sa.String(300), nullable=False),
        sa.Column("created_by", sa.Integer(), sa.ForeignKey("person.id", name="fk_archive_record_created_by_person"), nullable=True),
        sa.Column("created_at", sa.DateTime(), server_default=sa.func.now(), nullable=False),
        sa.UniqueConstraint("event_id", name="uq_archive_record_event_id"),
    )
    # (filter, id): a filtered search walks one year's or one category's records newest first.
    op.create_index("ix_archive_record_year_id", "archive_record", ["year", "id"])
    op.create_index("ix_archive_record_category_id", "archive_record", ["category", "id"])
    op.create_index("ix_archive_record_number", "archive_record", ["number"])
    op.create_index("ix_archive_record_unit_id", "archive_record", ["unit_id"])
    op.create_table(
        "archive_access",
        sa.Column("record_id", sa.Integer(), sa.ForeignKey("archive_record.id", ondelete="CASCADE", name="fk_archive_access_record_id_archive_record"), primary_key=True),
        sa.Column("unit_id", sa.Integer(), sa.ForeignKey("org_unit.id", name="fk_archive_access_unit_id_org_unit"), primary_key=True),
    )
    op.create_index("ix_archive_access_unit", "archive_access", ["unit_id", "record_id"])
    if op.get_bind().dialect.name == "postgresql":
        op.add_column("archive_record", sa.Column("tsv", sa.dialects.postgresql.TSVECTOR(), nullable=True))
        op.create_index("ix_archive_record_tsv", "archive_record", ["tsv"], postgresql_using="gin")
    else:
        # Tokens are jieba's words joined by spaces; unicode61 splits on the spaces only.
        op.execute("CREATE VIRTUAL TABLE archive_fts USING fts5(title, body, tokenize='unicode61')")


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.drop_index("ix_archive_record_tsv", table_name="archive_record")
    else:
        op.execute("DROP TABLE archive_fts")
    op.drop_table("archive_access")
    op.drop_table("archive_record")
