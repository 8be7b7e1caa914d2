"""The provider's own tables: registered clients, codes, tokens, signing keys, RP sessions.

Secrets, codes and tokens are stored as SHA-256 digests only. They are long random strings
(256 bits), so a fast digest is as safe as a slow password hash here, and the token endpoint
stays fast; a leaked database gives nobody a usable credential.
"""

from __future__ import annotations

import hashlib
import hmac
import time
from typing import Any, Protocol

from sqlalchemy import JSON, Boolean, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from portal.toolkit import Model


def digest(value: str) -> str:
    """The stored form of a secret, code or token."""
    return hashlib.sha256(value.encode()).hexdigest()


def now() -> int:
    return int(time.time())


class OidcClient(Model):
    """A relying party registered by an administrator (``portal oidc add-client``)."""

    __tablename__ = "oidc_client"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    client_id: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(100))
    #: ``None`` for a public client (a browser or mobile app that cannot keep a secret).
    secret_hash: Mapped[str | None] = mapped_column(String(64))
    redirect_uris: Mapped[list[str]] = mapped_column(JSON, default=list)
    post_logout_redirect_uris: Mapped[list[str]] = mapped_column(JSON, default=list)
    backchannel_logout_uri: Mapped[str | None] = mapped_column(String(500))
    #: The company's own systems: no consent screen.
    first_party: Mapped[bool] = mapped_column(Boolean, default=False)
    scope: Mapped[str] = mapped_column(String(200), default="openid profile email phone")
    created_at: Mapped[int] = mapped_column(Integer, default=now)

    # --- authlib.oauth2.rfc6749.ClientMixin ---------------------------------------------------

    @property
    def is_public(self) -> bool:
        return self.secret_hash is None

    def get_client_id(self) -> str:
        return self.client_id

    def get_default_redirect_uri(self) -> str | None:
        return self.redirect_uris[0] if len(self.redirect_uris) == 1 else None

    def get_allowed_scope(self, scope: str | None) -> str:
        if not scope:
            return ""
        allowed = set(self.scope.split())
        return " ".join(s for s in scope.split() if s in allowed)

    def check_redirect_uri(self, redirect_uri: str) -> bool:
        # Exact string comparison, as OpenID Connect requires: no prefix or pattern matching.
        return redirect_uri in self.redirect_uris

    def check_client_secret(self, client_secret: str) -> bool:
        if self.secret_hash is None:
            return False
        return hmac.compare_digest(self.secret_hash, digest(client_secret))

    def check_endpoint_auth_method(self, method: str, endpoint: str) -> bool:
        if endpoint != "token":
            return True
        if self.is_public:
            return method == "none"
        return method in ("client_secret_basic", "client_secret_post")

    def check_response_type(self, response_type: str) -> bool:
        return response_type == "code"

    def check_grant_type(self, grant_type: str) -> bool:
        return grant_type in ("authorization_code", "refresh_token")


class _CodeFields(Protocol):
    redirect_uri: str
    scope: str
    nonce: str | None
    auth_time: int


class AuthorizationCodeReads:
    """Authlib's ``AuthorizationCodeMixin`` over the code's own fields, for the stored row and
    for the plain row the token endpoint reads (``exchange.PresentedCode``) alike."""

    __slots__ = ()

    def get_redirect_uri(self: _CodeFields) -> str:
        return self.redirect_uri

    def get_scope(self: _CodeFields) -> str:
        return self.scope

    def get_nonce(self: _CodeFields) -> str | None:
        return self.nonce

    def get_auth_time(self: _CodeFields) -> int:
        return self.auth_time

    def get_acr(self) -> None:
        return None

    def get_amr(self) -> None:
        return None


