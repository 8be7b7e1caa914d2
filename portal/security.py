"""Protection of every response and of the sign-in form: Content-Security-Policy, and
failed sign-ins counted per account and per address.

The counters are fixed windows (``LOGIN_LOCKOUT_SECONDS``): in Redis when ``REDIS_URL`` is set,
so every web node sees the same count, else in the process (embedded mode, one node). Only
failures count: a person who signs in many times a day, or a benchmark, is never locked out,
while guessing passwords is.
"""

from __future__ import annotations

import hashlib
import threading
import time
from dataclasses import dataclass
from typing import Any, Protocol

from flask import Flask, current_app

EXTENSION = "portal_login_throttle"


class Counter(Protocol):
    def get(self, key: str) -> tuple[int, int]:
        """(count, seconds until the window ends) of *key*; (0, 0) when unknown."""

    def get_many(self, keys: list[str]) -> list[tuple[int, int]]:
        """:meth:`get` of several keys (one round trip to Redis)."""

    def hit(self, key: str) -> int:
        """Add one failure to *key*; return the new count."""

    def reset(self, key: str) -> None: ...


class MemoryCounter:
    def __init__(self, window: int) -> None:
        self.window = window
        self._data: dict[str, tuple[int, float]] = {}
        self._lock = threading.Lock()

    def get(self, key: str) -> tuple[int, int]:
        with self._lock:
            count, ends = self._data.get(key, (0, 0.0))
            left = ends - time.time()
            if left <= 0:
                self._data.pop(key, None)
                return 0, 0
            return count, int(left) + 1

    def get_many(self, keys: list[str]) -> list[tuple[int, int]]:
        return [self.get(key) for key in keys]

    def hit(self, key: str) -> int:
        now = time.time()
        with self._lock:
            if len(self._data) > 100_000:  # a flood of made-up names must not eat the memory
                self._data = {k: v for k, v in self._data.items() if v[1] > now}
            count, ends = self._data.get(key, (0, 0.0))
            if ends <= now:
                count, ends = 0, now + self.window
            self._data[key] = (count + 1, ends)
            return count + 1

    def reset(self, key: str) -> None:
        with self._lock:
            self._data.pop(key, None)


class RedisCounter:
    def __init__(self, url: str, window: int) -> None:
        import redis

        self.redis = redis.Redis.from_url(url)
        self.window = window

    def get(self, key: str) -> tuple[int, int]:
        return self.get_many([key])[0]

    def get_many(self, keys: list[str]) -> list[tuple[int, int]]:
        pipe = self.redis.pipeline(transaction=False)
        for key in keys:
            pipe.get(key)
            pipe.ttl(key)
        replies = pipe.execute()
        out = []
        for raw, ttl in zip(replies[::2], replies[1::2], strict=True):
            out.append((0, 0) if raw is None or ttl is None or ttl < 0 else (int(raw), int(ttl)))
        return out

    def hit(self, key: str) -> int:
        pipe = self.redis.pipeline(transaction=True)
        pipe.incr(key)
        pipe.expire(key, self.window, nx=True)  # the window starts at the first failure
        count, _ = pipe.execute()
        return int(count)

    def reset(self, key: str) -> None:
        self.redis.delete(key)


@dataclass(frozen=True)
class Lockout:
    scope: str  # "account" or "address"
    seconds: int

    @property
    def minutes(self) -> int:
        return max(1, -(-self.seconds // 60))


@dataclass(frozen=True)
class Attempt:
    username: str
    address: str
    lockout: Lockout | None
    account_failures: int


class LoginThrottle:
    def __init__(self, counter: Counter, per_account: int, per_address: int) -> None:
        self.counter = counter
        self.per_account = per_account
        self.per_address = per_address

    @staticmethod
    def _keys(username: str, address: str) -> tuple[str, str]:
        # Hashed: user names typed into the form (any bytes) never become raw key names.
        account = hashlib.sha256(username.strip().lower().encode()).hexdigest()[:32]
        return f"portal:login-fail:account:{account}", f"portal:login-fail:address:{address}"

    def check(self, username: str, address: str) -> Attempt:
        """Before asking any backend: is the account or the address locked out?"""
        account_key, address_key = self._keys(username, address)
        account, by_address = self.counter.get_many([account_key, address_key])
        lockout = None
        for scope, (count, left), limit in (("account", account, self.per_account),
                                            ("address", by_address, self.per_address)):
            if limit > 0 and count >= limit:
                lockout = Lockout(scope, left)
                break
        return Attempt(username, address, lockout, account[0])

    def failed(self, username: str, address: str) -> Lockout | None:
        """Count a failure; return the lockout it starts, if it is the one that reached a
        limit."""
        account_key, address_key = self._keys(username, address)
        started = None
        for scope, key, limit in (("account", account_key, self.per_account),
                                  ("address", address_key, self.per_address)):
            if limit > 0 and self.counter.hit(key) == limit:
                started = Lockout(scope, self.counter.get(key)[1])
        return started

    def succeeded(self, attempt: Attempt) -> None:
        if attempt.account_failures:  # most sign-ins follow no failure: no write then
            self.counter.reset(self._keys(attempt.username, attempt.address)[0])


def login_throttle() -> LoginThrottle:
    throttle: LoginThrottle = current_app.extensions[EXTENSION]
    return throttle


def install(app: Flask, settings: dict[str, Any]) -> None:
    window = settings["LOGIN_LOCKOUT_SECONDS"]
    counter: Counter = (RedisCounter(settings["REDIS_URL"], window) if settings["REDIS_URL"]
                        else MemoryCounter(window))
    app.extensions[EXTENSION] = LoginThrottle(counter, settings["LOGIN_MAX_FAILURES_PER_ACCOUNT"],
                                              settings["LOGIN_MAX_FAILURES_PER_ADDRESS"])
    policy = settings["CONTENT_SECURITY_POLICY"].strip()
    if policy:
        @app.after_request
        def _csp(response: Any) -> Any:
            response.headers.setdefault("Content-Security-Policy", policy)
            return response
