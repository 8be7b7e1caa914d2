"""Server-side sessions: the cookie holds a random id, the data lives in Redis or the database.

Server-side storage is what makes "rotate the id at sign-in", idle and absolute timeouts and
"sign out elsewhere" possible, and lets any web node continue a session another node started.
"""

from __future__ import annotations

import hashlib
import json
import secrets
import time
from dataclasses import dataclass
from typing import Any, Protocol

from flask import Flask, Request, Response, current_app, has_request_context, request
from flask.sessions import SessionInterface, SessionMixin
from sqlalchemy import delete, insert, select, update
from werkzeug.datastructures import CallbackDict

from portal.db import Database
from portal.models import WebSession
from portal.near import NearCopies

#: Redis key of a session: this prefix and the session id.
SESSION_KEY_PREFIX = "portal:session:"


class ServerSession(CallbackDict[str, Any], SessionMixin):
    def __init__(self, sid: str, data: dict[str, Any] | None = None, *, new: bool = False,
                 created: float | None = None, last_seen: float | None = None) -> None:
        def on_update(_self: Any) -> None:
            self.modified = True

        super().__init__(data or {}, on_update)
        self.sid = sid
        self.new = new
        self.modified = False
        self.created = created or time.time()
        self.last_seen = last_seen or self.created
        self.previous_sid: str | None = None
        #: Whose session it was when read from the store (to drop the old id from their index).
        self.opened_person_id = _person_of(data or {})

    def regenerate(self) -> None:
        """Give the session a new id (at sign-in), so an id planted before cannot be used."""
        if self.previous_sid is None:  # the stored id is the one to end, however many turns
            self.previous_sid = self.sid
        self.sid = secrets.token_urlsafe(32)
        self.created = time.time()
        self.modified = True

    def clear_all(self) -> None:
        self.clear()
        self.regenerate()


class SessionCompanion(Protocol):
    """Something that wants a few Redis keys read in the session's round trip (the portlet
    cache's version counters): it names them by session id and receives their raw values."""

    def keys_for_session(self, sid: str) -> list[str]: ...

    def receive(self, keys: list[str], values: list[bytes | None]) -> None: ...


@dataclass(frozen=True)
class StoredSession:
    sid: str
    data: dict[str, Any]
    created: float
    last_seen: float


@dataclass(frozen=True)
class SessionInfo:
    """One of a person's sessions as the "my sessions" page shows it. ``handle`` names it in
    forms: a hash of the id, since the id itself is a bearer credential."""

    handle: str
    user_agent: str
    address: str
    auth_method: str
    created: float
    last_seen: float
    current: bool


def handle_of(sid: str) -> str:
    return hashlib.sha256(sid.encode()).hexdigest()[:24]


def _person_of(data: dict[str, Any]) -> int | None:
    principal = data.get("principal")
    return principal.get("person_id") if isinstance(principal, dict) else None


class SessionStore:
    """Where sessions live, with an index of each person's sessions (for "sign out
    elsewhere" and for ending a deactivated person's sessions)."""

    #: Set when the store can read a companion's keys in the same round trip.
    companion: SessionCompanion | None = None

    def load(self, sid: str) -> tuple[dict[str, Any], float, float] | None:
        raise NotImplementedError

    def save(self, sid: str, data: dict[str, Any], created: float, last_seen: float,
             ttl: int) -> None:
        raise NotImplementedError

    def delete(self, sid: str) -> None:
        raise NotImplementedError

    def replace(self, previous: str, previous_person_id: int | None, sid: str,
                data: dict[str, Any], created: float, last_seen: float, ttl: int) -> None:
        """End session *previous* (of *previous_person_id*, if signed in) and save *sid*: a
        session id rotated at sign-in. Stores that can do it in one round trip do."""
        self.delete(previous)
        self.save(sid, data, created, last_seen, ttl)

    def sessions_of(self, person_id: int) -> list[StoredSession]:
        raise NotImplementedError


