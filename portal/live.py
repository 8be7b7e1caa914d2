"""Live updates for open pages: ``publish`` to people after a commit, and the broker behind it.

A message goes to a short log (so a browser that reconnects resumes where it stopped, by the
SSE ``Last-Event-ID``) and to every web process that holds a stream of one of its recipients.
With ``REDIS_URL`` the log is a capped Redis stream and the fan-out is Redis pub/sub, so a
notice raised by a sync worker or on another web node reaches every node; without it (the
embedded mode) both live in the process. The two brokers share one interface and one fan-out.

Message ids are Redis stream ids (``<ms>-<seq>``) in both brokers: ordered, unique, and what the
browser sends back to resume.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import queue
import threading
import time
from collections import deque
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any, Protocol

from flask import Flask, current_app, g, url_for
from sqlalchemy.orm import Session

from portal.db import after_commit

log = logging.getLogger(__name__)

EXTENSION = "portal.live"
ZERO_ID = "0-0"


@dataclass(frozen=True)
class LiveMessage:
    """What an open page is told.

    ``key`` identifies the thing announced (``notification:42``): a page shows each key once,
    whatever reconnects and replays happen. ``refresh`` names the portlets whose windows the
    page reloads; ``title`` and ``link``, when given, are shown as a short toast.
    """

    type: str
    key: str
    title: str = ""
    link: str = ""
    refresh: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        # By hand: ``asdict`` deep-copies, and a sync batch announces thousands of notices.
        return {"type": self.type, "key": self.key, "title": self.title, "link": self.link,
                "refresh": list(self.refresh)}


@dataclass(frozen=True)
class LiveBadge:
    """A counter in the page header that live updates keep current (``portal_live_badges``).

    The page fetches ``count_url`` (JSON ``{"count": n}``) when it loads and whenever a live
    message names ``portlet`` in its ``refresh`` list; the badge links to ``url``.
    """

    name: str
    label: str
    url: str
    count_url: str
    portlet: str
    icon: str = ""


@dataclass(frozen=True)
class Entry:
    """One logged message: its id, its recipients and its data."""

    id: str
    recipients: frozenset[int]
    data: dict[str, Any]


@dataclass(frozen=True)
class Replay:
    """Messages after a given id for one person; ``complete`` is False when some may have
    been trimmed from the log (the page then reloads what the messages would have told)."""

    entries: list[Entry]
    last_id: str
    complete: bool


def parse_id(value: str) -> tuple[int, int]:
    """``"<ms>-<seq>"`` as a comparable pair; ``ValueError`` for anything else."""
    ms, sep, seq = value.partition("-")
    if not sep or not ms.isdigit() or not seq.isdigit() or len(value) > 41:
        raise ValueError(f"not a message id: {value!r}")
    return int(ms), int(seq)


CLOSED = object()  # pushed to a subscription when the broker shuts down
RESYNC = object()  # pushed when messages may have been lost (queue overflow, Redis reconnect)


@dataclass(eq=False)
class Subscription:
    """One open stream of one person in this process: a bounded queue the broker fills."""

    person_id: int
    queue: queue.Queue[Any] = field(default_factory=lambda: queue.Queue(maxsize=200))

    def push(self, item: Any) -> None:
        try:
            self.queue.put_nowait(item)
        except queue.Full:
            # A stuck reader: drop what is queued and tell it to reload instead.
            with self.queue.mutex:
                self.queue.queue.clear()
            self.queue.put_nowait(RESYNC)

    def get(self, timeout: float) -> Any:
        """The next Entry, RESYNC or CLOSED, or None when *timeout* passes quietly."""
        try:
            return self.queue.get(timeout=timeout)
        except queue.Empty:
            return None


class TooManyStreams(Exception):
    """A stream limit (per person or per process) is reached; ``per_person`` says which."""

    def __init__(self, per_person: bool) -> None:
        super().__init__("per person" if per_person else "per process")
        self.per_person = per_person


class Hub:
    """The fan-out inside one process: entries to the subscriptions of their recipients."""

    def __init__(self, per_person: int, per_process: int) -> None:
        self.per_person = per_person
        self.per_process = per_process
        self._lock = threading.Lock()
        self._subs: dict[int, set[Subscription]] = {}
        self._count = 0
        self.closed = False

    def add(self, person_id: int) -> Subscription:
        with self._lock:
            if self.closed:
                raise TooManyStreams(per_person=False)
            mine = self._subs.setdefault(person_id, set())
            if len(mine) >= self.per_person:
                raise TooManyStreams(per_person=True)
            if self._count >= self.per_process:
                raise TooManyStreams(per_person=False)
            sub = Subscription(person_id)
            mine.add(sub)
            self._count += 1
            return sub

    def remove(self, sub: Subscription) -> None:
        with self._lock:
            mine = self._subs.get(sub.person_id)
            if mine is not None and sub in mine:
                mine.discard(sub)
                self._count -= 1
                if not mine:
                    del self._subs[sub.person_id]

    def count(self) -> int:
        return self._count

    def deliver(self, entry: Entry) -> None:
        with self._lock:
            targets = [s for p in entry.recipients for s in self._subs.get(p, ())]
        for sub in targets:
            sub.push(entry)

    def broadcast(self, item: Any) -> None:
        with self._lock:
            targets = [s for subs in self._subs.values() for s in subs]
        for sub in targets:
            sub.push(item)

    def close(self) -> None:
        with self._lock:
            self.closed = True
        self.broadcast(CLOSED)


class Broker(Protocol):
    """What both brokers offer; the stream view and ``publish`` use only this."""

    hub: Hub

    def publish(self, recipients: Iterable[int], data: dict[str, Any]) -> str: ...

    def replay(self, person_id: int, after: str, limit: int = 500) -> Replay: ...

    def last_id(self) -> str: ...

    def subscribe(self, person_id: int) -> Subscription: ...

    def unsubscribe(self, sub: Subscription) -> None: ...

    def close(self) -> None: ...


def _replay(entries: list[Entry], person_id: int, complete: bool, last: str,
            limit: int) -> Replay:
    """The entries of *person_id* among *entries* (all those after the reader's id, oldest
    first), at most *limit*; the new cursor is the last entry looked at, or *last*."""
    mine: list[Entry] = []
    scanned: str | None = None
    for e in entries:
        if person_id in e.recipients:
            if len(mine) == limit:
                return Replay(mine, scanned or mine[-1].id, complete)
            mine.append(e)
        scanned = e.id
    cursor = last if scanned is None or parse_id(last) > parse_id(scanned) else scanned
    return Replay(mine, cursor, complete)


class MemoryBroker:
    """The embedded mode's broker: log and fan-out in this process (one web process only)."""

    def __init__(self, backlog: int, hub: Hub) -> None:
        self.hub = hub
        self._log: deque[Entry] = deque(maxlen=backlog)
        self._lock = threading.Lock()
        self._last = (0, 0)
        self._trimmed = False

    def _next_id(self) -> str:
        ms = int(time.time() * 1000)
        last_ms, seq = self._last
        self._last = (ms, 0) if ms > last_ms else (last_ms, seq + 1)
        return f"{self._last[0]}-{self._last[1]}"

    def publish(self, recipients: Iterable[int], data: dict[str, Any]) -> str:
        people = frozenset(int(p) for p in recipients)
        with self._lock:
            entry = Entry(self._next_id(), people, data)
            if len(self._log) == self._log.maxlen:
                self._trimmed = True
            self._log.append(entry)
        self.hub.deliver(entry)
        return entry.id

    def replay(self, person_id: int, after: str, limit: int = 500) -> Replay:
        key = parse_id(after)
        with self._lock:
            entries = [e for e in self._log if parse_id(e.id) > key]
            first = self._log[0].id if self._log else None
            last = f"{self._last[0]}-{self._last[1]}"
            # Complete unless entries after *after* may have been trimmed away.
            complete = not self._trimmed or (first is not None and parse_id(first) <= key)
            complete = complete and key <= self._last
        return _replay(entries, person_id, complete, last, limit)

    def last_id(self) -> str:
        with self._lock:
            return f"{self._last[0]}-{self._last[1]}"

    def subscribe(self, person_id: int) -> Subscription:
        return self.hub.add(person_id)

    def unsubscribe(self, sub: Subscription) -> None:
        self.hub.remove(sub)

    def close(self) -> None:
        self.hub.close()


