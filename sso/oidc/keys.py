"""Signing keys: one active RSA key signs; retired keys stay in the JWKS until their tokens expire.

Relying parties cache the JWKS. Publishing a retired key for as long as any token it signed is
still valid is what lets ``portal oidc rotate-keys`` run at any time without signing anybody out.
"""

from __future__ import annotations

import secrets
import threading
from typing import Any

from joserfc.jwk import RSAKey
from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from portal.toolkit import setting
from sso.oidc.models import OidcSigningKey, now

KEY_SIZE = 2048
_PARAMETERS: dict[str, Any] = {"use": "sig", "alg": "RS256"}

# Parsing a PEM costs more than signing with it: parsed keys are kept per process, by kid.
_parsed: dict[str, RSAKey] = {}
_lock = threading.Lock()


def _parse(row: OidcSigningKey) -> RSAKey:
    key = _parsed.get(row.kid)
    if key is None:
        key = RSAKey.import_key(row.private_pem,
                                parameters={"kid": row.kid, **_PARAMETERS})  # type: ignore[arg-type]
        with _lock:
            _parsed[row.kid] = key
    return key


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
    return row


def active_key(db: Session) -> RSAKey:
    """The key that signs now; created on first use, so a new portal needs no set-up step."""
    row = db.scalars(select(OidcSigningKey).where(OidcSigningKey.retired_at.is_(None))
                     .order_by(OidcSigningKey.created_at.desc()).limit(1)).first()
    if row is None:
        row = create_key(db)
        db.commit()
    return _parse(row)


def keep_for() -> int:
    """Seconds a retired key stays published: the longest life of anything it signed, plus
    the five minutes relying parties may cache the JWKS."""
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
    return {"keys": [_parse(row).as_dict(private=False) for row in published_keys(db, keep_for)]}


def prune(db: Session, keep_for: int) -> int:
    """Forget keys retired longer ago than *keep_for* seconds; returns how many."""
    old = list(db.scalars(select(OidcSigningKey).where(
        OidcSigningKey.retired_at.is_not(None), OidcSigningKey.retired_at <= now() - keep_for)))
    for row in old:
        db.delete(row)
    return len(old)
