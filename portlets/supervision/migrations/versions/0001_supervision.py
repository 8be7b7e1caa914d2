"""Supervision: supervision_task, supervision_feedback.

Revision ID: supervision_0001
Revises:
Create Date: 2026-12-04
"""

import sqlalchemy as sa
from alembic import op

revision = "supervision_0001"
down_revision = None
branch_labels = ("supervision",)
depends_on = "0001_core"


def upgrade() -> None:
    op.create_table(
        "supervision_task",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("title", sa.String(200), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("leader_id", sa.Integer(), sa.ForeignKey("person.id", name="fk_supervision_task_leader_id_person"), nullable=False),
        sa.Column("assignee_person_id", sa.Integer(), sa.ForeignKey("person.id", name="fk_supervision_task_assignee_person_id_person"), nullable=True),
        sa.Column("assignee_unit_id", sa.Integer(), sa.ForeignKey("org_unit.id", name="fk_supervision_task_assignee_unit_id_org_unit"), nullable=True),
        sa.Column("deadline", sa.DateTime(), nullable=False),
        sa.Column("status", sa.String(12), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("done_at", sa.DateTime(), nullable=True),
        sa.Column("closed_at", sa.DateTime(), nullable=True),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.CheckConstraint("assignee_person_id IS NOT NULL OR assignee_unit_id IS NOT NULL",
                           name="ck_supervision_task_assignee"),
    )
    op.create_index("ix_supervision_task_leader_id", "supervision_task", ["leader_id"])
    op.create_index("ix_supervision_task_assignee_person_id", "supervision_task", ["assignee_person_id"])
    op.create_index("ix_supervision_task_assignee_unit_id", "supervision_task", ["assignee_unit_id"])
    op.create_index("ix_supervision_task_status_deadline", "supervision_task", ["status", "deadline"])
    op.create_table(
        "supervision_feedback",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("task_id", sa.Integer(), sa.ForeignKey("supervision_task.id", name="fk_supervision_feedback_task_id_supervision_task"), nullable=False),
        sa.Column("author_id", sa.Integer(), sa.ForeignKey("person.id", name="fk_supervision_feedback_author_id_person"), nullable=False),
        sa.Column("kind", sa.String(12), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("percent", sa.Integer(), nullable=True),
        sa.Column("at", sa.DateTime(), nullable=False),
    )
    op.create_index("ix_supervision_feedback_task_id", "supervision_feedback", ["task_id"])


def downgrade() -> None:
    op.drop_table("supervision_feedback")
    op.drop_table("supervision_task")