# Log and announce in one round trip, atomically: a listener never sees an id the log lacks.
_PUBLISH = """
local id = redis.call('XADD', KEYS[1], 'MAXLEN', ARGV[1], '*', 'to', ARGV[2], 'm', ARGV[3])
redis.call('PUBLISH', KEYS[2], id .. '\\n' .. ARGV[2] .. '\\n' .. ARGV[3])
return id
"""


def _entry(entry_id: str, to: str, raw: str) -> Entry:
    people = frozenset(int(p) for p in to.split(",") if p)
    return Entry(entry_id, people, json.loads(raw))


class RedisBroker:
    """Production's broker: a capped Redis stream as the log, pub/sub as the fan-out.

    Each process runs one listener thread (started with its first stream, so forked workers
    each get their own), whatever number of streams it holds. After a lost connection the
    listener reads what it missed from the log, so no open page loses a message.
    """

    def __init__(self, url: str, backlog: int, hub: Hub, prefix: str = "portal:live") -> None:
        import redis

        self.hub = hub
        # Typed loosely: redis-py's stubs type every reply as a union of all reply types.
        self.redis: Any = redis.Redis.from_url(url, decode_responses=True, socket_timeout=5,
                                               health_check_interval=30,
                                               client_name=f"{prefix}:{os.getpid()}")
        self.backlog = backlog
        self.log_key = f"{prefix}:log"
        # Keys belong to a database, pub/sub channels to the whole server: two portals on one
        # Redis (a test and a staging portal, two companies) told apart only by the database
        # number would otherwise show each other's messages to whoever has the same person id.
        database = self.redis.connection_pool.connection_kwargs.get("db", 0)
        self.channel = f"{prefix}:{database}:fanout"
        self._script = self.redis.register_script(_PUBLISH)
        self._thread: threading.Thread | None = None
        self._start_lock = threading.Lock()
        self._stop = threading.Event()
        self._ready = threading.Event()
        self._seen = ZERO_ID

    def publish(self, recipients: Iterable[int], data: dict[str, Any]) -> str:
        to = ",".join(str(int(p)) for p in sorted(set(recipients)))
        raw = json.dumps(data, ensure_ascii=False, separators=(",", ":"))
        return str(self._script(keys=[self.log_key, self.channel],
                                args=[self.backlog, to, raw]))

    def replay(self, person_id: int, after: str, limit: int = 500) -> Replay:
        key = parse_id(after)
        pipe = self.redis.pipeline(transaction=False)
        pipe.xinfo_stream(self.log_key)
        pipe.xrange(self.log_key, min=f"({after}", max="+", count=2 * self.backlog)
        info, rows = pipe.execute(raise_on_error=False)
        if isinstance(info, Exception):  # no log yet: nothing was ever published
            return Replay([], ZERO_ID, key == (0, 0))
        last = str(info["last-generated-id"])
        first = info.get("first-entry")
        trimmed = int(info.get("entries-added", 0)) > int(info.get("length", 0))
        complete = (not trimmed or (first is not None and parse_id(first[0]) <= key)) and \
            key <= parse_id(last)
        if isinstance(rows, Exception):
            raise rows
        entries = [_entry(i, f.get("to", ""), f.get("m", "{}")) for i, f in rows]
        return _replay(entries, person_id, complete, last, limit)

    def last_id(self) -> str:
        try:
            info = self.redis.xinfo_stream(self.log_key)
        except Exception as exc:
            if "no such key" in str(exc).lower():
                return ZERO_ID
            raise
        return str(info["last-generated-id"])

    def subscribe(self, person_id: int) -> Subscription:
        sub = self.hub.add(person_id)
        self._ensure_listener()
        return sub

    def unsubscribe(self, sub: Subscription) -> None:
        self.hub.remove(sub)

    def close(self) -> None:
        """End the streams; the listener stops within a second (safe in a signal handler)."""
        self._stop.set()
        self.hub.close()

    # The listener ---------------------------------------------------------------------------

    def _ensure_listener(self) -> None:
        if self._thread is not None and self._thread.is_alive():
            return
        with self._start_lock:
            if self._thread is None or not self._thread.is_alive():
                self._ready.clear()
                self._thread = threading.Thread(target=self._listen, name="portal-live",
                                                daemon=True)
                self._thread.start()
        # A stream opened right now must not miss a message published while subscribing.
        self._ready.wait(timeout=5)

    def _listen(self) -> None:
        backoff = 0.5
        while not self._stop.is_set():
            pubsub = self.redis.pubsub(ignore_subscribe_messages=True)
            try:
                pubsub.subscribe(self.channel)
                if self._seen == ZERO_ID:
                    self._seen = self.last_id()
                else:
                    self._catch_up()
                self._ready.set()
                backoff = 0.5
                while not self._stop.is_set():
                    msg = pubsub.get_message(timeout=1.0)
                    if msg is not None and msg.get("type") == "message":
                        self._receive(str(msg["data"]))
            except Exception as exc:
                if self._stop.is_set():
                    break
                log.warning("live updates: Redis listener lost its connection (%s); "
                            "reconnecting in %.1fs", exc, backoff)
                self._stop.wait(backoff)
                backoff = min(backoff * 2, 10.0)
            finally:
                with contextlib.suppress(Exception):  # closing a broken connection may fail
                    pubsub.close()

    def _receive(self, payload: str) -> None:
        entry_id, to, raw = payload.split("\n", 2)
        if parse_id(entry_id) <= parse_id(self._seen):
            return  # already delivered by a catch-up
        self._seen = entry_id
        self.hub.deliver(_entry(entry_id, to, raw))

    def _catch_up(self) -> None:
        """Deliver what was published while the listener was disconnected."""
        rows = self.redis.xrange(self.log_key, min=f"({self._seen}", max="+",
                                 count=self.backlog)
        if len(rows) >= self.backlog:
            self.hub.broadcast(RESYNC)
        for entry_id, fields in rows:
            self._seen = entry_id
            self.hub.deliver(_entry(entry_id, fields.get("to", ""), fields.get("m", "{}")))


