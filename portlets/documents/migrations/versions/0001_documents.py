"""Documents: doc_document, doc_number_counter, doc_incoming, doc_reading.

Revision ID: documents_0001
Revises:
Create Date: 2026-12-04
"""

import sqlalchemy as sa
from alembic import op

revision = "documents_0001"
down_revision = None
branch_labels = ("documents",)
depends_on = "0003_workflow"


def upgrade() -> None:
    op.create_table(
        "doc_document",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("title", sa.String(200), nullable=False),
        sa.Column("doc_type", sa.String(16), nullable=False),
        sa.Column("category", sa.String(16), nullable=False),
        sa.Column("retention", sa.String(16), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("drafter_id", sa.Integer(), sa.ForeignKey("person.id", name="fk_doc_document_drafter_id_person"), nullable=False),
        sa.Column("unit_id", sa.Integer(), sa.ForeignKey("org_unit.id", name="fk_doc_document_unit_id_org_unit"), nullable=False),
        sa.Column("countersign_units", sa.JSON(), nullable=False),
        sa.Column("recipient_units", sa.JSON(), nullable=False),
        sa.Column("stage", sa.String(20), nullable=False),
        sa.Column("instance_id", sa.Integer(), sa.ForeignKey("wf_instance.id", name="fk_doc_document_instance_id_wf_instance"), nullable=True),
        sa.Column("year", sa.Integer(), nullable=True),
        sa.Column("seq", sa.Integer(), nullable=True),
        sa.Column("number", sa.String(40), nullable=True),
        sa.Column("sealed_file", sa.LargeBinary(), nullable=True),
        sa.Column("file_sha256", sa.String(64), nullable=True),
        sa.Column("signature", sa.LargeBinary(), nullable=True),
        sa.Column("signer_subject", sa.String(255), nullable=True),
        sa.Column("signer_serial", sa.String(64), nullable=True),
        sa.Column("signed_at", sa.DateTime(), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.Column("dispatched_at", sa.DateTime(), nullable=True),
        sa.Column("archived_at", sa.DateTime(), nullable=True),
        sa.UniqueConstraint("doc_type", "year", "seq", name="uq_doc_document_number"),
        sa.UniqueConstraint("number", name="uq_doc_document_number_text"),
    )
    op.create_index("ix_doc_document_drafter_id", "doc_document", ["drafter_id"])
    op.create_index("ix_doc_document_stage", "doc_document", ["stage", "updated_at"])
    op.create_table(
        "doc_number_counter",
        sa.Column("doc_type", sa.String(16), primary_key=True),
        sa.Column("year", sa.Integer(), primary_key=True),
        sa.Column("last", sa.Integer(), nullable=False),
    )
    op.create_table(
        "doc_incoming",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("document_id", sa.Integer(), sa.ForeignKey("doc_document.id", name="fk_doc_incoming_document_id_doc_document"), nullable=False),
        sa.Column("unit_id", sa.Integer(), sa.ForeignKey("org_unit.id", name="fk_doc_incoming_unit_id_org_unit"), nullable=False),
        sa.Column("stage", sa.String(20), nullable=False),
        sa.Column("instance_id", sa.Integer(), sa.ForeignKey("wf_instance.id", name="fk_doc_incoming_instance_id_wf_instance"), nullable=True),
        sa.Column("reg_no", sa.String(40), nullable=True),
        sa.Column("received_at", sa.DateTime(), nullable=False),
        sa.Column("finished_at", sa.DateTime(), nullable=True),
        sa.UniqueConstraint("document_id", "unit_id", name="uq_doc_incoming_document_id"),
    )
    op.create_index("ix_doc_incoming_unit_stage", "doc_incoming", ["unit_id", "stage", "received_at"])
    op.create_table(
        "doc_reading",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("incoming_id", sa.Integer(), sa.ForeignKey("doc_incoming.id", name="fk_doc_reading_incoming_id_doc_incoming"), nullable=False),
        sa.Column("person_id", sa.Integer(), sa.ForeignKey("person.id", name="fk_doc_reading_person_id_person"), nullable=False),
        sa.Column("read_at", sa.DateTime(), nullable=False),
        sa.UniqueConstraint("incoming_id", "person_id", name="uq_doc_reading_incoming_id"),
    )
    op.create_index("ix_doc_reading_incoming_id", "doc_reading", ["incoming_id"])


def downgrade() -> None:
    op.drop_table("doc_reading")
    op.drop_table("doc_incoming")
    op.drop_table("doc_number_counter")
    op.drop_table("doc_document")
