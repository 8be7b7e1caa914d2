"""Single sign-out: OpenID Connect Back-Channel Logout 1.0.

When a portal session ends, every relying party that signed a user in from that session gets a
*logout token* (a signed JWT naming the session's ``sid``) POSTed to its
``backchannel_logout_uri``, server to server: no browser tab has to be open for the relying
party's session to end.

``sid`` is derived from the portal's session id with a keyed hash, never the session id itself:
the session id is a bearer secret, while ``sid`` travels in ID tokens to other systems.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import secrets
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace

from flask import current_app
from joserfc import jwt
from sqlalchemy import delete, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from portal.toolkit import audit
from sso.oidc import keys
from sso.oidc.claims import subject
from sso.oidc.models import OidcClient, OidcRpSession, OidcToken, now

log = logging.getLogger(__name__)

BACKCHANNEL_EVENT = "http://schemas.openid.net/event/backchannel-logout"
LOGOUT_TOKEN_TTL = 120


def session_sid(session_id: str) -> str:
    """The public ``sid`` of a portal session (stable for the session's life)."""
    key = str(current_app.config["SECRET_KEY"]).encode()
    return hmac.new(key, b"oidc-sid:" + session_id.encode(), hashlib.sha256).hexdigest()[:32]


def record_rp_session(db: Session, client_id: str, sid: str, person_id: int) -> None:
    """Remember that *client_id* holds a session for portal session *sid* (idempotent, and
    safe when a browser opens the same system in two tabs at once)."""
    dialect = db.get_bind().dialect.name
    values = {"client_id": client_id, "sid": sid, "person_id": person_id, "created_at": now()}
    if dialect in ("postgresql", "sqlite"):
        module = postgresql if dialect == "postgresql" else sqlite
        db.execute(module.insert(OidcRpSession).values(**values)
                   .on_conflict_do_nothing(index_elements=["client_id", "sid"]))
        return
    exists = db.scalar(select(OidcRpSession.id).where(OidcRpSession.client_id == client_id,
                                                      OidcRpSession.sid == sid))
    if exists is None:
        db.add(OidcRpSession(**values))


def logout_token(db: Session, issuer: str, client_id: str, sid: str, person_id: int) -> str:
    key = keys.active_key(db)
    issued = now()
    claims = {"iss": issuer, "aud": client_id, "iat": issued, "exp": issued + LOGOUT_TOKEN_TTL,
              "jti": secrets.token_urlsafe(16), "sub": subject(person_id), "sid": sid,
              "events": {BACKCHANNEL_EVENT: {}}}
    header = {"alg": "RS256", "kid": key.kid, "typ": "logout+jwt"}
    return jwt.encode(header, claims, key, algorithms=["RS256"])


@dataclass(frozen=True)
class Delivery:
    client_id: str
    client_name: str
    uri: str
    token: str
    status: int | None = None
    error: str = ""

    @property
    def ok(self) -> bool:
        return self.status == 200 or self.status == 204


def _post(delivery: Delivery, timeout: float) -> Delivery:
    body = urllib.parse.urlencode({"logout_token": delivery.token}).encode()
    req = urllib.request.Request(delivery.uri, data=body, method="POST", headers={
        "Content-Type": "application/x-www-form-urlencoded"})
    # No proxies from the environment: logout tokens go straight to the registered address.
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    try:
        with opener.open(req, timeout=timeout) as resp:
            return replace(delivery, status=resp.status)
    except urllib.error.HTTPError as exc:
        return replace(delivery, status=exc.code, error=str(exc.reason))
    except (urllib.error.URLError, OSError) as exc:
        return replace(delivery, error=str(getattr(exc, "reason", exc)))


def end_rp_sessions(db: Session, sid: str, issuer: str, timeout: float) -> list[Delivery]:
    """Tell every relying party holding a session for *sid*, revoke the tokens issued from it,
    and forget those RP sessions. Deliveries run in parallel; each is audited. The caller
    commits."""
    rows = db.execute(
        select(OidcRpSession.client_id, OidcRpSession.person_id, OidcClient.name,
               OidcClient.backchannel_logout_uri)
        .join(OidcClient, OidcClient.client_id == OidcRpSession.client_id)
        .where(OidcRpSession.sid == sid)).all()
    pending = [Delivery(r.client_id, r.name, r.backchannel_logout_uri,
                        logout_token(db, issuer, r.client_id, sid, r.person_id))
               for r in rows if r.backchannel_logout_uri]
    done = list(_deliver(pending, timeout))
    for d in done:
        if not d.ok:
            log.warning("back-channel logout to %s (%s) failed: %s %s", d.client_name, d.uri,
                        d.status, d.error)
        audit(db, "oidc.backchannel_logout", d.client_name, client_id=d.client_id,
              status=d.status, error=d.error[:200])
    db.execute(update(OidcToken).where(OidcToken.sid == sid).values(revoked=True))
    db.execute(delete(OidcRpSession).where(OidcRpSession.sid == sid))
    return done


def _deliver(pending: list[Delivery], timeout: float) -> Iterable[Delivery]:
    if len(pending) <= 1:
        return [_post(d, timeout) for d in pending]
    with ThreadPoolExecutor(max_workers=min(8, len(pending))) as pool:
        return list(pool.map(lambda d: _post(d, timeout), pending))
