"""The Authlib authorization server wired to the portal: grants, PKCE, ID tokens, storage.

Authlib does the protocol (parameter checks, client authentication, error codes); this module
says where things are stored and what goes into tokens.

Codes and refresh tokens are single-use. They are read first and *claimed* (marked used) by a
conditional UPDATE in the same short write that stores the new tokens, committed at once: of two
concurrent exchanges only one can claim, and the write lock (SQLite has one writer at a time) is
held for two statements, not for the whole request with its queries and RSA signature. A code
or refresh token presented again is a replay, which revokes everything issued from it.
"""

from __future__ import annotations

import logging
import secrets
from typing import Any

from authlib.integrations.flask_oauth2 import AuthorizationServer
from authlib.oauth2.rfc6749 import InvalidGrantError, InvalidRequestError, OAuth2Request
from authlib.oauth2.rfc6749.grants import AuthorizationCodeGrant, RefreshTokenGrant
from authlib.oauth2.rfc7636 import CodeChallenge
from authlib.oidc.core.grants import OpenIDCode
from flask import Flask, current_app, request, session
from joserfc.jwk import RSAKey
from sqlalchemy import exists, select, update
from sqlalchemy.orm import Session

from portal.toolkit import audit, db_session, setting
from sso.oidc import keys
from sso.oidc.claims import Subject, claims_for
from sso.oidc.clients import cached_client, find_client
from sso.oidc.exchange import (
    PresentedCode,
    PresentedRefresh,
    claim_code,
    claim_refresh,
    insert_token,
    read_code,
    read_refresh,
)
from sso.oidc.logout import session_sid
from sso.oidc.models import OidcAuthorizationCode, OidcClient, OidcToken, digest, now

log = logging.getLogger(__name__)

AUTH_METHODS = ["client_secret_basic", "client_secret_post", "none"]


def issuer() -> str:
    """``OIDC_ISSUER``, or this portal's own base URL as the request sees it."""
    configured = str(setting("OIDC_ISSUER") or "")
    return configured.rstrip("/") if configured else request.url_root.rstrip("/")


def _revoke_grant(grant_id: int) -> None:
    db_session().execute(update(OidcToken).where(OidcToken.grant_id == grant_id)
                         .values(revoked=True))


class PortalCodeGrant(AuthorizationCodeGrant):
    TOKEN_ENDPOINT_AUTH_METHODS = AUTH_METHODS

    def generate_authorization_code(self) -> str:
        return secrets.token_urlsafe(32)

    def save_authorization_code(self, code: str, request: OAuth2Request) -> None:
        created = getattr(session, "created", None) or now()
        db_session().add(OidcAuthorizationCode(
            code_hash=digest(code),
            client_id=request.client.client_id,
            person_id=request.user.id,
            redirect_uri=request.payload.redirect_uri or "",
            scope=request.scope or "",
            nonce=request.payload.data.get("nonce"),
            code_challenge=request.payload.data.get("code_challenge"),
            code_challenge_method=request.payload.data.get("code_challenge_method"),
            sid=session_sid(session.sid),  # type: ignore[attr-defined]
            auth_time=int(created),
        ))

    def query_authorization_code(self, code: str, client: OidcClient) -> PresentedCode | None:
        """The code with its person and posts, in one query (see ``sso.oidc.exchange``)."""
        db = db_session()
        row = read_code(db, digest(code), client.client_id)
        if row is None:
            audit(db, "oidc.code_unknown", client.name, client_id=client.client_id)
            return None
        if row.used_at is not None:
            _code_replayed(db, row, client)
            return None
        if now() - row.issued_at > int(setting("OIDC_CODE_TTL")):  # type: ignore[call-overload]
            audit(db, "oidc.code_expired", client.name, client_id=client.client_id,
                  person_id=row.person_id)
            return None
        return row  # claimed in save_token, once Authlib has checked the PKCE verifier

    def delete_authorization_code(self, authorization_code: PresentedCode) -> None:
        """Kept, marked used (see ``save_token``), so that a replay is recognised."""

    def authenticate_user(self, authorization_code: PresentedCode) -> Subject | None:
        return authorization_code.subject  # read with the code


class PortalRefreshTokenGrant(RefreshTokenGrant):
    TOKEN_ENDPOINT_AUTH_METHODS = AUTH_METHODS
    INCLUDE_NEW_REFRESH_TOKEN = True  # rotation: each refresh token works once

    def authenticate_refresh_token(self, refresh_token: str) -> PresentedRefresh | None:
        """The token with its person, in one query (see ``sso.oidc.exchange``)."""
        db = db_session()
        row = read_refresh(db, digest(refresh_token))
        if row is None or row.refresh_expired():
            return None
        if row.revoked:
            _refresh_reused(db, row)
            return None
        return row  # claimed in save_token

    def authenticate_user(self, refresh_token: PresentedRefresh) -> Subject | None:
        return refresh_token.subject  # read with the token

    def revoke_old_credential(self, refresh_token: OidcToken) -> None:
        """Already revoked: claiming it in ``save_token`` revoked it."""


class S256Challenge(CodeChallenge):
    """PKCE with S256 only (``plain`` protects nothing); required for public clients."""

    SUPPORTED_CODE_CHALLENGE_METHOD = ["S256"]

    def validate_code_challenge(self, grant: Any, redirect_uri: str) -> None:
        super().validate_code_challenge(grant, redirect_uri)
        data = grant.request.payload.data
        if data.get("code_challenge") and data.get("code_challenge_method") != "S256":
            raise InvalidRequestError("'code_challenge_method' must be S256.")
        if grant.request.client.is_public and not data.get("code_challenge"):
            raise InvalidRequestError("Public clients must use PKCE (S256).")


