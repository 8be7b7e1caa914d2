"""Personal iCalendar subscription URLs (``/calendar/ics/<token>.ics``).

Outlook and phone calendars fetch a subscription on their own, without a session, so the URL
itself is the credential: 32 random bytes, URL-safe. Only its SHA-256 is stored (a random
token needs no slow hash), the URL is shown once, right after it is made, and making a new one
or revoking ends the old one at once. A person who is deactivated loses the feed with the
account (the lookup checks ``Person.active``).
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from portal.toolkit import Person
from portlets.calendar.models import Feed

TOKEN_BYTES = 32
#: A token looks like this; anything else is refused before the database is asked.
MAX_TOKEN_LEN = 64


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode("ascii", "replace")).hexdigest()


def create(db: Session, person_id: int, now: datetime | None = None) -> str:
    """A new token for *person_id*, replacing any older one; returns the token (not kept)."""
    token = secrets.token_urlsafe(TOKEN_BYTES)
    db.execute(delete(Feed).where(Feed.person_id == person_id))
    db.add(Feed(person_id=person_id, token_hash=_digest(token),
                created_at=now or datetime.now()))
    db.flush()
    return token


def revoke(db: Session, person_id: int) -> bool:
    """Ends the person's subscription; whether there was one."""
    return bool(db.execute(delete(Feed).where(Feed.person_id == person_id)).rowcount)


def current(db: Session, person_id: int) -> Feed | None:
    return db.get(Feed, person_id)


def person_for_token(db: Session, token: str, now: datetime | None = None) -> Person | None:
    """The active person whose token this is (and note the use), or ``None``."""
    if not token or len(token) > MAX_TOKEN_LEN:
        return None
    row = db.execute(select(Feed, Person).join(Person, Person.id == Feed.person_id)
                     .where(Feed.token_hash == _digest(token),
                            Person.active.is_(True))).first()
    if row is None:
        return None
    feed, person = row
    feed.used_at = now or datetime.now()
    return person
