"""Signing keys: one active RSA key signs; retired keys stay in the JWKS until their tokens expire.

Relying parties cache the JWKS. Publishing a retired key for as long as any token it signed is
still valid is what lets ``portal oidc rotate-keys`` run at any time without signing anybody out.

Each web process keeps the active key for ``ACTIVE_KEY_TTL`` seconds instead of reading it for
every token: after a rotation, other processes go on signing with the previous key for at most
that long, which is harmless, since that key is still published.
"""

from __future__ import annotations

import secrets
import threading
import time
from typing import Any

from flask import current_app
from joserfc.jwk import RSAKey
from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from portal.toolkit import setting
from sso.oidc.models import OidcSigningKey, now

KEY_SIZE = 2048
ACTIVE_KEY_TTL = 60.0
_PARAMETERS: dict[str, Any] = {"use": "sig", "alg": "RS256"}


class KeyCache:
    """Per application: parsed keys by kid (parsing a PEM costs more than signing with it),
    and the active one with the time it was read."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.parsed: dict[str, RSAKey] = {}
        self.active: tuple[RSAKey, float] | None = None

    def parse(self, row: OidcSigningKey) -> RSAKey:
        key = self.parsed.get(row.kid)
        if key is None:
            key = RSAKey.import_key(row.private_pem, parameters={  # type: ignore[arg-type]
                "kid": row.kid, **_PARAMETERS})
            with self.lock:
                self.parsed[row.kid] = key
        return key


def _cache() -> KeyCache:
    return current_app.extensions.setdefault("oidc_keys", KeyCache())


def create_key(db: Session) -> OidcSigningKey:
    """A new active key; the previous active key is retired (still published)."""
    stamp = now()
    for old in db.scalars(select(OidcSigningKey).where(OidcSigningKey.retired_at.is_(None))):
        old.retired_at = stamp
    key = RSAKey.generate_key(KEY_SIZE, private=True)
    row = OidcSigningKey(kid=f"{stamp}-{secrets.token_hex(4)}",
                         private_pem=key.as_pem(private=True).decode(), created_at=stamp)
    db.add(row)
    db.flush()
    _cache().active = None  # this process signs with the new key at once
    return row


def active_key(db: Session) -> RSAKey:
    """The key that signs now; created on first use, so a new portal needs no set-up step."""
    cache = _cache()
    held = cache.active
    if held is not None and time.monotonic() - held[1] < ACTIVE_KEY_TTL:
        return held[0]
    row = db.scalars(select(OidcSigningKey).where(OidcSigningKey.retired_at.is_(None))
                     .order_by(OidcSigningKey.created_at.desc()).limit(1)).first()
    if row is None:
        row = create_key(db)
        db.commit()
    key = cache.parse(row)
    cache.active = (key, time.monotonic())
    return key


def keep_for() -> int:
    """Seconds a retired key stays published: the longest life of anything it signed, plus
    the five minutes relying parties may cache the JWKS and a process its active key."""
    return max(int(setting("OIDC_ID_TOKEN_TTL")),  # type: ignore[call-overload]
               int(setting("OIDC_ACCESS_TOKEN_TTL"))) + 300  # type: ignore[call-overload]


def published_keys(db: Session, keep_for: int) -> list[OidcSigningKey]:
    """The active key and every key retired less than *keep_for* seconds ago."""
    return list(db.scalars(select(OidcSigningKey).where(
        or_(OidcSigningKey.retired_at.is_(None), OidcSigningKey.retired_at > now() - keep_for))
        .order_by(OidcSigningKey.created_at.desc())))


def jwks(db: Session, keep_for: int) -> dict[str, Any]:
    """The public half of the published keys, as a JSON Web Key Set."""
    active_key(db)  # a relying party may fetch the keys before the first sign-in
    cache = _cache()
    return {"keys": [cache.parse(row).as_dict(private=False)
                     for row in published_keys(db, keep_for)]}


def prune(db: Session, keep_for: int) -> int:
    """Forget keys retired longer ago than *keep_for* seconds; returns how many."""
    old = list(db.scalars(select(OidcSigningKey).where(
        OidcSigningKey.retired_at.is_not(None), OidcSigningKey.retired_at <= now() - keep_for)))
    for row in old:
        db.delete(row)
    return len(old)