# The app's broker and the publishing API ---------------------------------------------------


def init_app(app: Flask) -> None:
    """Give *app* its broker (nothing connects until the first publish or stream)."""
    settings = app.extensions["portal"].settings
    hub = Hub(settings["LIVE_STREAMS_PER_USER"], settings["LIVE_STREAMS_PER_PROCESS"])
    broker: Broker
    if settings["REDIS_URL"]:
        broker = RedisBroker(settings["REDIS_URL"], settings["LIVE_BACKLOG"], hub)
    else:
        broker = MemoryBroker(settings["LIVE_BACKLOG"], hub)
    app.extensions[EXTENSION] = broker
    app.context_processor(_template_vars)


def _template_vars() -> dict[str, Any]:
    """``live_config()`` and ``live_badges()`` for the page header (called only there)."""
    return {"live_config": _live_config, "live_badges": _live_badges}


def _live_config() -> dict[str, Any] | None:
    """What live.js needs, or None when the page gets no live updates."""
    settings = current_app.extensions["portal"].settings
    if not settings["LIVE_ENABLED"] or g.get("principal") is None:
        return None
    return {"stream": url_for("live.stream"), "poll": url_for("live.poll"),
            "interval": settings["LIVE_POLL_INTERVAL"]}


def _live_badges() -> list[LiveBadge]:
    principal = g.get("principal")
    if principal is None:
        return []
    pm = current_app.extensions["portal"].plugins
    badges: list[LiveBadge] = []
    for _name, result in pm.call_safely(
            "portal_live_badges",
            lambda name, exc: log.error("plugin %s: live badges failed: %s", name, exc),
            principal=principal):
        badges.extend(b for b in result or () if isinstance(b, LiveBadge))
    return badges


