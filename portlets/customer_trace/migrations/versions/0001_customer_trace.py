"""Customer trace: a trigram index for partial name search on PostgreSQL.

Revision ID: customer_trace_0001
Revises:
Create Date: 2026-11-23
"""

from alembic import op

revision = "customer_trace_0001"
down_revision = None
branch_labels = ("customer_trace",)
depends_on = "0001_core"


def upgrade() -> None:
    # SQLite searches names by prefix (the plain index) and scans for inner parts; PostgreSQL
    # gets a GIN trigram index so "%part%" stays fast on a million customers.
    if op.get_bind().dialect.name == "postgresql":
        op.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
        op.execute("CREATE INDEX IF NOT EXISTS ix_customer_trace_name_trgm "
                   "ON customer USING gin (name gin_trgm_ops)")


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP INDEX IF EXISTS ix_customer_trace_name_trgm")
