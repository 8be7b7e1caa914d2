"""The live brokers, both ways (in-process and Redis): fan-out, replay, limits, shutdown."""

from __future__ import annotations

import os
import time
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
import redis

from portal.live import (
    CLOSED,
    RESYNC,
    Broker,
    Entry,
    Hub,
    MemoryBroker,
    RedisBroker,
    Subscription,
    TooManyStreams,
    parse_id,
)

REDIS_URL = os.environ.get("PORTAL_TEST_REDIS", "redis://127.0.0.1:6379/14")


def make_broker(kind: str, backlog: int = 100, per_person: int = 3,
                per_process: int = 10) -> Broker:
    hub = Hub(per_person, per_process)
    if kind == "memory":
        return MemoryBroker(backlog, hub)
    # A prefix of its own: the keys and the connection name belong to this test only.
    return RedisBroker(REDIS_URL, backlog, hub, prefix=f"test-live:{uuid.uuid4().hex[:8]}")


@pytest.fixture(params=["memory", "redis"])
def broker(request: pytest.FixtureRequest) -> Iterator[Broker]:
    b = make_broker(request.param)
    yield b
    b.close()
    if isinstance(b, RedisBroker):
        b.redis.delete(b.log_key)


def next_entry(sub: Subscription, timeout: float = 5.0) -> Any:
    """The next item of *sub* that is not a quiet timeout, waiting at most *timeout*."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        item = sub.get(timeout=0.1)
        if item is not None:
            return item
    return None


def test_a_message_reaches_the_streams_of_its_recipients_only(broker: Broker) -> None:
    mine, other = broker.subscribe(1), broker.subscribe(2)
    mine_too = broker.subscribe(1)  # a second tab of the same person
    message_id = broker.publish([1, 3], {"type": "notice", "key": "notice:7"})
    for sub in (mine, mine_too):
        entry = next_entry(sub)
        assert isinstance(entry, Entry)
        assert entry.id == message_id
        assert entry.data == {"type": "notice", "key": "notice:7"}
    assert other.get(timeout=0.3) is None


def test_ids_grow_and_replay_gives_a_person_what_came_after_their_id(broker: Broker) -> None:
    first = broker.publish([1], {"n": 1})
    ids = [broker.publish([1, 2], {"n": 2}), broker.publish([2], {"n": 3}),
           broker.publish([1], {"n": 4})]
    assert [parse_id(i) for i in [first, *ids]] == sorted(parse_id(i) for i in [first, *ids])
    replay = broker.replay(1, first)
    assert [e.data["n"] for e in replay.entries] == [2, 4]
    assert replay.complete
    assert replay.last_id == ids[-1] == broker.last_id()
    assert broker.replay(2, ids[-1]).entries == []


def test_replay_says_incomplete_when_the_log_was_trimmed_past_the_reader() -> None:
    for kind in ("memory", "redis"):
        b = make_broker(kind, backlog=3)
        try:
            old = b.publish([1], {"n": 0})
            for n in range(1, 6):
                b.publish([1], {"n": n})
            replay = b.replay(1, old)
            assert not replay.complete, kind
            assert [e.data["n"] for e in replay.entries] == [3, 4, 5], kind
            recent = b.replay(1, replay.entries[0].id)
            assert recent.complete, kind
        finally:
            b.close()
            if isinstance(b, RedisBroker):
                b.redis.delete(b.log_key)


def test_limits_per_person_and_per_process(broker: Broker) -> None:
    subs = [broker.subscribe(1) for _ in range(3)]
    with pytest.raises(TooManyStreams) as exc:
        broker.subscribe(1)
    assert exc.value.per_person
    broker.unsubscribe(subs[0])
    broker.subscribe(1)  # a closed stream frees its place
    for person in range(2, 9):
        broker.subscribe(person)
    with pytest.raises(TooManyStreams) as exc:
        broker.subscribe(99)
    assert not exc.value.per_person


def test_close_ends_every_stream_and_refuses_new_ones(broker: Broker) -> None:
    sub = broker.subscribe(1)
    broker.close()
    assert next_entry(sub) is CLOSED
    with pytest.raises(TooManyStreams):
        broker.subscribe(1)


def test_a_stuck_reader_is_told_to_resync_instead_of_growing_without_bound() -> None:
    broker = make_broker("memory")
    sub = broker.subscribe(1)
    for n in range(sub.queue.maxsize + 5):
        broker.publish([1], {"n": n})
    items = []
    while (item := sub.get(timeout=0.05)) is not None:
        items.append(item)
    assert RESYNC in items
    assert len(items) <= sub.queue.maxsize


def test_redis_listener_catches_up_after_losing_its_connection() -> None:
    """Messages published while the listener reconnects come from the log, in order, once."""
    broker = make_broker("redis")
    assert isinstance(broker, RedisBroker)
    try:
        sub = broker.subscribe(1)
        broker.publish([1], {"n": 1})
        assert next_entry(sub).data == {"n": 1}
        admin = redis.Redis.from_url(REDIS_URL, decode_responses=True)
        name = broker.redis.client_getname()
        killed = 0
        for client in admin.client_list(_type="pubsub"):
            if client.get("name") == name:
                admin.client_kill_filter(_id=client["id"])
                killed += 1
        assert killed == 1
        broker.publish([1], {"n": 2})
        broker.publish([1], {"n": 3})
        got = [next_entry(sub, timeout=15), next_entry(sub, timeout=5)]
        assert [g.data for g in got] == [{"n": 2}, {"n": 3}]
        assert sub.get(timeout=0.5) is None  # nothing twice
    finally:
        broker.close()
        broker.redis.delete(broker.log_key)


def test_a_broker_in_another_process_reaches_this_one_through_redis() -> None:
    """Two brokers on one Redis are two web nodes (or a worker and a node)."""
    prefix = f"test-live:{uuid.uuid4().hex[:8]}"
    node_a = RedisBroker(REDIS_URL, 100, Hub(3, 10), prefix=prefix)
    node_b = RedisBroker(REDIS_URL, 100, Hub(3, 10), prefix=prefix)
    try:
        sub = node_b.subscribe(5)
        message_id = node_a.publish([5], {"key": "notice:1"})
        entry = next_entry(sub)
        assert entry.id == message_id
        assert node_b.replay(5, "0-0").entries[0].data == {"key": "notice:1"}
    finally:
        node_a.close()
        node_b.close()
        node_a.redis.delete(node_a.log_key)


def test_portals_on_other_databases_of_the_same_redis_do_not_hear_each_other() -> None:
    """Pub/sub ignores the database number: a portal on database 14 and one on 13 of the same
    server must still not deliver each other's messages (person 5 of one is not person 5 of
    the other)."""
    prefix = f"test-live:{uuid.uuid4().hex[:8]}"
    other_db = REDIS_URL.rsplit("/", 1)[0] + "/" + ("13" if REDIS_URL.endswith("/14") else "14")
    here = RedisBroker(REDIS_URL, 100, Hub(3, 10), prefix=prefix)
    same_db = RedisBroker(REDIS_URL, 100, Hub(3, 10), prefix=prefix)
    elsewhere = RedisBroker(other_db, 100, Hub(3, 10), prefix=prefix)
    try:
        theirs, ours = elsewhere.subscribe(5), same_db.subscribe(5)
        message_id = here.publish([5], {"key": "notice:secret"})
        assert next_entry(ours).id == message_id  # the listeners are up and the message out
        assert next_entry(theirs, timeout=1.0) is None
    finally:
        for b in (here, same_db, elsewhere):
            b.close()
        here.redis.delete(here.log_key)


def test_parse_id_refuses_anything_but_stream_ids() -> None:
    assert parse_id("1700000000000-3") == (1700000000000, 3)
    for bad in ["", "12", "a-1", "1-", "-1", "1-2-3", "1" * 30 + "-" + "1" * 30]:
        with pytest.raises(ValueError):
            parse_id(bad)
