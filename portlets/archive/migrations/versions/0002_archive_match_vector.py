"""PostgreSQL: a stripped copy of the tsvector for matching (``tsv_match``), kept inline in the row,
with the GIN index moved onto it; ``tsv`` (positions and weights) is now read for ranking only.

Why: ``tsv`` holds positions and A/B weights, about 1.6 kB a record, so PostgreSQL compresses it
and moves it to the TOAST table. The newest-first walk of a common word checks a thousand rows
and paid a TOAST fetch and decompression for each (about 9 µs a row, four buffers). Without
positions the lexemes alone are about 1.1 kB; with ``STORAGE MAIN`` they stay in the heap row,
so a check reads the row the walk already has. A generated column keeps it in step with ``tsv``
whoever writes ``tsv`` (``index.write``, ``portal archive reindex``, the benchmark's bulk load).
SQLite (FTS5) is unchanged.

Revision ID: archive_0002
Revises: archive_0001
Create Date: 2026-12-04
"""

from alembic import op

revision = "archive_0002"
down_revision = "archive_0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    # One statement: the table is rewritten once, after the storage is set, so existing
    # rows get their lexemes inline too.
    op.execute("ALTER TABLE archive_record ADD COLUMN tsv_match tsvector "
               "GENERATED ALWAYS AS (strip(tsv)) STORED, "
               "ALTER COLUMN tsv_match SET STORAGE MAIN")
    op.create_index("ix_archive_record_tsv_match", "archive_record", ["tsv_match"],
                    postgresql_using="gin")
    op.drop_index("ix_archive_record_tsv", table_name="archive_record")


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.create_index("ix_archive_record_tsv", "archive_record", ["tsv"], postgresql_using="gin")
    op.drop_index("ix_archive_record_tsv_match", table_name="archive_record")
    op.execute("ALTER TABLE archive_record DROP COLUMN tsv_match")
