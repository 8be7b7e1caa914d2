"""PostgreSQL: each record carries the ids of the units it is shared with (``units``), kept by
triggers on ``archive_access``, so the visibility rule is a check of the row being read.

Why: a county inspector's search checked every candidate with a ``LIMIT 1`` probe of
``archive_access`` (two index pages and a subplan run per row: 3,500 probes for a word found in
3 % of 100,000 records, half the buffers of the search). ``archive_access`` stays the one
source of truth; ``units`` is its copy in the row, written by the database itself after every
statement that inserts, deletes or updates access rows, whoever runs it (the plugin, an
import, the benchmark's bulk load). SQLite keeps the probe.

Revision ID: archive_0003
Revises: archive_0002
Create Date: 2026-12-04
"""

from alembic import op

revision = "archive_0003"
down_revision = "archive_0002"
branch_labels = None
depends_on = None

_REFRESH = """
CREATE FUNCTION archive_record_units_refresh() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE archive_record r SET units = coalesce(
        (SELECT array_agg(a.unit_id ORDER BY a.unit_id) FROM archive_access a
         WHERE a.record_id = r.id), '{}')
    WHERE r.id IN (SELECT record_id FROM changed);
    IF TG_OP = 'UPDATE' THEN
        UPDATE archive_record r SET units = coalesce(
            (SELECT array_agg(a.unit_id ORDER BY a.unit_id) FROM archive_access a
             WHERE a.record_id = r.id), '{}')
        WHERE r.id IN (SELECT record_id FROM changed_before);
    END IF;
    RETURN NULL;
END $$
"""

_TRIGGERS = (
    ("archive_access_units_insert", "INSERT", "NEW TABLE AS changed"),
    ("archive_access_units_delete", "DELETE", "OLD TABLE AS changed"),
    ("archive_access_units_update", "UPDATE", "OLD TABLE AS changed_before NEW TABLE AS changed"),
)


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute("ALTER TABLE archive_record ADD COLUMN units integer[] NOT NULL DEFAULT '{}'")
    op.execute(_REFRESH)
    for name, event, tables in _TRIGGERS:
        op.execute(f"CREATE TRIGGER {name} AFTER {event} ON archive_access "
                   f"REFERENCING {tables} FOR EACH STATEMENT "
                   "EXECUTE FUNCTION archive_record_units_refresh()")
    op.execute("UPDATE archive_record r SET units = s.units FROM ("
               "SELECT record_id, array_agg(unit_id ORDER BY unit_id) AS units "
               "FROM archive_access GROUP BY record_id) s WHERE s.record_id = r.id")


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    for name, _event, _tables in _TRIGGERS:
        op.execute(f"DROP TRIGGER {name} ON archive_access")
    op.execute("DROP FUNCTION archive_record_units_refresh()")
    op.execute("ALTER TABLE archive_record DROP COLUMN units")
