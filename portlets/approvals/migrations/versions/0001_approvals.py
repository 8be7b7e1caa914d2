"""Approvals: approvals_request, approvals_step, approvals_event.

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
        sa.Column("status", sa.String(12), nullable=False),
        sa.Column("current_seq", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("finished_at", sa.DateTime(), nullable=True),
        sa.Column("version", sa.Integer(), nullable=False),
    )
    op.create_index("ix_approvals_request_applicant_status", "approvals_request", ["applicant_id", "status"])
    op.create_table(
        "approvals_step",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("request_id", sa.Integer(), sa.ForeignKey("approvals_request.id", name="fk_approvals_step_request_id_approvals_request"), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("node", sa.String(40), nullable=False),
        sa.Column("label", sa.String(80), nullable=False),
        sa.Column("candidates", sa.String(500), nullable=False),
        sa.Column("status", sa.String(12), nullable=False),
        sa.Column("decision", sa.String(12), nullable=True),
        sa.Column("actor_id", sa.Integer(), sa.ForeignKey("person.id", name="fk_approvals_step_actor_id_person"), nullable=True),
        sa.Column("comment", sa.Text(), nullable=False),
        sa.Column("opened_at", sa.DateTime(), nullable=True),
        sa.Column("due_at", sa.DateTime(), nullable=True),
        sa.Column("decided_at", sa.DateTime(), nullable=True),
        sa.UniqueConstraint("request_id", "seq", name="uq_approvals_step_request_seq"),
    )
    op.create_index("ix_approvals_step_request_id", "approvals_step", ["request_id"])
    op.create_index("ix_approvals_step_status", "approvals_step", ["status", "due_at"])
    op.create_table(
        "approvals_event",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("request_id", sa.Integer(), sa.ForeignKey("approvals_request.id", name="fk_approvals_event_request_id_approvals_request"), nullable=False),
        sa.Column("at", sa.DateTime(), nullable=False),
        sa.Column("actor_id", sa.Integer(), sa.ForeignKey("person.id", name="fk_approvals_event_actor_id_person"), nullable=False),
        sa.Column("action", sa.String(12), nullable=False),
        sa.Column("node", sa.String(80), nullable=False),
        sa.Column("comment", sa.Text(), nullable=False),
    )
    op.create_index("ix_approvals_event_request_id", "approvals_event", ["request_id"])


def downgrade() -> None:
    op.drop_table("approvals_event")
    op.drop_table("approvals_step")
    op.drop_table("approvals_request")
