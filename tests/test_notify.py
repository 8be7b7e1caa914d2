"""notify(): a notification exists only with its change and reaches each recipient once."""

from __future__ import annotations

import pytest
from flask import Flask
from sqlalchemy import func, select

from portal.events import DomainEvent, dispatch_pending
from portal.notify import Notification, notify, notify_many
from portlets.notices import plugin as notices_plugin
from portlets.notices.models import Notice, NoticeReceipt
from tests.conftest import Auth, seed_org


def _notification(org, **extra) -> Notification:  # type: ignore[no-untyped-def]
    values = {"kind": "customer.license_changed", "title": "许可证变更：海宁测试便利店0",
              "body": "许可证有效期变更为 2028-01-01", "link": "/p/notices/",
              "recipients": (org.people["zg"], org.people["km"], org.people["zg"])}
    return Notification(**{**values, **extra})


def test_notice_reaches_each_recipient_once(db_app: Flask) -> None:
    org = seed_org(db_app)
    with db_app.app_context():
        s = db_app.extensions["portal"].db.session()
        notify(s, _notification(org))
        s.commit()
        assert dispatch_pending(db_app) == 1
        notice = s.scalars(select(Notice).where(Notice.event_id.is_not(None))).one()
        assert (notice.kind, notice.sender_id, notice.link) == \
            ("customer.license_changed", None, "/p/notices/")
        readers = set(s.scalars(select(NoticeReceipt.person_id).where(
            NoticeReceipt.notice_id == notice.id)))
        assert readers == {org.people["zg"], org.people["km"]}

        # A redelivered event (a crash after the channel wrote, before the outbox recorded
        # it) makes no second notice.
        notices_plugin.portal_handle_events([DomainEvent(
            notice.event_id, "notification", _notification(org).to_payload(),
            notice.created_at)])
        s.commit()
        assert s.scalar(select(func.count(Notice.id)).where(Notice.event_id.is_not(None))) == 1


def test_rolled_back_change_notifies_nobody(db_app: Flask) -> None:
    org = seed_org(db_app)
    with db_app.app_context():
        s = db_app.extensions["portal"].db.session()
        notify(s, _notification(org))
        s.rollback()
        dispatch_pending(db_app)
        assert s.scalar(select(func.count(Notice.id))) == 0


@pytest.mark.parametrize("bad, message", [
    ({"channels": ("pager",)}, "no notification channel named pager"),
    ({"title": " "}, "title"),
    ({"link": "https://evil.example/"}, "path on this portal"),
    ({"link": "//evil.example/"}, "path on this portal"),
    ({"channels": ()}, "at least one channel"),
])
def test_bad_notifications_are_the_callers_mistake(app: Flask, bad, message) -> None:  # type: ignore[no-untyped-def]
    org = seed_org(app)
    with app.app_context():
        s = app.extensions["portal"].db.session()
        with pytest.raises(ValueError, match=message):
            notify(s, _notification(org, **bad))


def test_recipient_sees_it_in_the_notices_window(app: Flask) -> None:
    org = seed_org(app)
    with app.app_context():
        s = app.extensions["portal"].db.session()
        notify(s, _notification(org, recipients=(org.people["zg"],)))
        s.commit()
        dispatch_pending(app)
    client = app.test_client()
    Auth(client).login("zg")
    page = client.get("/p/notices/").get_data(as_text=True)
    assert "许可证变更：海宁测试便利店0" in page
    other = app.test_client()
    Auth(other).login("sh")
    assert "许可证变更" not in other.get("/p/notices/").get_data(as_text=True)


def test_notify_many_queues_all_in_one_go(db_app: Flask) -> None:
    org = seed_org(db_app)
    with db_app.app_context():
        s = db_app.extensions["portal"].db.session()
        notify_many(s, [_notification(org, title=f"变更 {i}") for i in range(3)]
                    + [_notification(org, recipients=())])  # nobody to tell: skipped
        s.commit()
        assert dispatch_pending(db_app) == 3
        titles = set(s.scalars(select(Notice.title).where(Notice.event_id.is_not(None))))
        assert titles == {"变更 0", "变更 1", "变更 2"}
        assert s.scalar(select(func.count(NoticeReceipt.id))) == 6  # two people each


def test_notify_many_queues_none_if_one_is_invalid(db_app: Flask) -> None:
    org = seed_org(db_app)
    with db_app.app_context():
        s = db_app.extensions["portal"].db.session()
        with pytest.raises(ValueError, match="path on this portal"):
            notify_many(s, [_notification(org), _notification(org, link="//evil.example/")])
        s.commit()
        assert dispatch_pending(db_app) == 0
        assert s.scalar(select(func.count(Notice.id))) == 0