class RedisSessionStore(SessionStore):
    def __init__(self, url: str) -> None:
        import redis

        self.redis = redis.Redis.from_url(url)
        #: This process's copies of sessions and counters (``portal.near``), if kept.
        self.near: NearCopies | None = None

    def load(self, sid: str) -> tuple[dict[str, Any], float, float] | None:
        # The session and the counters the page will need anyway (the companion's), in one
        # round trip, or none when this process holds copies of them all.
        extra = self.companion.keys_for_session(sid) if self.companion is not None else []
        keys = [SESSION_KEY_PREFIX + sid, *extra]
        values: list[Any] = (list(self.redis.mget(keys)) if self.near is None
                             else self.near.read(keys, self.redis.mget))
        if extra:
            assert self.companion is not None
            self.companion.receive(extra, values[1:])
        raw = values[0]
        if raw is None:
            return None
        doc = json.loads(raw)
        return doc["d"], doc["c"], doc["s"]

    def _written(self, *sids: str) -> None:
        """Forget this process's copies of sessions it just wrote: read your own writes at
        once, not when Redis's invalidation message comes in."""
        if self.near is not None:
            self.near.drop([SESSION_KEY_PREFIX + sid for sid in sids if sid])

    def save(self, sid: str, data: dict[str, Any], created: float, last_seen: float,
             ttl: int) -> None:
        self.replace("", None, sid, data, created, last_seen, ttl)

    def replace(self, previous: str, previous_person_id: int | None, sid: str,
                data: dict[str, Any], created: float, last_seen: float, ttl: int) -> None:
        """One round trip: the old id's key deleted (and dropped from its person's index),
        the new one written and indexed."""
        doc = json.dumps({"d": data, "c": created, "s": last_seen}, separators=(",", ":"))
        person_id = _person_of(data)
        if person_id is None and not previous:
            self.redis.set(SESSION_KEY_PREFIX + sid, doc, ex=max(ttl, 1))
            self._written(sid)
            return
        pipe = self.redis.pipeline(transaction=True)
        if previous:
            pipe.delete(SESSION_KEY_PREFIX + previous)
            if previous_person_id is not None:
                pipe.srem(self._index(previous_person_id), previous)
        pipe.set(SESSION_KEY_PREFIX + sid, doc, ex=max(ttl, 1))
        if person_id is None:
            pipe.execute()
            self._written(previous, sid)
            return
        pipe.sadd(self._index(person_id), sid)
        # The index outlives its members by at most the idle timeout; sessions_of() drops the
        # ids whose session expired in between.
        pipe.expire(self._index(person_id), max(ttl, 1))
        pipe.execute()
        self._written(previous, sid)

    def delete(self, sid: str) -> None:
        raw = self.redis.getdel(SESSION_KEY_PREFIX + sid)
        self._written(sid)
        person_id = _person_of(json.loads(raw)["d"]) if raw else None
        if person_id is not None:
            self.redis.srem(self._index(person_id), sid)

    def sessions_of(self, person_id: int) -> list[StoredSession]:
        sids = sorted(m.decode() if isinstance(m, bytes) else m
                      for m in self.redis.smembers(self._index(person_id)))
        if not sids:
            return []
        docs = self.redis.mget([SESSION_KEY_PREFIX + sid for sid in sids])
        found, gone = [], []
        for sid, raw in zip(sids, docs, strict=True):
            if raw is None:
                gone.append(sid)
                continue
            doc = json.loads(raw)
            found.append(StoredSession(sid, doc["d"], doc["c"], doc["s"]))
        if gone:
            self.redis.srem(self._index(person_id), *gone)
        return found

    @staticmethod
    def _index(person_id: int) -> str:
        return f"portal:person-sessions:{person_id}"


class SqlSessionStore(SessionStore):
    def __init__(self, db: Database) -> None:
        self.db = db

    def load(self, sid: str) -> tuple[dict[str, Any], float, float] | None:
        with self.db.engine.connect() as conn:
            row = conn.execute(
                select(WebSession.data, WebSession.created_at, WebSession.last_seen).where(
                    WebSession.id == sid)
            ).first()
        if row is None:
            return None
        return json.loads(row[0]), row[1], row[2]

    def save(self, sid: str, data: dict[str, Any], created: float, last_seen: float,
             ttl: int) -> None:
        principal = data.get("principal") or {}
        values = {"data": json.dumps(data), "created_at": created, "last_seen": last_seen,
                  "person_id": principal.get("person_id")}
        with self.db.engine.begin() as conn:
            updated = conn.execute(
                update(WebSession).where(WebSession.id == sid).values(**values)
            ).rowcount
            if not updated:
                conn.execute(insert(WebSession).values(id=sid, **values))
            if secrets.randbelow(200) == 0:  # now and then, forget long-dead sessions
                conn.execute(delete(WebSession).where(WebSession.last_seen < time.time() - ttl))

    def delete(self, sid: str) -> None:
        with self.db.engine.begin() as conn:
            conn.execute(delete(WebSession).where(WebSession.id == sid))

    def sessions_of(self, person_id: int) -> list[StoredSession]:
        with self.db.engine.connect() as conn:
            rows = conn.execute(
                select(WebSession.id, WebSession.data, WebSession.created_at,
                       WebSession.last_seen).where(WebSession.person_id == person_id)
                .order_by(WebSession.id)
            ).all()
        return [StoredSession(sid, json.loads(data), created, seen)
                for sid, data, created, seen in rows]


