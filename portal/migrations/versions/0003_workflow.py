"""Workflow engine: wf_instance, wf_task, wf_history.

Revision ID: 0003_workflow
Revises: 0002_layouts
Create Date: 2026-12-04
"""

import sqlalchemy as sa
from alembic import op

revision = "0003_workflow"
down_revision = "0002_layouts"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "wf_instance",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("definition_id", sa.String(40), nullable=False),
        sa.Column("subject_type", sa.String(40), nullable=False),
        sa.Column("subject_id", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(12), nullable=False),
        sa.Column("current_steps", sa.JSON(), nullable=False),
        sa.Column("round", sa.Integer(), nullable=False),
        sa.Column("data", sa.JSON(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("started_by", sa.Integer(),
                  sa.ForeignKey("person.id", name="fk_wf_instance_started_by_person"),
                  nullable=False),
        sa.Column("started_at", sa.DateTime(), nullable=False),
        sa.Column("finished_at", sa.DateTime(), nullable=True),
        sa.Column("outcome", sa.String(20), nullable=True),
        sa.Column("last_actor_id", sa.Integer(),
                  sa.ForeignKey("person.id", name="fk_wf_instance_last_actor_id_person"),
                  nullable=True),
        sa.Column("last_step", sa.String(40), nullable=True),
    )
    op.create_index("ix_wf_instance_subject", "wf_instance", ["subject_type", "subject_id"])
    op.create_table(
        "wf_task",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("instance_id", sa.Integer(),
                  sa.ForeignKey("wf_instance.id", ondelete="CASCADE",
                                name="fk_wf_task_instance_id_wf_instance"), nullable=False),
        sa.Column("step", sa.String(40), nullable=False),
        sa.Column("round", sa.Integer(), nullable=False),
        sa.Column("group_key", sa.String(40), nullable=False),
        sa.Column("assignee_id", sa.Integer(),
                  sa.ForeignKey("person.id", name="fk_wf_task_assignee_id_person"),
                  nullable=False),
        sa.Column("status", sa.String(8), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("due_at", sa.DateTime(), nullable=True),
        sa.Column("acted_at", sa.DateTime(), nullable=True),
        sa.Column("acted_by", sa.Integer(),
                  sa.ForeignKey("person.id", name="fk_wf_task_acted_by_person"), nullable=True),
        sa.Column("action", sa.String(16), nullable=True),
        sa.Column("comment", sa.Text(), nullable=False),
    )
    op.create_index("ix_wf_task_assignee_status", "wf_task", ["assignee_id", "status", "due_at"])
    op.create_index("ix_wf_task_instance_status", "wf_task", ["instance_id", "status"])
    op.create_table(
        "wf_history",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("instance_id", sa.Integer(),
                  sa.ForeignKey("wf_instance.id", ondelete="CASCADE",
                                name="fk_wf_history_instance_id_wf_instance"), nullable=False),
        sa.Column("at", sa.DateTime(), nullable=False),
        sa.Column("actor_id", sa.Integer(),
                  sa.ForeignKey("person.id", name="fk_wf_history_actor_id_person"),
                  nullable=True),
        sa.Column("step", sa.String(40), nullable=False),
        sa.Column("action", sa.String(16), nullable=False),
        sa.Column("from_steps", sa.JSON(), nullable=False),
        sa.Column("to_steps", sa.JSON(), nullable=False),
        sa.Column("comment", sa.Text(), nullable=False),
    )
    op.create_index("ix_wf_history_instance_id", "wf_history", ["instance_id"])


def downgrade() -> None:
    op.drop_table("wf_history")
    op.drop_table("wf_task")
    op.drop_table("wf_instance")
