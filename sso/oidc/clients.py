"""Registering relying parties: the administrator's side of ``portal oidc add-client``."""

from __future__ import annotations

import secrets
import threading
import time
from dataclasses import dataclass
from urllib.parse import urlsplit

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from sso.oidc.claims import SCOPES
from sso.oidc.models import (
    OidcAuthorizationCode,
    OidcClient,
    OidcRpSession,
    OidcToken,
    digest,
)

MAX_NAME = 100
MAX_URI = 500
#: How long the token endpoint keeps a client it has read (see :func:`cached_client`).
CLIENT_CACHE_SECONDS = 60.0
_cached: dict[str, tuple[OidcClient, float]] = {}
_cache_lock = threading.Lock()


class ClientError(ValueError):
    """A registration that cannot be accepted; the message says why."""


@dataclass(frozen=True)
class Registered:
    client: OidcClient
    #: Shown once, never stored: only its digest is kept.
    secret: str | None


def _check_uri(uri: str, what: str) -> str:
    parts = urlsplit(uri)
    if len(uri) > MAX_URI:
        raise ClientError(f"{what} is longer than {MAX_URI} characters: {uri[:60]}…")
    if parts.scheme not in ("https", "http") or not parts.netloc or parts.fragment:
        raise ClientError(f"{what} must be an absolute http(s) URL without a fragment: {uri}")
    if parts.scheme == "http" and parts.hostname not in ("localhost", "127.0.0.1", "::1"):
        raise ClientError(f"{what} must use https (http only for localhost): {uri}")
    return uri


def add_client(db: Session, name: str, redirect_uris: list[str], *, first_party: bool = False,
               public: bool = False, post_logout_redirect_uris: list[str] | None = None,
               backchannel_logout_uri: str | None = None,
               scope: str = " ".join(SCOPES)) -> Registered:
    """Register a relying party. The caller commits."""
    name = name.strip()
    if not name or len(name) > MAX_NAME:
        raise ClientError(f"the name must have 1 to {MAX_NAME} characters")
    if not redirect_uris:
        raise ClientError("at least one redirect URI is needed")
    unknown = set(scope.split()) - set(SCOPES)
    if unknown or "openid" not in scope.split():
        raise ClientError(f"scopes must include openid and be among {', '.join(SCOPES)}")
    client = OidcClient(
        # Hex: an id may be typed on a command line (`portal oidc remove-client ID`), where
        # one of token_urlsafe's that starts with "-" reads as an option.
        client_id=secrets.token_hex(12),
        name=name,
        redirect_uris=[_check_uri(u, "redirect URI") for u in redirect_uris],
        post_logout_redirect_uris=[_check_uri(u, "post-logout redirect URI")
                                   for u in post_logout_redirect_uris or []],
        backchannel_logout_uri=_check_uri(backchannel_logout_uri, "back-channel logout URI")
        if backchannel_logout_uri else None,
        first_party=first_party,
        scope=scope,
    )
    secret = None if public else secrets.token_urlsafe(32)
    client.secret_hash = digest(secret) if secret else None
    db.add(client)
    db.flush()
    return Registered(client, secret)


def find_client(db: Session, client_id: str) -> OidcClient | None:
    if not client_id or len(client_id) > 64:
        return None
    return db.scalars(select(OidcClient).where(OidcClient.client_id == client_id)).first()


def cached_client(db: Session, client_id: str) -> OidcClient | None:
    """:func:`find_client` for the token endpoint, kept up to ``CLIENT_CACHE_SECONDS`` per
    process: one query less on the provider's hottest path.

    Safe because a registration is never edited, only added or removed, and removing one
    deletes every code and token issued to it at once: a process still holding a removed
    client finds nothing it could exchange. (The authorize endpoint, which issues codes,
    always reads the database.) The row is detached from *db*, so a commit never expires it
    and threads may read it side by side; unknown ids are not kept.
    """
    held = _cached.get(client_id)
    if held is not None and time.monotonic() - held[1] < CLIENT_CACHE_SECONDS:
        return held[0]
    client = find_client(db, client_id)
    with _cache_lock:
        if client is None:
            _cached.pop(client_id, None)
            return None
        db.expunge(client)
        _cached[client_id] = (client, time.monotonic())
    return client


def forget_client(client_id: str) -> None:
    """Drop *client_id* from this process's cache (it was removed)."""
    with _cache_lock:
        _cached.pop(client_id, None)


def list_clients(db: Session) -> list[OidcClient]:
    return list(db.scalars(select(OidcClient).order_by(OidcClient.name, OidcClient.id)))


def remove_client(db: Session, client_id: str) -> bool:
    """Remove a client and everything issued to it (its tokens stop working at once)."""
    client = find_client(db, client_id)
    if client is None:
        return False
    for model in (OidcToken, OidcAuthorizationCode, OidcRpSession):
        db.execute(delete(model).where(model.client_id == client_id))
    db.delete(client)
    forget_client(client_id)
    return True