class ServerSessionInterface(SessionInterface):
    #: Writing last_seen on every request would turn every page view into a write; a minute of
    #: slack on the idle timeout is the price of not doing so.
    TOUCH_EVERY = 60.0

    def __init__(self, store: SessionStore, idle: int, absolute: int) -> None:
        self.store = store
        self.idle = idle
        self.absolute = absolute

    def alive(self, stored: StoredSession, now: float | None = None) -> bool:
        now = time.time() if now is None else now
        return now - stored.last_seen <= self.idle and now - stored.created <= self.absolute

    def sessions_of(self, person_id: int) -> list[StoredSession]:
        """The person's live sessions, oldest first; expired ones found on the way are
        deleted."""
        live = []
        for stored in self.store.sessions_of(person_id):
            if self.alive(stored):
                live.append(stored)
            else:
                self.store.delete(stored.sid)
        return sorted(live, key=lambda s: (s.created, s.sid))

    def describe(self, person_id: int, current_sid: str | None) -> list[SessionInfo]:
        out = []
        for stored in self.sessions_of(person_id):
            client = stored.data.get("_client") or {}
            principal = stored.data.get("principal") or {}
            out.append(SessionInfo(
                handle=handle_of(stored.sid), user_agent=str(client.get("ua") or ""),
                address=str(client.get("ip") or ""),
                auth_method=str(principal.get("auth_method") or ""), created=stored.created,
                last_seen=stored.last_seen, current=stored.sid == current_sid))
        return out

    def end(self, sid: str) -> None:
        self.store.delete(sid)

    def open_session(self, app: Flask, request: Request) -> ServerSession:
        sid = request.cookies.get(self.get_cookie_name(app))
        now = time.time()
        if sid and len(sid) <= 64:
            loaded = self.store.load(sid)
            if loaded is not None:
                data, created, last_seen = loaded
                if now - last_seen <= self.idle and now - created <= self.absolute:
                    return ServerSession(sid, data, created=created, last_seen=last_seen)
                self.store.delete(sid)
                s = ServerSession(secrets.token_urlsafe(32), new=True)
                s["expired"] = True
                return s
        return ServerSession(secrets.token_urlsafe(32), new=True)

    def save_session(self, app: Flask, session: SessionMixin, response: Response) -> None:
        assert isinstance(session, ServerSession)
        name = self.get_cookie_name(app)
        domain = self.get_cookie_domain(app)
        path = self.get_cookie_path(app)
        previous = session.previous_sid
        if not session:
            if previous:
                self.store.delete(previous)
            if not session.new:
                self.store.delete(session.sid)
                response.delete_cookie(name, domain=domain, path=path)
            return
        now = time.time()
        touch = now - session.last_seen > self.TOUCH_EVERY
        if not (session.modified or session.new or touch):
            if previous:
                self.store.delete(previous)
            return
        if "principal" in session and "_client" not in session and has_request_context():
            # Shown on the "my sessions" page, so people recognise their own devices.
            session["_client"] = {"ua": request.user_agent.string[:200],
                                  "ip": (request.remote_addr or "")[:64]}
        session.last_seen = now
        if previous:
            self.store.replace(previous, session.opened_person_id, session.sid, dict(session),
                               session.created, now, self.idle)
        else:
            self.store.save(session.sid, dict(session), session.created, now, self.idle)
        # Secure when configured, and always when the request itself came over TLS.
        secure = self.get_cookie_secure(app) or (has_request_context() and request.is_secure)
        response.set_cookie(
            name, session.sid, httponly=True, secure=secure,
            samesite=self.get_cookie_samesite(app) or "Lax", domain=domain, path=path,
        )
        response.vary.add("Cookie")


def session_interface() -> ServerSessionInterface:
    """The current app's session interface, for listing and ending a person's sessions."""
    interface = current_app.session_interface
    assert isinstance(interface, ServerSessionInterface)
    return interface
