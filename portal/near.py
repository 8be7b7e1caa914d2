"""Near copies of Redis values: read once per process, dropped when Redis says they changed.

A warm homepage needs the session and a score of version counters, and nothing else from
Redis; asking for them on every request cost more than building the page (a round trip of
about 140 µs against 240 µs for the rest, docs/performance.md). They change rarely: a session
at sign-in and once a minute, a counter when a domain event touches its portlet.

Redis's server-assisted client-side caching (``CLIENT TRACKING`` in broadcasting mode) sends a
message naming every key under the tracked prefixes that is written, deleted or expires. Each
process keeps one connection that receives them (``SUBSCRIBE __redis__:invalidate``) and drops
the named copies. Coherence rules, which the tests check:

- a request first handles the messages already waiting on that connection (one ``poll``), so it
  never reads a copy whose change Redis had announced before the request looked;
- a read that raced with any drop is not kept (``ticket``/``keep``);
- this process's own writes drop their keys at once (``drop``);
- while the listening connection is down, or Redis refuses tracking (before 6.0, some
  proxies), nothing is kept and every read goes to Redis: slower, never stale.

``NEAR_CACHE=false`` turns it off.
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Callable, Iterable, Sequence
from typing import Any

log = logging.getLogger(__name__)

#: What ``get`` returns for a key it holds no copy of.
MISSING: Any = object()
CHANNEL = "__redis__:invalidate"
NAME = "portal-near-copies"


class NearCopies:
    """Copies of the values of keys under *prefixes* in the Redis at *url*.

    Values are kept as Redis returned them (bytes, or ``None`` for a key that does not exist).
    The table is bounded by *maxsize* and cleared whole when full, like the portal's other
    per-process memos.
    """

    def __init__(self, url: str, prefixes: Sequence[str], *, maxsize: int = 50_000,
                 ping_every: float = 10.0) -> None:
        self.url = url
        self.prefixes = tuple(prefixes)
        self.maxsize = maxsize
        self.ping_every = ping_every
        self.values: dict[str, Any] = {}
        #: Bumped by every drop; a read keeps its values only if no drop happened meanwhile.
        self.seq = 0
        self.live = False
        self._lock = threading.Lock()  # values and seq, between drops and keeps
        self._read_lock = threading.Lock()  # the listening connection's socket
        self._conn: Any = None
        self._client: Any = None
        #: The listening connection's id on the server (CLIENT LIST, CLIENT KILL ID).
        self.client_id = 0
        self._pid = 0
        self._stopped = threading.Event()
        self._thread: threading.Thread | None = None

    # -- reading ---------------------------------------------------------------------------
    def ticket(self) -> int:
        """Take before reading from Redis; pass to ``keep``. Handles waiting messages first."""
        self._ensure_listening()
        if self.live:
            try:
                self._drain()
            except Exception as exc:  # the listener reconnects; until then nothing is kept
                log.warning("near copies of %s: invalidation channel lost (%s)", self.url, exc)
                self._lost()
        return self.seq if self.live else -1

    def get(self, keys: Sequence[str]) -> list[Any]:
        """The copy of each key, ``MISSING`` where there is none (call ``ticket`` first)."""
        values = self.values
        return [values.get(k, MISSING) for k in keys]

    def keep(self, ticket: int, keys: Sequence[str], values: Sequence[Any]) -> None:
        """Keep what was read from Redis after *ticket*, unless something was dropped since."""
        with self._lock:
            if ticket < 0 or ticket != self.seq or not self.live:
                return
            if len(self.values) + len(keys) > self.maxsize:
                self.values.clear()
            self.values.update(zip(keys, values, strict=True))

    def read(self, keys: Sequence[str],
             fetch: Callable[[list[str]], Sequence[Any]]) -> list[Any]:
        """The value of each key: its copy, else what ``fetch(missing keys)`` returns (one
        call for all of them, e.g. a Redis ``MGET``), kept for the next time."""
        ticket = self.ticket()
        values = self.get(keys)
        missing = [k for k, v in zip(keys, values, strict=True) if v is MISSING]
        if missing:
            fetched = list(fetch(missing))
            self.keep(ticket, missing, fetched)
            found = dict(zip(missing, fetched, strict=True))
            values = [found[k] if v is MISSING else v for k, v in zip(keys, values, strict=True)]
        return values

    def drop(self, keys: Iterable[str] | None) -> None:
        """Forget *keys* (``None``: everything), e.g. right after this process wrote them."""
        with self._lock:
            self.seq += 1
            if keys is None:
                self.values.clear()
            else:
                for key in keys:
                    self.values.pop(key, None)

    # -- listening -------------------------------------------------------------------------
    def _ensure_listening(self) -> None:
        pid = os.getpid()
        if self._pid == pid:
            return
        # First use in this process (a forked web worker inherits no thread): start afresh.
        with self._lock:
            if self._pid == pid:
                return
            self._pid = pid
            self._use_channel(None)
            self._thread = threading.Thread(target=self._listen, name="portal-near-copies",
                                            daemon=True)
            self._thread.start()

    def _connect(self) -> Any:
        import redis

        client = redis.Redis.from_url(self.url, protocol=2, socket_connect_timeout=5,
                                      socket_timeout=5)
        # Held: a pool that is garbage-collected closes its connections.
        self._client = client
        conn = client.connection_pool.get_connection()
        conn.send_command("CLIENT", "SETNAME", NAME)  # how it shows in CLIENT LIST
        conn.read_response()
        conn.send_command("CLIENT", "ID")
        own_id = self.client_id = int(conn.read_response())
        prefixes = [part for p in self.prefixes for part in ("PREFIX", p)]
        conn.send_command("CLIENT", "TRACKING", "on", "REDIRECT", own_id, "BCAST", *prefixes)
        conn.read_response()
        conn.send_command("SUBSCRIBE", CHANNEL)
        conn.read_response()
        return conn

    def _listen(self) -> None:
        pause = 0.5
        while not self._stopped.is_set():
            try:
                conn = self._connect()
            except Exception as exc:
                log.warning("near copies of %s: no invalidation channel (%s); reading Redis "
                            "on every request, trying again in %.0fs", self.url, exc, pause)
                self._stopped.wait(pause)
                pause = min(pause * 2, 30.0)
                continue
            with self._lock:
                self._use_channel(conn)
            pause = 0.5
            try:
                self._serve(conn)
            except Exception as exc:
                log.warning("near copies of %s: invalidation channel lost (%s)", self.url, exc)
            finally:
                self._lost()
                conn.disconnect()

    def _lost(self) -> None:
        with self._lock:
            self._use_channel(None)

    def _use_channel(self, conn: Any) -> None:
        """Listen on *conn* (``None``: no channel, keep nothing). Every copy goes whenever the
        channel changes: no message about them can be trusted to come. Hold ``_lock``."""
        self._conn, self.live = conn, conn is not None
        self.values.clear()
        self.seq += 1

    def _serve(self, conn: Any) -> None:
        # can_read() polls the socket without reading from it: reading happens under _read_lock
        # only, by this thread or by a request that drains first (``ticket``).
        unanswered = 0
        while not self._stopped.is_set() and self._conn is conn:
            if conn.can_read(timeout=self.ping_every):
                unanswered = 0
                self._drain()
            elif unanswered >= 2:
                raise ConnectionError(f"no answer to {unanswered} pings")
            else:
                with self._read_lock:
                    conn.send_command("PING")  # answered with ["pong", ""] while subscribed
                unanswered += 1

    def _drain(self) -> None:
        """Handle every message waiting on the listening connection."""
        conn = self._conn
        if conn is None:
            return
        with self._read_lock:
            while conn is self._conn and conn.can_read(timeout=0):
                message = conn.read_response()
                if isinstance(message, list) and len(message) == 3 and message[0] == b"message":
                    keys = message[2]
                    # None: FLUSHDB/FLUSHALL, or Redis dropped its tracking table.
                    self.drop(None if keys is None else
                              [k.decode() if isinstance(k, bytes) else k for k in keys])


_shared: dict[tuple[str, tuple[str, ...]], NearCopies] = {}
_shared_lock = threading.Lock()


def near_copies(url: str, prefixes: Sequence[str]) -> NearCopies:
    """The process's copies for *url* and *prefixes*: one listening connection, however many
    apps (tests create many) use that Redis."""
    key = (url, tuple(prefixes))
    with _shared_lock:
        found = _shared.get(key)
        if found is None:
            found = _shared[key] = NearCopies(url, prefixes)
        return found
