"""Portlet fragment cache: flask-caching underneath, keys that invalidate by version bumps.

A fragment's key holds the portlet id, the value it varies by (user, post or org id), a hash of
its preferences, the language and two version counters: one for the whole portlet and one for
its scope. Domain events bump a counter (``invalidate``), so a change refreshes exactly the
windows it affects and nothing needs to be deleted or scanned.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from flask import Flask, g, has_request_context, session
from flask_caching import Cache

from portal.auth import Principal
from portal.near import NearCopies
from portal.portlet import Portlet, Variance

KEY_PREFIX = "portal:"
#: Redis keys of the version counters: what ``portal.near`` keeps copies of.
VERSION_KEY_PREFIX = KEY_PREFIX + "v:"


def cache_config(settings: Mapping[str, Any]) -> dict[str, Any]:
    kind = settings["CACHE_TYPE"]
    if kind == "auto":
        kind = "redis" if settings["REDIS_URL"] else "simple"
    if kind == "redis":
        if not settings["REDIS_URL"]:
            raise ValueError("CACHE_TYPE is redis but REDIS_URL is empty")
        return {
            "CACHE_TYPE": "RedisCache",
            "CACHE_REDIS_URL": settings["REDIS_URL"],
            "CACHE_KEY_PREFIX": KEY_PREFIX,
            "CACHE_DEFAULT_TIMEOUT": 300,
        }
    if kind == "null":
        return {"CACHE_TYPE": "NullCache"}
    if kind == "simple":
        return {"CACHE_TYPE": "SimpleCache", "CACHE_THRESHOLD": 20000,
                "CACHE_DEFAULT_TIMEOUT": 300}
    raise ValueError(f"CACHE_TYPE: unknown cache type {kind!r}")


def scope_value(portlet: Portlet, principal: Principal) -> str:
    """The part of the fragment key a portlet's output varies by."""
    vary = portlet.cache.vary
    if vary is Variance.USER:
        return f"u{principal.person_id}"
    if vary is Variance.POST:
        return "p" + "+".join(sorted(principal.posts))
    if vary is Variance.ORG:
        return f"o{principal.org_unit_id}"
    return "all"


def version_scopes(portlet: Portlet, principal: Principal) -> list[str]:
    """The counters whose bump must refresh this window: for a post-varied portlet, one per
    post the user holds, so that ``invalidate(post=...)`` reaches people with several posts."""
    vary = portlet.cache.vary
    if vary is Variance.USER:
        return [f"u{principal.person_id}"]
    if vary is Variance.POST:
        return [f"p{post}" for post in sorted(principal.posts)]
    if vary is Variance.ORG:
        return [f"o{principal.org_unit_id}"]
    return []


def counter_keys(portlet: Portlet, principal: Principal) -> list[str]:
    """The counters a window of *portlet* depends on: the portlet's own and its scope's."""
    return [_version_key(portlet.id),
            *(_version_key(portlet.id, sc) for sc in version_scopes(portlet, principal))]


_PREFS_HASHES: dict[tuple[tuple[str, Any], ...], str] = {}


def _prefs_hash(prefs: Mapping[str, Any]) -> str:
    """A short stable hash of a window's preferences; memoized, since a page's windows have the
    same few preference sets on every request (values are ints, bools and strings)."""
    try:
        memo_key: tuple[tuple[str, Any], ...] | None = tuple(sorted(prefs.items()))
        cached = _PREFS_HASHES.get(memo_key)  # type: ignore[arg-type]
        if cached is not None:
            return cached
    except TypeError:  # an unhashable value: no memo
        memo_key = None
    digest = hashlib.blake2s(json.dumps(prefs, sort_keys=True, default=str).encode(),
                             digest_size=6).hexdigest()
    if memo_key is not None:
        if len(_PREFS_HASHES) >= 10_000:
            _PREFS_HASHES.clear()
        _PREFS_HASHES[memo_key] = digest
    return digest


def _version_key(portlet_id: str, scope: str | None = None) -> str:
    return f"v:{portlet_id}" if scope is None else f"v:{portlet_id}:{scope}"


@dataclass(frozen=True)
class FragmentKey:
    key: str
    etag: str