def broker_of(app: Flask) -> Broker:
    broker: Broker = app.extensions[EXTENSION]
    return broker


def shutdown(app: Flask) -> None:
    """End every open stream of this process (a worker that exits; tests)."""
    broker = app.extensions.get(EXTENSION)
    if broker is not None:
        broker.close()


def publish(person_ids: Iterable[int], message: LiveMessage) -> str | None:
    """Tell the open pages of *person_ids* now; returns the message id.

    Call it after the change is committed (or use ``publish_after_commit``): a page that hears
    of a notice reloads its window, which must find the notice there. A broker that is down
    costs the live update, never the change: pages still poll, and the error is logged.
    """
    people = sorted({int(p) for p in person_ids})
    if not people or not current_app.extensions["portal"].settings["LIVE_ENABLED"]:
        return None
    try:
        return broker_of(current_app).publish(people, message.to_dict())
    except Exception as exc:
        log.error("live update %s not published: %s", message.key, exc)
        return None


def publish_after_commit(session: Session, person_ids: Iterable[int],
                         message: LiveMessage) -> None:
    """``publish`` once *session*'s transaction commits; forgotten if it rolls back."""
    people = list(person_ids)

    def send() -> None:
        publish(people, message)

    after_commit(session, send)


def replay_messages(replay: Replay) -> Iterator[dict[str, Any]]:
    """The entries of *replay* as the browser receives them (the id inside)."""
    for entry in replay.entries:
        yield {"id": entry.id, **entry.data}
