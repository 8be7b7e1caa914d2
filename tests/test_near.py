"""Near copies of Redis values (portal.near), against the real Redis: a copy never outlives
Redis's message about its change, a read that raced with a change is not kept, and while the
invalidation channel is down nothing is kept at all."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator

import pytest
import redis

from portal.near import MISSING, NAME, NearCopies
from tests.conftest import REDIS_URL

PREFIX = "test:near:"


def eventually(check: Callable[[], bool], seconds: float = 5.0) -> bool:
    """Whether *check* becomes true within *seconds* (Redis's messages travel on their own
    connection, so tests wait for them instead of assuming when they arrive)."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if check():
            return True
        time.sleep(0.01)
    return check()


@pytest.fixture
def server() -> Iterator[redis.Redis]:
    client = redis.Redis.from_url(REDIS_URL)
    client.flushdb()
    yield client
    client.close()


@pytest.fixture
def near() -> Iterator[NearCopies]:
    copies = NearCopies(REDIS_URL, (PREFIX,), ping_every=0.2)
    copies.ticket()  # starts listening
    assert eventually(lambda: copies.live), "the invalidation channel did not come up"
    yield copies
    copies._stopped.set()


def read(near: NearCopies, server: redis.Redis, key: str) -> object:
    """What a request does: the copy, else Redis (and keep what it read)."""
    (value,) = near.read([key], server.mget)
    return value


def test_a_copy_lives_until_its_key_changes(near, server) -> None:
    key = PREFIX + "counter"
    server.set(key, 1)
    assert read(near, server, key) == b"1"
    assert near.get([key]) == [b"1"]  # the next read is served from here
    server.incr(key)  # as another process would
    assert eventually(lambda: (near.ticket(), near.get([key]))[1] == [MISSING])
    assert read(near, server, key) == b"2"


def test_keys_that_do_not_exist_are_copied_too_and_dropped_when_created(near, server) -> None:
    key = PREFIX + "absent"
    assert read(near, server, key) is None
    assert near.get([key]) == [None]
    server.set(key, "now")
    assert eventually(lambda: (near.ticket(), near.get([key]))[1] == [MISSING])


def test_a_read_that_raced_with_a_change_is_not_kept(near, server) -> None:
    key = PREFIX + "raced"
    server.set(key, "old")
    ticket = near.ticket()
    stale = server.get(key)
    server.set(key, "new")  # changed between our read and our keep
    assert eventually(lambda: near.ticket() != ticket)
    near.keep(ticket, [key], [stale])
    assert near.get([key]) == [MISSING]
    assert read(near, server, key) == b"new"


def test_own_writes_are_dropped_at_once(near, server) -> None:
    key = PREFIX + "mine"
    server.set(key, "a")
    read(near, server, key)
    server.set(key, "b")
    near.drop([key])  # what the session store and the cache do after writing
    assert near.get([key]) == [MISSING]


def test_keys_outside_the_prefixes_are_not_announced(near, server) -> None:
    key = PREFIX + "kept"
    server.set(key, "x")
    read(near, server, key)
    seq = near.seq
    server.set("elsewhere:key", "y")
    server.set(key, "x")  # a change that is announced, to know the first one was handled
    assert eventually(lambda: near.ticket() > seq)
    assert near.seq == seq + 1  # one message: the key outside the prefix said nothing


def test_flushdb_drops_every_copy(near, server) -> None:
    for n in range(3):
        server.set(f"{PREFIX}{n}", n)
        read(near, server, f"{PREFIX}{n}")
    assert len(near.values) == 3
    server.flushdb()
    assert eventually(lambda: (near.ticket(), len(near.values))[1] == 0)


def test_nothing_is_kept_while_the_channel_is_down_and_it_comes_back(near, server) -> None:
    key = PREFIX + "k"
    server.set(key, "v")
    read(near, server, key)
    first = near.client_id
    assert server.client_kill_filter(_id=first) == 1
    assert eventually(lambda: near.get([key]) == [MISSING])  # dropped with the channel
    assert eventually(lambda: near.live and near.client_id != first, seconds=10)
    assert read(near, server, key) == b"v"
    server.set(key, "w")
    assert eventually(lambda: (near.ticket(), near.get([key]))[1] == [MISSING])
    assert read(near, server, key) == b"w"
    assert NAME in {c.get("name") for c in server.client_list()}


def test_without_an_invalidation_channel_nothing_is_kept() -> None:
    copies = NearCopies("redis://127.0.0.1:1/0", (PREFIX,))  # nothing listens there
    ticket = copies.ticket()
    copies.keep(ticket, [PREFIX + "x"], [b"1"])
    assert ticket == -1 and copies.get([PREFIX + "x"]) == [MISSING]
    copies._stopped.set()
