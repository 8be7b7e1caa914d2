"""Forgetting what can no longer be used: old codes, dead tokens, RP sessions without tokens.

Run now and then from the authorize endpoint (like the database session store's own clean-up),
so no scheduler is needed; a code is kept a day after it expired, long enough for a late replay
to be recognised as one.
"""

from __future__ import annotations

import secrets

from sqlalchemy import and_, delete, or_
from sqlalchemy.orm import Session

from portal.toolkit import setting
from sso.oidc.models import OidcAuthorizationCode, OidcToken, now

GRACE = 24 * 3600
EVERY = 200  # on average once in this many authorizations


def maybe_prune(db: Session) -> None:
    if secrets.randbelow(EVERY) == 0:
        prune(db)


def prune(db: Session) -> None:
    """Delete expired codes and tokens (the caller commits)."""
    stamp = now()
    code_ttl = int(setting("OIDC_CODE_TTL"))  # type: ignore[call-overload]
    db.execute(delete(OidcAuthorizationCode).where(
        OidcAuthorizationCode.issued_at < stamp - code_ttl - GRACE))
    db.execute(delete(OidcToken).where(or_(
        and_(OidcToken.refresh_expires_at.is_not(None),
             OidcToken.refresh_expires_at < stamp - GRACE),
        and_(OidcToken.refresh_expires_at.is_(None),
             OidcToken.issued_at + OidcToken.expires_in < stamp - GRACE))))
