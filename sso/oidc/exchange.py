"""The token endpoint's own SQL: a code exchange or a refresh in three statements each.

A code exchange reads, in **one** query, the code, the active person it speaks for with their
org unit, and their posts (one row per post). Authlib then checks the redirect URI and the PKCE
verifier against what was read; only after that does ``save_token`` claim the code (a
conditional ``UPDATE``: a wrong verifier leaves the code usable, a code presented twice is a
replay) and insert the new tokens, committed at once.

A refresh reads the token and its person in one query, then claims (revokes) the refresh
token and inserts its successor the same way.

The statements are built once, at import, with bind parameters: building a SQLAlchemy
statement per request costs more CPU than running it. They are Core statements on the
session's connection: the rows are read once and thrown away, the ORM's identity map and
unit of work would only add work.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, cast

from sqlalchemy import Table, and_, bindparam, insert, select, update
from sqlalchemy.orm import Session

from portal.toolkit import OrgUnit, Person, Post, PostAssignment
from sso.oidc.claims import Subject
from sso.oidc.models import (
    AuthorizationCodeReads,
    OidcAuthorizationCode,
    OidcToken,
    RefreshTokenReads,
    now,
)


def _table(model: Any) -> Table:
    return cast(Table, model.__table__)


_code, _token = _table(OidcAuthorizationCode), _table(OidcToken)
_person, _unit = _table(Person), _table(OrgUnit)
_post, _held = _table(Post), _table(PostAssignment)

_READ_CODE = (
    select(_code.c.id, _code.c.client_id, _code.c.person_id, _code.c.redirect_uri,
           _code.c.scope, _code.c.nonce, _code.c.code_challenge, _code.c.code_challenge_method,
           _code.c.sid, _code.c.auth_time, _code.c.issued_at, _code.c.used_at,
           _person.c.id, _person.c.username, _person.c.display_name, _person.c.email,
           _person.c.mobile, _person.c.locale, _unit.c.code, _unit.c.name,
           _post.c.code, _post.c.name)
    .select_from(
        _code.outerjoin(_person, and_(_person.c.id == _code.c.person_id,
                                      _person.c.active.is_(True)))
        .outerjoin(_unit, _unit.c.id == _person.c.org_unit_id)
        .outerjoin(_held, _held.c.person_id == _person.c.id)
        .outerjoin(_post, _post.c.id == _held.c.post_id))
    .where(_code.c.code_hash == bindparam("code_hash"),
           _code.c.client_id == bindparam("client_id"))
    .order_by(_post.c.code)
)

_CLAIM_CODE = (update(_code)
               .where(_code.c.id == bindparam("code_id"), _code.c.used_at.is_(None))
               .values(used_at=bindparam("used_at")))

_READ_REFRESH = (
    select(_token.c.id, _token.c.client_id, _token.c.person_id, _token.c.grant_id,
           _token.c.scope, _token.c.sid, _token.c.auth_time, _token.c.refresh_expires_at,
           _token.c.revoked,
           _person.c.id, _person.c.username, _person.c.display_name, _person.c.email,
           _person.c.mobile, _person.c.locale, _unit.c.code, _unit.c.name)
    .select_from(
        _token.outerjoin(_person, and_(_person.c.id == _token.c.person_id,
                                       _person.c.active.is_(True)))
        .outerjoin(_unit, _unit.c.id == _person.c.org_unit_id))
    .where(_token.c.refresh_token_hash == bindparam("refresh_hash"))
)

_CLAIM_REFRESH = (update(_token)
                  .where(_token.c.id == bindparam("token_id"), _token.c.revoked.is_(False))
                  .values(revoked=True))

_INSERT_TOKEN = insert(_token)


@dataclass(frozen=True, slots=True)
class PresentedCode(AuthorizationCodeReads):
    """An authorization code as a token request presented it, with its person (``None`` when
    deactivated since) and their posts: Authlib's ``AuthorizationCodeMixin``."""

    id: int
    client_id: str
    person_id: int
    redirect_uri: str
    scope: str
    nonce: str | None
    code_challenge: str | None
    code_challenge_method: str | None
    sid: str
    auth_time: int
    issued_at: int
    used_at: int | None
    subject: Subject | None


@dataclass(frozen=True, slots=True)
class PresentedRefresh(RefreshTokenReads):
    """A refresh token as a token request presented it, with its person (``None`` when
    deactivated since): Authlib's ``TokenMixin``, as far as the refresh grant uses it."""

    id: int
    client_id: str
    person_id: int
    grant_id: int | None
    scope: str
    sid: str | None
    auth_time: int | None
    refresh_expires_at: int | None
    revoked: bool
    subject: Subject | None


def read_refresh(db: Session, refresh_hash: str) -> PresentedRefresh | None:
    """The token row whose refresh token has digest *refresh_hash*, or ``None``: one query."""
    row = db.connection().execute(_READ_REFRESH, {"refresh_hash": refresh_hash}).first()
    if row is None:
        return None
    (token_id, client_id, person_id, grant_id, scope, sid, auth_time, expires_at,
     revoked) = row[:9]
    subject = Subject(*row[9:17]) if row[9] is not None else None
    return PresentedRefresh(token_id, client_id, person_id, grant_id, scope, sid, auth_time,
                            expires_at, bool(revoked), subject)


def read_code(db: Session, code_hash: str, client_id: str) -> PresentedCode | None:
    """The code with digest *code_hash* issued to *client_id*, or ``None``: one query."""
    rows = db.connection().execute(_READ_CODE, {"code_hash": code_hash,
                                                "client_id": client_id}).all()
    if not rows:
        return None
    first = rows[0]
    subject = None
    if first[12] is not None:
        posts: list[tuple[str, str]] = []
        for row in rows:  # a post held in two units comes twice
            if row[20] is not None and (row[20], row[21]) not in posts:
                posts.append((row[20], row[21]))
        (pid, username, display_name, email, mobile, locale, unit_code,
         unit_name) = first[12:20]
        subject = Subject(pid, username, display_name, email, mobile, locale, unit_code,
                          unit_name, tuple(posts))
    (code_id, client_id, person_id, redirect_uri, scope, nonce, challenge, method, sid,
     auth_time, issued_at, used_at) = first[:12]
    return PresentedCode(code_id, client_id, person_id, redirect_uri, scope, nonce, challenge,
                         method, sid, auth_time, issued_at, used_at, subject)


def claim_code(db: Session, code_id: int) -> bool:
    """Mark the code used, unless it already is (a concurrent exchange was first)."""
    result = db.connection().execute(_CLAIM_CODE, {"code_id": code_id, "used_at": now()})
    return bool(result.rowcount)


def claim_refresh(db: Session, token_id: int) -> bool:
    """Revoke the refresh token being used, unless it already is (used or revoked)."""
    result = db.connection().execute(_CLAIM_REFRESH, {"token_id": token_id})
    return bool(result.rowcount)


def insert_token(db: Session, **values: Any) -> None:
    """Store a new token row (digests only; see ``OidcToken``)."""
    db.connection().execute(_INSERT_TOKEN, values)
