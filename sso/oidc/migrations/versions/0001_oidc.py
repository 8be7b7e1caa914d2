"""OpenID Connect provider: clients, codes, tokens, signing keys, RP sessions.

Revision ID: oidc_0001
Revises:
Create Date: 2026-11-23
"""

import sqlalchemy as sa
from alembic import op

revision = "oidc_0001"
down_revision = None
branch_labels = ("oidc",)
depends_on = "0001_core"


def _person_fk(table: str) -> sa.Column:
    return sa.Column("person_id", sa.Integer(), sa.ForeignKey(
        "person.id", ondelete="CASCADE", name=f"fk_{table}_person_id_person"), nullable=False)


def upgrade() -> None:
    op.create_table(
        "oidc_client",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("client_id", sa.String(64), nullable=False),
        sa.Column("name", sa.String(100), nullable=False),
        sa.Column("secret_hash", sa.String(64), nullable=True),
        sa.Column("redirect_uris", sa.JSON(), nullable=False),
        sa.Column("post_logout_redirect_uris", sa.JSON(), nullable=False),
        sa.Column("backchannel_logout_uri", sa.String(500), nullable=True),
        sa.Column("first_party", sa.Boolean(), nullable=False),
        sa.Column("scope", sa.String(200), nullable=False),
        sa.Column("created_at", sa.Integer(), nullable=False),
        sa.UniqueConstraint("client_id", name="uq_oidc_client_client_id"),
    )
    op.create_table(
        "oidc_authorization_code",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("code_hash", sa.String(64), nullable=False),
        sa.Column("client_id", sa.String(64), nullable=False),
        _person_fk("oidc_authorization_code"),
        sa.Column("redirect_uri", sa.String(500), nullable=False),
        sa.Column("scope", sa.String(200), nullable=False),
        sa.Column("nonce", sa.String(255), nullable=True),
        sa.Column("code_challenge", sa.String(128), nullable=True),
        sa.Column("code_challenge_method", sa.String(10), nullable=True),
        sa.Column("sid", sa.String(64), nullable=False),
        sa.Column("auth_time", sa.Integer(), nullable=False),
        sa.Column("issued_at", sa.Integer(), nullable=False),
        sa.Column("used_at", sa.Integer(), nullable=True),
        sa.UniqueConstraint("code_hash", name="uq_oidc_authorization_code_code_hash"),
    )
    op.create_index("ix_oidc_authorization_code_client_id", "oidc_authorization_code",
                    ["client_id"])
    op.create_table(
        "oidc_token",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("client_id", sa.String(64), nullable=False),
        _person_fk("oidc_token"),
        sa.Column("grant_id", sa.Integer(), nullable=True),
        sa.Column("access_token_hash", sa.String(64), nullable=False),
        sa.Column("refresh_token_hash", sa.String(64), nullable=True),
        sa.Column("scope", sa.String(200), nullable=False),
        sa.Column("sid", sa.String(64), nullable=True),
        sa.Column("auth_time", sa.Integer(), nullable=True),
        sa.Column("issued_at", sa.Integer(), nullable=False),
        sa.Column("expires_in", sa.Integer(), nullable=False),
        sa.Column("refresh_expires_at", sa.Integer(), nullable=True),
        sa.Column("revoked", sa.Boolean(), nullable=False),
        sa.UniqueConstraint("access_token_hash", name="uq_oidc_token_access_token_hash"),
        sa.UniqueConstraint("refresh_token_hash", name="uq_oidc_token_refresh_token_hash"),
    )
    op.create_index("ix_oidc_token_client_id", "oidc_token", ["client_id"])
    op.create_index("ix_oidc_token_person_id", "oidc_token", ["person_id"])
    op.create_index("ix_oidc_token_grant_id", "oidc_token", ["grant_id"])
    op.create_index("ix_oidc_token_sid", "oidc_token", ["sid"])
    op.create_table(
        "oidc_signing_key",
        sa.Column("kid", sa.String(64), primary_key=True),
        sa.Column("private_pem", sa.Text(), nullable=False),
        sa.Column("created_at", sa.Integer(), nullable=False),
        sa.Column("retired_at", sa.Integer(), nullable=True),
    )
    op.create_index("ix_oidc_signing_key_retired_at", "oidc_signing_key", ["retired_at"])
    op.create_table(
        "oidc_rp_session",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("client_id", sa.String(64), nullable=False),
        sa.Column("sid", sa.String(64), nullable=False),
        _person_fk("oidc_rp_session"),
        sa.Column("created_at", sa.Integer(), nullable=False),
        sa.UniqueConstraint("client_id", "sid", name="uq_oidc_rp_session_client_sid"),
    )
    op.create_index("ix_oidc_rp_session_sid", "oidc_rp_session", ["sid"])


def downgrade() -> None:
    op.drop_table("oidc_rp_session")
    op.drop_table("oidc_signing_key")
    op.drop_table("oidc_token")
    op.drop_table("oidc_authorization_code")
    op.drop_table("oidc_client")
