"""Company CA: ca_authority, ca_certificate.

Revision ID: ca_0001
Revises:
Create Date: 2026-11-23
"""

import sqlalchemy as sa
from alembic import op

revision = "ca_0001"
down_revision = None
branch_labels = ("ca",)
depends_on = "0001_core"


def upgrade() -> None:
    op.create_table(
        "ca_authority",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("cert_pem", sa.Text(), nullable=False),
        sa.Column("key_pem", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(), server_default=sa.func.now(), nullable=False),
    )
    op.create_table(
        "ca_certificate",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("serial", sa.String(64), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("person_id", sa.Integer(),
                  sa.ForeignKey("person.id", name="fk_ca_certificate_person_id_person"),
                  nullable=True),
        sa.Column("org_unit_id", sa.Integer(),
                  sa.ForeignKey("org_unit.id", name="fk_ca_certificate_org_unit_id_org_unit"),
                  nullable=True),
        sa.Column("subject_dn", sa.String(500), nullable=False),
        sa.Column("not_before", sa.DateTime(), nullable=False),
        sa.Column("not_after", sa.DateTime(), nullable=False),
        sa.Column("cert_pem", sa.Text(), nullable=False),
        sa.Column("key_pem", sa.Text(), nullable=True),
        sa.Column("issued_by", sa.String(64), nullable=False),
        sa.Column("issued_at", sa.DateTime(), server_default=sa.func.now(), nullable=False),
        sa.Column("revoked_at", sa.DateTime(), nullable=True),
        sa.Column("revocation_reason", sa.String(32), nullable=True),
        sa.UniqueConstraint("serial", name="uq_ca_certificate_serial"),
    )
    op.create_index("ix_ca_certificate_kind", "ca_certificate", ["kind"])
    op.create_index("ix_ca_certificate_person_id", "ca_certificate", ["person_id"])
    op.create_index("ix_ca_certificate_org_unit_id", "ca_certificate", ["org_unit_id"])
    op.create_index("ix_ca_certificate_subject_dn", "ca_certificate", ["subject_dn"])


def downgrade() -> None:
    op.drop_table("ca_certificate")
    op.drop_table("ca_authority")
