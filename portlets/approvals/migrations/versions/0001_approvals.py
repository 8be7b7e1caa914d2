"""Approvals: approvals_request (the chain itself lives in the workflow engine's wf_* tables).

Revision ID: approvals_0001
Revises:
Create Date: 2026-12-04
"""

import sqlalchemy as sa
from alembic import op

revision = "approvals_0001"
down_revision = None
branch_labels = ("approvals",)
depends_on = "0001_core"


def upgrade() -> None:
    op.create_table(
        "approvals_request",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("kind", sa.String(20), nullable=False),
        sa.Column("title", sa.String(200), nullable=False),
        sa.Column("data", sa.JSON(), nullable=False),
        sa.Column("applicant_id", sa.Integer(), sa.ForeignKey("person.id", name="fk_approvals_request_applicant_id_person"), nullable=False),
        sa.Column("unit_id", sa.Integer(), sa.ForeignKey("org_unit.id", name="fk_approvals_request_unit_id_org_unit"), nullable=True),
        sa.Column("instance_id", sa.Integer(), nullable=True),
        sa.Column("status", sa.String(12), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("finished_at", sa.DateTime(), nullable=True),
    )
    op.create_index("ix_approvals_request_applicant_status", "approvals_request", ["applicant_id", "status"])
    op.create_index("ix_approvals_request_instance_id", "approvals_request", ["instance_id"])


def downgrade() -> None:
    op.drop_table("approvals_request")
