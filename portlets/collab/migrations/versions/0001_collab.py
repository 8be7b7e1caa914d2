"""Collaboration: collab_item, collab_party, collab_step (append-only), collab_attachment.

Revision ID: collab_0001
Revises:
Create Date: 2026-11-23
"""

import sqlalchemy as sa
from alembic import op

revision = "collab_0001"
down_revision = None
branch_labels = ("collab",)
depends_on = "0001_core"


def upgrade() -> None:
    op.create_table(
        "collab_item",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("type_code", sa.String(40), nullable=False),
        sa.Column("subject", sa.String(200), nullable=False),
        sa.Column("content", sa.Text(), nullable=False),
        sa.Column("customer_id", sa.Integer(), sa.ForeignKey("customer.id", name="fk_collab_item_customer_id_customer"), nullable=True),
        sa.Column("originator_id", sa.Integer(), sa.ForeignKey("person.id", name="fk_collab_item_originator_id_person"), nullable=False),
        sa.Column("originator_unit_id", sa.Integer(), sa.ForeignKey("org_unit.id", name="fk_collab_item_originator_unit_id_org_unit"), nullable=True),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("handler_person_id", sa.Integer(), sa.ForeignKey("person.id", name="fk_collab_item_handler_person_id_person"), nullable=True),
        sa.Column("handler_unit_id", sa.Integer(), sa.ForeignKey("org_unit.id", name="fk_collab_item_handler_unit_id_org_unit"), nullable=True),
        sa.Column("sender_id", sa.Integer(), sa.ForeignKey("person.id", name="fk_collab_item_sender_id_person"), nullable=True),
        sa.Column("escalation_level", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.Column("submitted_at", sa.DateTime(), nullable=True),
        sa.Column("handed_at", sa.DateTime(), nullable=True),
        sa.Column("due_at", sa.DateTime(), nullable=True),
        sa.Column("reminded_at", sa.DateTime(), nullable=True),
        sa.Column("finished_at", sa.DateTime(), nullable=True),
        sa.Column("archived_at", sa.DateTime(), nullable=True),
        sa.Column("result", sa.Text(), nullable=False),
        sa.Column("rating_score", sa.Integer(), nullable=True),
        sa.Column("rating_grade", sa.String(8), nullable=True),
        sa.Column("overdue", sa.Integer(), nullable=False),
    )
    op.create_index("ix_collab_item_customer_id", "collab_item", ["customer_id"])
    op.create_index("ix_collab_item_due_at", "collab_item", ["due_at"])
    op.create_index("ix_collab_item_state_submitted", "collab_item", ["state", "submitted_at", "id"])
    op.create_index("ix_collab_item_handler_state", "collab_item", ["handler_person_id", "state"])
    op.create_index("ix_collab_item_unit_state", "collab_item", ["handler_unit_id", "state"])
    op.create_index("ix_collab_item_originator_state", "collab_item", ["originator_id", "state"])
    op.create_table(
        "collab_party",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("item_id", sa.Integer(), sa.ForeignKey("collab_item.id", ondelete="CASCADE", name="fk_collab_party_item_id_collab_item"), nullable=False),
        sa.Column("person_id", sa.Integer(), sa.ForeignKey("person.id", name="fk_collab_party_person_id_person"), nullable=True),
        sa.Column("unit_id", sa.Integer(), sa.ForeignKey("org_unit.id", name="fk_collab_party_unit_id_org_unit"), nullable=True),
        sa.Column("unit_path", sa.String(255), nullable=False),
        sa.UniqueConstraint("item_id", "person_id", "unit_id", name="uq_collab_party"),
    )
    op.create_index("ix_collab_party_item_id", "collab_party", ["item_id"])
    op.create_index("ix_collab_party_person_id", "collab_party", ["person_id"])
    op.create_index("ix_collab_party_path_item", "collab_party", ["unit_path", "item_id"])
    op.create_table(
        "collab_step",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("item_id", sa.Integer(), sa.ForeignKey("collab_item.id", name="fk_collab_step_item_id_collab_item"), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("at", sa.DateTime(), nullable=False),
        sa.Column("actor_id", sa.Integer(), sa.ForeignKey("person.id", name="fk_collab_step_actor_id_person"), nullable=True),
        sa.Column("actor_name", sa.String(64), nullable=False),
        sa.Column("action", sa.String(16), nullable=False),
        sa.Column("from_state", sa.String(16), nullable=False),
        sa.Column("to_state", sa.String(16), nullable=False),
        sa.Column("comment", sa.Text(), nullable=False),
        sa.Column("to_label", sa.String(120), nullable=False),
        sa.UniqueConstraint("item_id", "seq", name="uq_collab_step_item_seq"),
    )
    op.create_index("ix_collab_step_item_id", "collab_step", ["item_id"])
    op.create_table(
        "collab_attachment",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("item_id", sa.Integer(), sa.ForeignKey("collab_item.id", name="fk_collab_attachment_item_id_collab_item"), nullable=False),
        sa.Column("step_id", sa.Integer(), sa.ForeignKey("collab_step.id", name="fk_collab_attachment_step_id_collab_step"), nullable=True),
        sa.Column("filename", sa.String(200), nullable=False),
        sa.Column("content_type", sa.String(100), nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("sha256", sa.String(64), nullable=False),
        sa.Column("storage_key", sa.String(200), nullable=False),
        sa.Column("uploaded_by", sa.Integer(), sa.ForeignKey("person.id", name="fk_collab_attachment_uploaded_by_person"), nullable=False),
        sa.Column("uploaded_at", sa.DateTime(), server_default=sa.func.now(), nullable=False),
    )
    op.create_index("ix_collab_attachment_item_id", "collab_attachment", ["item_id"])
    _trace_append_only()


def _trace_append_only() -> None:
    """The trace refuses UPDATE and DELETE in the database itself, not only in the ORM."""
    if op.get_bind().dialect.name == "postgresql":
        op.execute(
            "CREATE FUNCTION collab_step_append_only() RETURNS trigger LANGUAGE plpgsql AS $$ "
            "BEGIN RAISE EXCEPTION 'collab_step is append-only'; END $$"
        )
        op.execute(
            "CREATE TRIGGER collab_step_no_change BEFORE UPDATE OR DELETE ON collab_step "
            "FOR EACH ROW EXECUTE FUNCTION collab_step_append_only()"
        )
    else:
        for event in ("UPDATE", "DELETE"):
            op.execute(
                f"CREATE TRIGGER collab_step_no_{event.lower()} BEFORE {event} ON collab_step "
                "BEGIN SELECT RAISE(ABORT, 'collab_step is append-only'); END"
            )


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER IF EXISTS collab_step_no_change ON collab_step")
        op.execute("DROP FUNCTION IF EXISTS collab_step_append_only()")
    op.drop_table("collab_attachment")
    op.drop_table("collab_step")
    op.drop_table("collab_party")
    op.drop_table("collab_item")
