"""Live updates over HTTP: the event stream, the polling fallback, and the notices that use them."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from portal import live
from portal.events import dispatch_pending
from portal.live import LiveMessage, Subscription, broker_of, publish, publish_after_commit
from portal.notify import Notification, notify
from portal.worker import run as run_worker
from portlets.notices.models import Notice
from tests.conftest import REDIS_URL, Auth, Org, Runner, make_app, seed_org

FAST = {"LIVE_HEARTBEAT": 0.1}


@pytest.fixture
def live_app(tmp_path: Any) -> Iterator[Flask]:
    app = make_app(f"sqlite:///{tmp_path}/portal.db", **FAST)
    yield app
    live.shutdown(app)
    app.extensions["portal"].db.engine.dispose()


def signed_in(app: Flask, username: str) -> FlaskClient:
    client = app.test_client()
    assert Auth(client).login(username).status_code == 302
    return client


class Stream:
    """An open /live/stream read event by event (the test client does not buffer it)."""

    def __init__(self, client: FlaskClient, **headers: str) -> None:
        self.response = client.get("/live/stream", headers=headers, buffered=False)
        self._chunks = iter(self.response.response)

    def events(self, wanted: int, timeout: float = 5.0) -> list[dict[str, Any]]:
        """The next *wanted* events (comments and retry lines skipped)."""
        found: list[dict[str, Any]] = []
        deadline = time.monotonic() + timeout
        while len(found) < wanted and time.monotonic() < deadline:
            chunk = next(self._chunks).decode()
            fields = dict(line.split(": ", 1) for line in chunk.strip().splitlines()
                          if ": " in line and not line.startswith(":"))
            if "data" in fields:
                found.append({"event": fields.get("event", "message"), "id": fields.get("id"),
                              "data": json.loads(fields["data"])})
        return found

    def close(self) -> None:
        self.response.close()


def notification_for(org: Org, *people: str,
                     title: str = "许可证变更：海宁测试便利店0") -> Notification:
    return Notification(kind="customer.license_changed", title=title, link="/p/notices/",
                        recipients=tuple(org.people[p] for p in people))


def raise_notice(app: Flask, notification: Notification) -> None:
    """What a sync worker does: notify with its change, commit, dispatch the outbox."""
    with app.app_context():
        s = app.extensions["portal"].db.session()
        notify(s, notification)
        s.commit()
        dispatch_pending(app)


# The stream -----------------------------------------------------------------------------------


def test_stream_says_hello_then_brings_the_persons_own_notices_only(live_app: Flask) -> None:
    org = seed_org(live_app)
    zg, sh = Stream(signed_in(live_app, "zg")), Stream(signed_in(live_app, "sh"))
    try:
        assert zg.response.status_code == 200
        assert zg.response.mimetype == "text/event-stream"
        assert zg.response.headers["X-Accel-Buffering"] == "no"
        [hello] = zg.events(1)
        assert hello["event"] == "hello"
        sh.events(1)
        raise_notice(live_app, notification_for(org, "zg", "km"))
        [message] = zg.events(1)
        with live_app.app_context():
            notice = live_app.extensions["portal"].db.session().scalars(select(Notice)).one()
        assert message["data"]["key"] == f"notice:{notice.id}"
        assert message["data"]["title"] == "许可证变更：海宁测试便利店0"
        assert message["data"]["link"] == f"/p/notices/{notice.id}"
        assert message["data"]["refresh"] == ["notices"]
        assert message["id"] == message["data"]["id"]
        assert sh.events(1, timeout=0.5) == []  # the deliveryman was not a recipient
    finally:
        zg.close()
        sh.close()


def test_stream_resumes_after_last_event_id_without_repeating(live_app: Flask) -> None:
    org = seed_org(live_app)
    client = signed_in(live_app, "zg")
    first = Stream(client)
    first.events(1)
    raise_notice(live_app, notification_for(org, "zg", title="第一条"))
    [seen] = first.events(1)
    first.close()
    # Missed while disconnected: one for zg, one for someone else.
    raise_notice(live_app, notification_for(org, "zg", title="第二条"))
    raise_notice(live_app, notification_for(org, "km", title="别人的"))
    again = Stream(client, **{"Last-Event-ID": seen["id"]})
    try:
        events = again.events(2)
        assert [e["event"] for e in events] == ["hello", "message"]
        assert events[0]["data"]["resumed"] is True
        assert events[1]["data"]["title"] == "第二条"
        assert again.events(1, timeout=0.5) == []
    finally:
        again.close()


def test_stream_refusals_are_clear(tmp_path: Any) -> None:
    app = make_app(f"sqlite:///{tmp_path}/portal.db", LIVE_STREAMS_PER_USER=1,
                   LIVE_STREAMS_PER_PROCESS=2, **FAST)
    seed_org(app)
    try:
        anonymous = app.test_client().get("/live/stream")
        assert anonymous.status_code == 401
        assert anonymous.json["error"]
        zg = signed_in(app, "zg")
        bad = zg.get("/live/stream", headers={"Last-Event-ID": "x<script>"})
        assert bad.status_code == 400
        open_one = Stream(zg)
        second_tab = zg.get("/live/stream")
        assert second_tab.status_code == 429
        assert second_tab.headers["Retry-After"] == "30"
        other = Stream(signed_in(app, "km"))
        third = signed_in(app, "sh").get("/live/stream")
        assert third.status_code == 503
        open_one.close()
        other.close()
        assert signed_in(app, "sh").get("/live/stream", buffered=False).status_code == 200
    finally:
        live.shutdown(app)
        app.extensions["portal"].db.engine.dispose()


def test_shutdown_ends_open_streams(live_app: Flask) -> None:
    seed_org(live_app)
    stream = Stream(signed_in(live_app, "zg"))
    stream.events(1)
    live.shutdown(live_app)
    with pytest.raises(StopIteration):
        for _ in range(50):  # keep-alives until the broker's CLOSED arrives
            next(stream._chunks)


def test_turned_off_live_updates_leave_no_trace_on_the_page(tmp_path: Any) -> None:
    app = make_app(f"sqlite:///{tmp_path}/portal.db", LIVE_ENABLED=False)
    seed_org(app)
    client = signed_in(app, "zg")
    assert client.get("/live/stream").status_code == 404
    assert client.get("/live/poll").status_code == 404
    assert "live.js" not in client.get("/").get_data(as_text=True)
    app.extensions["portal"].db.engine.dispose()


# Polling ------------------------------------------------------------------------------------


def test_poll_gives_the_cursor_then_what_came_after_it(live_app: Flask) -> None:
    org = seed_org(live_app)
    client = signed_in(live_app, "zg")
    start = client.get("/live/poll")
    assert start.status_code == 200
    assert start.headers["Cache-Control"] == "no-store"
    cursor = start.json["last_id"]
    assert start.json["messages"] == []
    raise_notice(live_app, notification_for(org, "zg", title="轮询可见"))
    raise_notice(live_app, notification_for(org, "km", title="别人的"))
    body = client.get(f"/live/poll?after={cursor}").json
    assert [m["title"] for m in body["messages"]] == ["轮询可见"]
    assert body["complete"] is True
    assert client.get(f"/live/poll?after={body['last_id']}").json["messages"] == []
    assert client.get("/live/poll?after=yesterday").status_code == 400
    assert live_app.test_client().get("/live/poll").status_code == 401


# Publishing after the commit -------------------------------------------------------------


def _subscribe(app: Flask, person_id: int) -> Subscription:
    return broker_of(app).subscribe(person_id)


def test_publish_after_commit_waits_for_the_commit_and_forgets_a_rollback(db_app: Flask) -> None:
    sub = _subscribe(db_app, 1)
    with db_app.app_context():
        s = db_app.extensions["portal"].db.session()
        publish_after_commit(s, [1], LiveMessage(type="t", key="rolled-back"))
        s.rollback()
        publish_after_commit(s, [1], LiveMessage(type="t", key="committed"))
        assert sub.get(timeout=0.2) is None
        s.commit()
        s.commit()  # a second commit publishes nothing again
    assert sub.get(timeout=2).data["key"] == "committed"
    assert sub.get(timeout=0.2) is None
    live.shutdown(db_app)


def test_publish_to_nobody_or_when_turned_off_does_nothing(tmp_path: Any) -> None:
    app = make_app(f"sqlite:///{tmp_path}/portal.db", LIVE_ENABLED=False)
    with app.app_context():
        assert publish([1], LiveMessage(type="t", key="k")) is None
    assert broker_of(app).last_id() == "0-0"


def test_a_broken_redis_costs_the_live_update_not_the_change(tmp_path: Any, caplog) -> None:  # type: ignore[no-untyped-def]
    app = make_app(f"sqlite:///{tmp_path}/portal.db", REDIS_URL="redis://127.0.0.1:1/0",
                   CACHE_TYPE="simple")
    org = seed_org(app)
    raise_notice(app, notification_for(org, "zg"))
    with app.app_context():
        assert app.extensions["portal"].db.session().scalars(select(Notice)).one()
    assert "not published" in caplog.text
    app.extensions["portal"].db.engine.dispose()


# The notices portlet's part ----------------------------------------------------------------


def test_a_notice_is_announced_once_even_if_its_event_is_delivered_again(live_app: Flask) -> None:
    from portlets.notices import service

    org = seed_org(live_app)
    sub = _subscribe(live_app, org.people["zg"])
    n = notification_for(org, "zg")
    with live_app.app_context():
        s = live_app.extensions["portal"].db.session()
        assert service.deliver(s, 4242, n) is not None
        s.commit()
        assert service.deliver(s, 4242, n) is None  # the event id is the key
        s.commit()
    assert sub.get(timeout=2).data["type"] == "notice"
    assert sub.get(timeout=0.3) is None


def test_unread_badge_in_the_header_and_its_count(live_app: Flask) -> None:
    org = seed_org(live_app)
    client = signed_in(live_app, "zg")
    home = client.get("/").get_data(as_text=True)
    assert 'data-live-badge="notices"' in home
    assert 'data-count-url="/p/notices/unread"' in home
    assert "js/live.js" in home and 'data-stream="/live/stream"' in home
    assert 'data-src="/w/' in home  # windows say where to reload them from
    assert client.get("/p/notices/unread").json == {"count": 0}
    raise_notice(live_app, notification_for(org, "zg"))
    assert client.get("/p/notices/unread").json == {"count": 1}
    assert live_app.test_client().get("/p/notices/unread").status_code == 401


def test_reading_a_notice_updates_the_readers_other_pages(live_app: Flask) -> None:
    org = seed_org(live_app)
    raise_notice(live_app, notification_for(org, "zg"))
    with live_app.app_context():
        notice_id = live_app.extensions["portal"].db.session().scalars(select(Notice.id)).one()
    sub = _subscribe(live_app, org.people["zg"])
    client = signed_in(live_app, "zg")
    assert client.get(f"/p/notices/{notice_id}").status_code == 200
    message = sub.get(timeout=2)
    assert (message.data["type"], message.data["title"]) == ("notice.read", "")
    assert client.get("/p/notices/unread").json == {"count": 0}
    client.get(f"/p/notices/{notice_id}")  # read again: nothing new to say
    assert sub.get(timeout=0.3) is None


def test_a_colleagues_notice_is_announced_to_its_recipients(live_app: Flask) -> None:
    org = seed_org(live_app)
    sub = _subscribe(live_app, org.people["zg"])
    client = signed_in(live_app, "bg")
    resp = client.post("/p/notices/new", data={"title": "周五例会", "content": "三楼会议室",
                                               "usernames": "zg", "action": "submit"})
    assert resp.status_code == 302
    message = sub.get(timeout=2)
    assert (message.data["type"], message.data["title"]) == ("notice", "周五例会")


# The worker -------------------------------------------------------------------------------


def test_worker_delivers_events_written_by_another_process(db_app: Flask) -> None:
    org = seed_org(db_app)
    sub = _subscribe(db_app, org.people["km"])
    with db_app.app_context():
        s = db_app.extensions["portal"].db.session()
        notify(s, notification_for(org, "km"))
        s.commit()  # no request, no inline dispatch: the event waits in the outbox
    result = Runner(db_app).invoke(["worker", "--once"])
    assert result.exit_code == 0, result.output
    assert "1 event(s) delivered" in result.output
    assert sub.get(timeout=2).data["type"] == "notice"
    live.shutdown(db_app)


def test_worker_loop_runs_until_stopped(live_app: Flask) -> None:
    org = seed_org(live_app)
    stop = threading.Event()
    delivered: list[int] = []
    thread = threading.Thread(target=lambda: delivered.append(
        run_worker(live_app, stop, interval=0.05)))
    thread.start()
    sub = _subscribe(live_app, org.people["zg"])
    with live_app.app_context():
        s = live_app.extensions["portal"].db.session()
        notify(s, notification_for(org, "zg"))
        s.commit()
    assert sub.get(timeout=5).data["type"] == "notice"
    stop.set()
    thread.join(timeout=5)
    assert delivered == [1]


def test_redis_broker_is_used_when_redis_is_configured(tmp_path: Any) -> None:
    app = make_app(f"sqlite:///{tmp_path}/portal.db", REDIS_URL=REDIS_URL)
    assert isinstance(broker_of(app), live.RedisBroker)
    app.extensions["portal"].db.engine.dispose()