class OidcAuthorizationCode(AuthorizationCodeReads, Model):
    """A code handed to the browser; exchanged once, within minutes, for tokens.

    A used code is kept (``used_at``) rather than deleted until it expires, so that a second
    use is recognised as a replay and the tokens issued from the first are revoked.
    """

    __tablename__ = "oidc_authorization_code"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    code_hash: Mapped[str] = mapped_column(String(64), unique=True)
    client_id: Mapped[str] = mapped_column(String(64), index=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("person.id", ondelete="CASCADE"))
    redirect_uri: Mapped[str] = mapped_column(String(500))
    scope: Mapped[str] = mapped_column(String(200))
    nonce: Mapped[str | None] = mapped_column(String(255))
    code_challenge: Mapped[str | None] = mapped_column(String(128))
    code_challenge_method: Mapped[str | None] = mapped_column(String(10))
    #: The portal session's public id (see ``logout.session_sid``), for single sign-out.
    sid: Mapped[str] = mapped_column(String(64))
    auth_time: Mapped[int] = mapped_column(Integer)
    issued_at: Mapped[int] = mapped_column(Integer, default=now)
    used_at: Mapped[int | None] = mapped_column(Integer)



class _TokenFields(Protocol):
    # Read-only: the presented token is a frozen dataclass.
    @property
    def client_id(self) -> str: ...
    @property
    def scope(self) -> str: ...
    @property
    def revoked(self) -> bool: ...
    @property
    def refresh_expires_at(self) -> int | None: ...


class RefreshTokenReads:
    """What the refresh grant asks of a token (Authlib's ``TokenMixin``), over the token's own
    fields, for the stored row and for the plain row the token endpoint reads
    (``exchange.PresentedRefresh``) alike."""

    __slots__ = ()

    def check_client(self: _TokenFields, client: Any) -> bool:
        return bool(self.client_id == client.get_client_id())

    def get_scope(self: _TokenFields) -> str:
        return self.scope

    def is_revoked(self: _TokenFields) -> bool:
        return self.revoked

    def refresh_expired(self: _TokenFields) -> bool:
        return self.refresh_expires_at is not None and now() >= self.refresh_expires_at


class OidcToken(RefreshTokenReads, Model):
    """An access token and (usually) its refresh token.

    ``grant_id`` is the authorization code the chain started from; refreshing keeps it, so a
    replayed code or a reused refresh token revokes the whole chain at once.
    """

    __tablename__ = "oidc_token"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    client_id: Mapped[str] = mapped_column(String(64), index=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("person.id", ondelete="CASCADE"),
                                           index=True)
    grant_id: Mapped[int | None] = mapped_column(Integer, index=True)
    access_token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    refresh_token_hash: Mapped[str | None] = mapped_column(String(64), unique=True)
    scope: Mapped[str] = mapped_column(String(200))
    sid: Mapped[str | None] = mapped_column(String(64), index=True)
    auth_time: Mapped[int | None] = mapped_column(Integer)
    issued_at: Mapped[int] = mapped_column(Integer, default=now)
    expires_in: Mapped[int] = mapped_column(Integer)
    refresh_expires_at: Mapped[int | None] = mapped_column(Integer)
    revoked: Mapped[bool] = mapped_column(Boolean, default=False)

    # --- authlib TokenMixin ---------------------------------------------------------------------

    def get_expires_in(self) -> int:
        return self.expires_in

    def is_expired(self) -> bool:
        return now() >= self.issued_at + self.expires_in


class OidcSigningKey(Model):
    """An RSA key that signs ID and logout tokens. One is active; retired ones stay published
    in the JWKS until every token they signed has expired."""

    __tablename__ = "oidc_signing_key"

    kid: Mapped[str] = mapped_column(String(64), primary_key=True)
    private_pem: Mapped[str] = mapped_column(Text)
    created_at: Mapped[int] = mapped_column(Integer, default=now)
    retired_at: Mapped[int | None] = mapped_column(Integer, index=True)


class OidcRpSession(Model):
    """"Client X holds a session for portal session *sid*": whom back-channel logout tells."""

    __tablename__ = "oidc_rp_session"
    __table_args__ = (UniqueConstraint("client_id", "sid", name="uq_oidc_rp_session_client_sid"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    client_id: Mapped[str] = mapped_column(String(64))
    sid: Mapped[str] = mapped_column(String(64), index=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("person.id", ondelete="CASCADE"))
    created_at: Mapped[int] = mapped_column(Integer, default=now)