class PortalOpenIDCode(OpenIDCode):
    def exists_nonce(self, nonce: str, request: OAuth2Request) -> bool:
        return bool(db_session().scalar(select(exists().where(
            OidcAuthorizationCode.client_id == request.payload.client_id,
            OidcAuthorizationCode.nonce == nonce))))

    def resolve_client_private_key(self, client: OidcClient) -> RSAKey:
        return keys.active_key(db_session())

    def get_client_algorithm(self, client: OidcClient) -> str:
        return "RS256"

    def get_encode_header(self, client: OidcClient) -> dict[str, str]:
        key = keys.active_key(db_session())
        return {"alg": "RS256", "kid": str(key.kid), "typ": "JWT"}

    def get_client_claims(self, client: OidcClient) -> dict[str, Any]:
        ttl = int(setting("OIDC_ID_TOKEN_TTL"))  # type: ignore[call-overload]
        return {"iss": issuer(), "aud": [client.client_id], "exp": now() + ttl}

    def get_authorization_code_claims(self, authorization_code: PresentedCode) -> dict[str, Any]:
        claims = super().get_authorization_code_claims(authorization_code)
        claims["sid"] = authorization_code.sid  # for back-channel logout
        return claims

    def generate_user_info(self, user: Subject, scope: str) -> dict[str, Any]:
        return claims_for(db_session(), user, scope)


def save_token(token: dict[str, Any], request: OAuth2Request) -> None:
    """Claim the code or refresh token the new tokens replace, store digests of the new ones
    and commit: one short write. The chain (grant, sid) carries over on refresh."""
    db = db_session()
    code: PresentedCode | None = getattr(request, "authorization_code", None)
    previous: PresentedRefresh | None = getattr(request, "refresh_token", None)
    if code is not None and not claim_code(db, code.id):
        _code_replayed(db, code, request.client)  # a concurrent exchange was first
        raise InvalidGrantError("Invalid 'code' in request.")
    if previous is not None and not claim_refresh(db, previous.id):
        _refresh_reused(db, previous)
        raise InvalidGrantError()
    origin = code or previous
    grant_id = code.id if code is not None else previous.grant_id if previous else None
    refresh = token.get("refresh_token")
    refresh_ttl = int(setting("OIDC_REFRESH_TOKEN_TTL"))  # type: ignore[call-overload]
    insert_token(
        db, client_id=request.client.client_id, person_id=request.user.id, grant_id=grant_id,
        access_token_hash=digest(token["access_token"]),
        refresh_token_hash=digest(refresh) if refresh else None,
        scope=token.get("scope", ""), sid=origin.sid if origin is not None else None,
        auth_time=origin.auth_time if origin is not None else None,
        expires_in=int(token["expires_in"]),
        refresh_expires_at=now() + refresh_ttl if refresh else None,
    )
    db.commit()


def _code_replayed(db: Session, code: PresentedCode, client: OidcClient) -> None:
    # RFC 6749 4.1.2: a code used twice revokes the tokens issued from it.
    _revoke_grant(code.id)
    audit(db, "oidc.code_replayed", client.name, client_id=client.client_id,
          person_id=code.person_id)
    log.warning("authorization code replayed by client %s; its tokens are revoked",
                client.client_id)


def _refresh_reused(db: Session, token: PresentedRefresh) -> None:
    # A rotated (or revoked) refresh token came back: somebody holds a copy.
    if token.grant_id is not None:
        _revoke_grant(token.grant_id)
    audit(db, "oidc.refresh_reused", token.client_id, client_id=token.client_id,
          person_id=token.person_id)


def _random_token(*_args: Any, **_kwargs: Any) -> str:
    return secrets.token_urlsafe(32)


def _query_client(client_id: str) -> OidcClient | None:
    """The token endpoint reads clients through a short per-process cache; every other
    endpoint (authorize above all, which issues codes) reads the database."""
    if request.endpoint == "oidc_api.token":
        return cached_client(db_session(), client_id)
    return find_client(db_session(), client_id)


def create_server(app: Flask) -> AuthorizationServer:
    settings = app.extensions["portal"].settings
    server = AuthorizationServer(
        query_client=_query_client,
        save_token=save_token)
    server.load_config({
        # 256 random bits from the OS in one call (Authlib's default draws a character at a time).
        "OAUTH2_ACCESS_TOKEN_GENERATOR": _random_token,
        "OAUTH2_REFRESH_TOKEN_GENERATOR": _random_token,
        "OAUTH2_TOKEN_EXPIRES_IN": {
            "authorization_code": settings["OIDC_ACCESS_TOKEN_TTL"],
            "refresh_token": settings["OIDC_ACCESS_TOKEN_TTL"],
        },
        "OAUTH2_SCOPES_SUPPORTED": ["openid", "profile", "email", "phone"],
    })
    server.register_grant(PortalCodeGrant, [PortalOpenIDCode(require_nonce=False),
                                            S256Challenge(required=True)])
    server.register_grant(PortalRefreshTokenGrant)
    return server


def current_server() -> AuthorizationServer:
    return current_app.extensions["oidc"]