class FragmentCache:
    def __init__(self) -> None:
        self.cache = Cache()
        self.enabled = True
        self.shared = False
        #: key → (expires at, html): the process-local copy of fragments (see get_many).
        self.near: dict[str, tuple[float, str]] = {}
        self.near_size = 4096
        #: session id → the counter keys its last page read (see keys_for_session).
        self.session_hints: dict[str, list[str]] = {}
        #: assembled pages (see portal.views.pages): key → (expires at, the page's UTF-8
        #: pieces between its CSRF token placeholders).
        self.pages: dict[Any, tuple[float, tuple[bytes, ...]]] = {}
        #: fragment key → its ETag (a hash of the key, computed once).
        self.etags: dict[str, str] = {}
        #: (person id, layout version) → the user's layout diffs (see portal.homepage).
        self.user_diffs: dict[tuple[int, int], dict[str, Any]] = {}
        #: This process's copies of the version counters (``portal.near``), if kept, and the
        #: Redis client that reads the ones it lacks.
        self.counter_copies: NearCopies | None = None
        self._redis: Any = None

    def keep_counter_copies(self, copies: NearCopies, redis_client: Any) -> None:
        """Read version counters through *copies* (the shared cache must be that Redis)."""
        self.counter_copies, self._redis = copies, redis_client

    def init_app(self, app: Flask, settings: Mapping[str, Any]) -> None:
        config = cache_config(settings)
        self.cache.init_app(app, config=config)
        self.shared = config["CACHE_TYPE"] == "RedisCache"
        self.enabled = bool(settings["PORTLET_CACHE"]) and settings["CACHE_TYPE"] != "null"

    def prefetch(self, principal: Principal, keys: Sequence[str],
                 portlets: Sequence[Portlet]) -> None:
        """Read *keys* and the version counters of *portlets* in one round trip, for the rest
        of this request (``get`` and ``keys_for`` look here first)."""
        wanted = list(keys)
        if self.enabled:
            for p in portlets:
                wanted += counter_keys(p, principal)
        wanted = list(dict.fromkeys(wanted))
        memo = self._memo()
        if memo is not None:
            missing = [k for k in wanted if k not in memo]
            if missing:
                memo.update(zip(missing, self._read(missing), strict=True))
            self._remember_for_session(wanted)

    # -- reading the counters in the session's round trip (SessionCompanion) ------------------
    def _remember_for_session(self, keys: list[str]) -> None:
        """Note which counters this session's page needed, so its next request reads them in
        the same round trip as the session itself."""
        if not self.shared:
            return
        sid = getattr(session, "sid", None)
        if sid is None:
            return
        if len(self.session_hints) >= 10_000:
            self.session_hints.clear()
        self.session_hints[sid] = keys

    def keys_for_session(self, sid: str) -> list[str]:
        keys = self.session_hints.get(sid)
        return [KEY_PREFIX + k for k in keys] if keys else []

    def receive(self, keys: list[str], values: list[bytes | None]) -> None:
        memo = self._memo()
        if memo is None:
            return
        loads = self.cache.cache.serializer.loads  # cachelib's own decoding (ints, pickles)
        for key, raw in zip(keys, values, strict=True):
            memo[key[len(KEY_PREFIX):]] = None if raw is None else loads(raw)

    @staticmethod
    def _memo() -> dict[str, Any] | None:
        if not has_request_context():
            return None
        memo: dict[str, Any] | None = g.get("_portal_cache_memo")
        if memo is None:
            memo = g._portal_cache_memo = {}
        return memo

    def get(self, key: str) -> Any:
        """One value, from this request's prefetch if it was read there."""
        memo = self._memo()
        if memo is not None and key in memo:
            return memo[key]
        return self.cache.get(key)

    def _get_many_memo(self, keys: list[str]) -> list[Any]:
        memo = self._memo() or {}
        missing = [k for k in keys if k not in memo]
        if missing:
            memo = {**memo, **dict(zip(missing, self._read(missing), strict=True))}
        return [memo[k] for k in keys]

    def _read(self, keys: list[str]) -> list[Any]:
        """Values of *keys* from the shared cache; counters through this process's copies."""
        copies = self.counter_copies
        if copies is None or not all(k.startswith("v:") for k in keys):
            return list(self.cache.get_many(*keys))
        raw = copies.read([KEY_PREFIX + k for k in keys], self._redis.mget)
        loads = self.cache.cache.serializer.loads  # cachelib's own decoding, as in receive()
        return [None if v is None else loads(v) for v in raw]

    def keys_for(
        self,
        windows: Sequence[tuple[Portlet, str, Mapping[str, Any], str]],
        principal: Principal,
        locale: str,
    ) -> list[FragmentKey | None]:
        """Cache keys for ``(portlet, mode, preferences, window id)`` windows; ``None`` where
        uncacheable. The window id is part of the key because a portlet may use it in its HTML.

        The version counters of all windows are read in one round trip.
        """
        return self.keys_from_parts(self.key_parts(windows, principal, locale))

    def key_parts(
        self,
        windows: Sequence[tuple[Portlet, str, Mapping[str, Any], str]],
        principal: Principal,
        locale: str,
    ) -> list[tuple[str, tuple[str, ...]] | None]:
        """What a window's key is made of, apart from the counters' values: a fixed prefix and
        the counters to read. Pages keep these (see ``portal.views.pages``), since they only
        change with the layout, the user or the language."""
        parts: list[tuple[str, tuple[str, ...]] | None] = []
        for portlet, mode, prefs, window_id in windows:
            if not self.enabled or portlet.cache.ttl <= 0:
                parts.append(None)
                continue
            counters = tuple(counter_keys(portlet, principal))
            scope = scope_value(portlet, principal)
            prefix = f"f:{portlet.id}:{window_id}:{scope}:{mode}:{locale}:{_prefs_hash(prefs)}:"
            parts.append((prefix, counters))
        return parts

    def keys_from_parts(
        self, parts: Sequence[tuple[str, tuple[str, ...]] | None]
    ) -> list[FragmentKey | None]:
        """Fragment keys: each prefix with the current values of its counters (read in one
        round trip, or from this request's prefetch)."""
        flat = [k for part in parts if part is not None for k in part[1]]
        values = iter(self._get_many_memo(flat) if flat else [])
        out: list[FragmentKey | None] = []
        for part in parts:
            if part is None:
                out.append(None)
                continue
            prefix, counters = part
            key = prefix + ".".join(str(next(values) or 0) for _ in counters)
            etag = self.etags.get(key)
            if etag is None:
                if len(self.etags) >= 20_000:
                    self.etags.clear()
                etag = self.etags[key] = hashlib.blake2s(key.encode(), digest_size=10).hexdigest()
            out.append(FragmentKey(key, etag))
        return out

    def get_many(self, keys: Sequence[FragmentKey | None]) -> list[str | None]:
        """Fragments for *keys*: from this process's near cache, else from the shared cache.

        A fragment key contains every version counter the fragment depends on, so the
        content under a key never changes; only its time to live ends it. That makes a
        per-process copy safe, and a warm page needs no round trip for its fragments.
        """
        now = time.time()
        out: list[str | None] = [None] * len(keys)
        missing: list[tuple[int, str]] = []
        for i, k in enumerate(keys):
            if k is None:
                continue
            near = self.near.get(k.key)
            if near is not None and near[0] > now:
                out[i] = near[1]
            else:
                missing.append((i, k.key))
        if missing:
            values = self.cache.get_many(*[key for _i, key in missing])
            for (i, key), value in zip(missing, values, strict=True):
                if isinstance(value, tuple) and value[0] > now:
                    out[i] = value[1]
                    self._keep(key, value)
        return out

    def set(self, key: FragmentKey, html: str, ttl: int) -> None:
        value = (time.time() + ttl, html)
        self.cache.set(key.key, value, timeout=ttl)
        self._keep(key.key, value)

    def keep_page(self, key: Any, html: str, fragments: Sequence[FragmentKey],
                  token: str) -> None:
        """Keep an assembled page until the first of its fragments expires, cut where
        *token* (the CSRF placeholder) stands."""
        expiries = [self.near[k.key][0] for k in fragments if k.key in self.near]
        if len(expiries) != len(fragments):
            return  # a fragment is not held here: nothing to tie the page's life to
        if len(self.pages) >= 2048:
            self.pages.clear()
        self.pages[key] = (min(expiries, default=time.time()),
                           tuple(part.encode() for part in html.split(token)))

    def _keep(self, key: str, value: tuple[float, str]) -> None:
        if len(self.near) >= self.near_size:
            self.near.clear()
        self.near[key] = value

    def version(self, name: str) -> int:
        """The current value of counter *name* (0 if never bumped)."""
        return int(self.get(_version_key(name)) or 0)

    def bump(self, name: str) -> None:
        """Bump counter *name*, e.g. after a user's layout changed."""
        self._bump(_version_key(name))

    def invalidate(self, portlet_id: str, *, user: int | None = None, post: str | None = None,
                   org: int | None = None) -> None:
        """Make cached fragments of *portlet_id* stale: all of them, or one user's/post's/org's."""
        if user is not None:
            scope: str | None = f"u{user}"
        elif post is not None:
            scope = f"p{post}"
        elif org is not None:
            scope = f"o{org}"
        else:
            scope = None
        self._bump(_version_key(portlet_id, scope))

    def _bump(self, key: str) -> None:
        memo = self._memo()
        if memo is not None:
            memo.pop(key, None)
        if self.shared:
            # INCR: atomic across web nodes, and the counter never expires.
            self.cache.cache.inc(key)
            if self.counter_copies is not None:  # other processes hear it from Redis
                self.counter_copies.drop([KEY_PREFIX + key])
        else:
            # The in-process cache is this process's whole world; never let a counter expire,
            # or a stale fragment stored under an older count could come back.
            self.cache.set(key, (self.cache.get(key) or 0) + 1, timeout=0)

    def ping(self) -> bool:
        self.cache.set("healthz", "ok", timeout=10)
        return bool(self.cache.get("healthz") == "ok")
