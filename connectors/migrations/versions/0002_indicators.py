"""Indicator data: own-brand cartons per order, monthly sales plans, inspections, integrity
stars history.

Revision ID: connectors_0002
Revises: connectors_0001
Create Date: 2026-12-04
"""

import sqlalchemy as sa
from alembic import op

revision = "connectors_0002"
down_revision = "connectors_0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("connectors_purchase", sa.Column("own_cartons", sa.Integer(), nullable=True))
    op.create_index("ix_connectors_purchase_day", "connectors_purchase", ["ordered_on"])
    op.create_index("ix_connectors_delivery_day", "connectors_delivery", ["planned_on"])
    op.create_index("ix_connectors_case_day", "connectors_case", ["filed_on"])
    op.create_table(
        "connectors_sales_plan",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("month", sa.Date(), nullable=False),
        sa.Column("person_id", sa.Integer(), sa.ForeignKey(
            "person.id", ondelete="CASCADE", name="fk_connectors_sales_plan_person_id_person"),
            nullable=False),
        sa.Column("org_unit_id", sa.Integer(), sa.ForeignKey(
            "org_unit.id", name="fk_connectors_sales_plan_org_unit_id_org_unit"),
            nullable=False),
        sa.Column("cartons", sa.Integer(), nullable=False),
        sa.UniqueConstraint("month", "person_id", name="uq_connectors_sales_plan_month"),
    )
    op.create_index("ix_connectors_sales_plan_person_id", "connectors_sales_plan", ["person_id"])
    op.create_index("ix_connectors_sales_plan_org_unit_id", "connectors_sales_plan",
                    ["org_unit_id"])
    op.create_table(
        "connectors_inspection",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("customer_id", sa.Integer(), sa.ForeignKey(
            "customer.id", ondelete="CASCADE",
            name="fk_connectors_inspection_customer_id_customer"), nullable=False),
        sa.Column("source", sa.String(40), nullable=False),
        sa.Column("source_key", sa.String(64), nullable=False),
        sa.Column("inspector_id", sa.Integer(), sa.ForeignKey(
            "person.id", name="fk_connectors_inspection_inspector_id_person"), nullable=True),
        sa.Column("inspected_on", sa.Date(), nullable=False),
        sa.Column("violation", sa.Boolean(), nullable=False),
        sa.UniqueConstraint("source", "source_key", name="uq_connectors_inspection_source"),
    )
    op.create_index("ix_connectors_inspection_customer_id", "connectors_inspection",
                    ["customer_id"])
    op.create_index("ix_connectors_inspection_day", "connectors_inspection",
                    ["inspected_on", "customer_id"])
    op.create_table(
        "connectors_integrity_star",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("customer_id", sa.Integer(), sa.ForeignKey(
            "customer.id", ondelete="CASCADE",
            name="fk_connectors_integrity_star_customer_id_customer"), nullable=False),
        sa.Column("stars", sa.Integer(), nullable=False),
        sa.Column("since", sa.Date(), nullable=False),
        sa.Column("reason", sa.String(200), nullable=False),
        sa.Column("computed_at", sa.DateTime(), nullable=False),
    )
    op.create_index("ix_connectors_integrity_star_customer", "connectors_integrity_star",
                    ["customer_id", "since"])


def downgrade() -> None:
    op.drop_table("connectors_integrity_star")
    op.drop_table("connectors_inspection")
    op.drop_table("connectors_sales_plan")
    op.drop_index("ix_connectors_case_day", "connectors_case")
    op.drop_index("ix_connectors_delivery_day", "connectors_delivery")
    op.drop_index("ix_connectors_purchase_day", "connectors_purchase")
    op.drop_column("connectors_purchase", "own_cartons")
