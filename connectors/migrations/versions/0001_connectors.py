"""Connectors: sync state, exchange log, per-field values, field history, customer records.

Revision ID: connectors_0001
Revises:
Create Date: 2026-11-23
"""

import sqlalchemy as sa
from alembic import op

revision = "connectors_0001"
down_revision = None
branch_labels = ("connectors",)
depends_on = "0001_core"


def _customer_fk(table: str) -> sa.Column:
    return sa.Column("customer_id", sa.Integer(),
                     sa.ForeignKey("customer.id", ondelete="CASCADE",
                                   name=f"fk_{table}_customer_id_customer"), nullable=False)


def upgrade() -> None:
    op.create_table(
        "connectors_watermark",
        sa.Column("source", sa.String(40), primary_key=True),
        sa.Column("stream", sa.String(40), primary_key=True),
        sa.Column("position", sa.String(64), nullable=False),
        sa.Column("updated_at", sa.DateTime(), server_default=sa.func.now(), nullable=False),
    )
    op.create_table(
        "connectors_state",
        sa.Column("source", sa.String(40), primary_key=True),
        sa.Column("last_run_at", sa.DateTime()),
        sa.Column("last_success_at", sa.DateTime()),
        sa.Column("last_error", sa.String(500)),
        sa.Column("failures", sa.Integer(), nullable=False),
        sa.Column("lag_seconds", sa.Integer()),
        sa.Column("alerted_at", sa.DateTime()),
    )
    op.create_table(
        "connectors_exchange_day",
        sa.Column("source", sa.String(40), primary_key=True),
        sa.Column("day", sa.Date(), primary_key=True),
        sa.Column("read", sa.Integer(), nullable=False),
        sa.Column("changed", sa.Integer(), nullable=False),
        sa.Column("quarantined", sa.Integer(), nullable=False),
        sa.Column("failed", sa.Integer(), nullable=False),
        sa.Column("max_lag_seconds", sa.Integer(), nullable=False),
    )
    op.create_table(
        "connectors_exchange_log",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("source", sa.String(40), nullable=False),
        sa.Column("stream", sa.String(40), nullable=False),
        sa.Column("record_key", sa.String(64), nullable=False),
        sa.Column("status", sa.String(12), nullable=False),
        sa.Column("reason", sa.String(500), nullable=False),
        sa.Column("payload", sa.JSON()),
        sa.Column("created_at", sa.DateTime(), server_default=sa.func.now(), nullable=False),
    )
    op.create_index("ix_connectors_exchange_log_source", "connectors_exchange_log", ["source"])
    op.create_index("ix_connectors_exchange_log_created_at", "connectors_exchange_log",
                    ["created_at"])
    op.create_table(
        "connectors_field_value",
        _customer_fk("connectors_field_value"),
        sa.Column("field", sa.String(40), nullable=False),
        sa.Column("source", sa.String(40), nullable=False),
        sa.Column("value", sa.String(200)),
        sa.Column("position", sa.BigInteger(), nullable=False),
        sa.Column("synced_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("customer_id", "field", "source",
                                name="pk_connectors_field_value"),
    )
    op.create_table(
        "connectors_field_change",
        sa.Column("id", sa.Integer(), primary_key=True),
        _customer_fk("connectors_field_change"),
        sa.Column("field", sa.String(40), nullable=False),
        sa.Column("old", sa.String(200)),
        sa.Column("new", sa.String(200)),
        sa.Column("source", sa.String(40), nullable=False),
        sa.Column("event", sa.String(40)),
        sa.Column("changed_at", sa.DateTime(), nullable=False),
    )
    op.create_index("ix_connectors_field_change_customer", "connectors_field_change",
                    ["customer_id", "changed_at"])
    for table, columns, order in [
        ("connectors_license_event", [
            sa.Column("event", sa.String(40), nullable=False),
            sa.Column("occurred_on", sa.Date()),
            sa.Column("detail", sa.Text(), nullable=False),
        ], "occurred_on"),
        ("connectors_case", [
            sa.Column("case_type", sa.String(40), nullable=False),
            sa.Column("status", sa.String(20), nullable=False),
            sa.Column("filed_on", sa.Date()),
            sa.Column("closed_on", sa.Date()),
            sa.Column("fine", sa.Numeric(12, 2)),
        ], "filed_on"),
        ("connectors_purchase", [
            sa.Column("ordered_on", sa.Date(), nullable=False),
            sa.Column("cartons", sa.Integer(), nullable=False),
            sa.Column("amount", sa.Numeric(12, 2), nullable=False),
        ], "ordered_on"),
        ("connectors_delivery", [
            sa.Column("planned_on", sa.Date()),
            sa.Column("route", sa.String(24), nullable=False),
            sa.Column("sign_status", sa.String(20), nullable=False),
            sa.Column("exception_note", sa.String(200), nullable=False),
        ], "planned_on"),
    ]:
        op.create_table(
            table,
            sa.Column("id", sa.Integer(), primary_key=True),
            _customer_fk(table),
            sa.Column("source", sa.String(40), nullable=False),
            sa.Column("source_key", sa.String(64), nullable=False),
            *columns,
            sa.UniqueConstraint("source", "source_key", name=f"uq_{table}_source"),
        )
        op.create_index(f"ix_{table}_customer", table, ["customer_id", order])


def downgrade() -> None:
    for table in ("connectors_delivery", "connectors_purchase", "connectors_case",
                  "connectors_license_event", "connectors_field_change",
                  "connectors_field_value", "connectors_exchange_log",
                  "connectors_exchange_day", "connectors_state", "connectors_watermark"):
        op.drop_table(table)
