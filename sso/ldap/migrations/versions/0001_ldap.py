"""LDAP: ldap_link (people the directory vouches for).

Revision ID: ldap_0001
Revises:
Create Date: 2026-11-23
"""

import sqlalchemy as sa
from alembic import op

revision = "ldap_0001"
down_revision = None
branch_labels = ("ldap",)
depends_on = "0001_core"


def upgrade() -> None:
    op.create_table(
        "ldap_link",
        sa.Column("person_id", sa.Integer(),
                  sa.ForeignKey("person.id", ondelete="CASCADE",
                                name="fk_ldap_link_person_id_person"),
                  primary_key=True),
        sa.Column("dn", sa.String(500), nullable=False),
        sa.Column("seen_at", sa.DateTime(), nullable=False),
        sa.Column("gone", sa.Boolean(), nullable=False, server_default=sa.false()),
    )


def downgrade() -> None:
    op.drop_table("ldap_link")
