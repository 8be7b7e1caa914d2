"""The SMS channel against the simulated SendSms gateway (retries, backoff, failures,
delivery records, exactly once) and the e-mail channel against a local SMTP server."""

from __future__ import annotations

import json
import socket
import urllib.request
from collections.abc import Iterator
from datetime import datetime
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from flask import Flask
from sqlalchemy import select

from connectors.mail.models import MailDelivery
from connectors.mail.plugin import portal_handle_event as mail_handle
from connectors.sms.client import SmsError, SmsRequest, send_with_retries
from connectors.sms.gateway import RunningGateway, serve
from connectors.sms.models import SmsDelivery
from connectors.sms.plugin import portal_handle_event as sms_handle
from portal.toolkit import DomainEvent, Notification, dispatch_pending, notify
from tests.collab.conftest import _app
from tests.conftest import Org, seed_org


def _request(**extra: Any) -> SmsRequest:
    values: dict[str, Any] = {"phones": ("13800000000", "+8613900000001"), "sign_name": "嘉兴烟草",
                              "template_code": "SMS_1", "params": {"subject": "测试"},
                              "out_id": "t-1", **extra}
    return SmsRequest(**values)


def test_gateway_speaks_the_sendsms_shape(gateway: RunningGateway) -> None:
    sleeps: list[float] = []
    biz_id, attempts = send_with_retries(gateway.url, _request(), retries=2, backoff=0.1,
                                         sleep=sleeps.append)
    assert attempts == 1 and sleeps == [] and biz_id.endswith("^0")
    with urllib.request.urlopen(gateway.url + "messages", timeout=5) as resp:
        listing = json.loads(resp.read())
    assert listing["messages"][0]["PhoneNumbers"] == ["13800000000", "+8613900000001"]
    assert listing["messages"][0]["TemplateParam"] == {"subject": "测试"}


@pytest.mark.parametrize("extra, code", [
    ({"phones": ("12345",)}, "isv.MOBILE_NUMBER_ILLEGAL"),
    ({"phones": ("13800000000",) * 1001}, "isv.MOBILE_COUNT_OVER_LIMIT"),
    ({"sign_name": ""}, "isv.SMS_SIGNATURE_ILLEGAL"),
    ({"template_code": ""}, "isv.SMS_TEMPLATE_ILLEGAL"),
])
def test_refusals_are_final_not_retried(gateway: RunningGateway, extra: dict[str, Any],
                                        code: str) -> None:
    sleeps: list[float] = []
    with pytest.raises(SmsError, match=code) as info:
        send_with_retries(gateway.url, _request(**extra), retries=3, backoff=0.1,
                          sleep=sleeps.append)
    assert not info.value.retryable and sleeps == []
    assert gateway.state.messages == []


def test_failures_are_retried_with_exponential_backoff() -> None:
    flaky = serve(0, failure_rate=1.0, seed=7)
    try:
        sleeps: list[float] = []
        with pytest.raises(SmsError) as info:
            send_with_retries(flaky.url, _request(), retries=3, backoff=0.5,
                              sleep=sleeps.append)
        assert info.value.retryable and info.value.attempts == 4  # type: ignore[attr-defined]
        assert sleeps == [0.5, 1.0, 2.0]
        assert flaky.state.requests == 4
        # A gateway failing half the time gets through within a few retries.
        flaky.state.failure_rate = 0.5
        biz_id, attempts = send_with_retries(flaky.url, _request(), retries=10, backoff=0,
                                             sleep=sleeps.append)
        assert biz_id and attempts >= 1
        assert len(flaky.state.messages) == 1
    finally:
        flaky.stop()


def test_unreachable_gateway_is_retryable() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    with pytest.raises(SmsError, match="unreachable") as info:
        send_with_retries(f"http://127.0.0.1:{port}/", _request(), retries=1, backoff=0,
                          sleep=lambda _s: None)
    assert info.value.retryable


def _notify(app: Flask, org: Org, channels: tuple[str, ...], **extra: Any) -> int:
    with app.test_request_context():
        s = app.extensions["portal"].db.session()
        notify(s, Notification(kind="collab.assigned", title="新的协同事项", body="请处理",
                               recipients=(org.people["km"], org.people["sh"]),
                               link="/collab/items/1", channels=channels, **extra))
        s.commit()
        dispatch_pending(app)
        return int(s.scalar(select(SmsDelivery.event_id).limit(1)) or 0) if "sms" in channels \
            else int(s.scalar(select(MailDelivery.event_id).limit(1)) or 0)


def test_sms_channel_records_each_recipient_and_sends_once(capp: Flask, corg: Org,
                                                           gateway: RunningGateway) -> None:
    from portal.models import Person

    with capp.app_context():
        s = capp.extensions["portal"].db.session()
        s.get(Person, corg.people["sh"]).mobile = None  # type: ignore[union-attr]
        s.commit()
    event_id = _notify(capp, corg, ("sms",))
    with capp.test_request_context():
        s = capp.extensions["portal"].db.session()
        rows = {r.person_id: r for r in s.scalars(select(SmsDelivery))}
        assert rows[corg.people["km"]].status == "sent"
        assert rows[corg.people["km"]].biz_id == gateway.state.messages[0]["BizId"]
        assert rows[corg.people["sh"]].status == "no_number"
        # Redelivered (after a crash): nothing is sent again.
        sms_handle(event=DomainEvent(event_id, "notification", {
            "kind": "k", "title": "t", "recipients": [corg.people["km"]],
            "channels": ["sms"]}, datetime.now()))
        s.commit()
        assert len(gateway.state.messages) == 1


def test_sms_gives_up_and_records_the_failure(tmp_path: Any) -> None:
    down = serve(0, failure_rate=1.0, seed=1)
    app = _app(f"sqlite:///{tmp_path}/p.db", tmp_path, down, SMS_RETRIES=2)
    try:
        org = seed_org(app)
        _notify(app, org, ("sms",))
        with app.app_context():
            row = app.extensions["portal"].db.session().scalars(
                select(SmsDelivery).where(SmsDelivery.person_id == org.people["km"])).one()
            assert (row.status, row.attempts) == ("failed", 3)
            assert "simulated" in row.error
    finally:
        app.extensions["portal"].db.engine.dispose()
        down.stop()


class _Inbox:
    def __init__(self) -> None:
        self.envelopes: list[Any] = []

    async def handle_RCPT(self, server: Any, session: Any, envelope: Any, address: str,
                          options: Any) -> str:
        if address.startswith("nobody@"):
            return "550 no such user"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.envelopes.append(envelope)
        return "250 Message accepted"


@pytest.fixture
def smtp() -> Iterator[tuple[Controller, _Inbox]]:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    inbox = _Inbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    yield controller, inbox
    controller.stop()


def test_mail_channel_over_smtp(tmp_path: Any, gateway: RunningGateway,
                                smtp: tuple[Controller, _Inbox]) -> None:
    controller, inbox = smtp
    app = _app(f"sqlite:///{tmp_path}/p.db", tmp_path, gateway,
               MAIL_SMTP_HOST="127.0.0.1", MAIL_SMTP_PORT=controller.port)
    try:
        org = seed_org(app)
        from portal.models import Person

        with app.app_context():
            s = app.extensions["portal"].db.session()
            s.get(Person, org.people["km"]).email = "km@jx.example"  # type: ignore[union-attr]
            s.get(Person, org.people["sh"]).email = "nobody@jx.example"  # type: ignore[union-attr]
            s.commit()
        event_id = _notify(app, org, ("email",))
        [envelope] = inbox.envelopes
        assert envelope.rcpt_tos == ["km@jx.example"]
        text = envelope.content.decode("utf-8", "replace")
        assert "/collab/items/1" in text
        with app.test_request_context():
            s = app.extensions["portal"].db.session()
            rows = {r.person_id: r.status for r in s.scalars(select(MailDelivery))}
            assert rows == {org.people["km"]: "sent", org.people["sh"]: "refused"}
            mail_handle(event=DomainEvent(event_id, "notification", {
                "kind": "k", "title": "t", "recipients": [org.people["km"]],
                "channels": ["email"]}, datetime.now()))
            assert len(inbox.envelopes) == 1
    finally:
        app.extensions["portal"].db.engine.dispose()


def test_failed_texts_are_sent_again_by_the_resend_job_once_the_gateway_is_back(
        tmp_path: Any) -> None:
    from portal import jobs

    flaky = serve(0, failure_rate=1.0, seed=3)
    app = _app(f"sqlite:///{tmp_path}/p.db", tmp_path, flaky, SMS_RETRIES=0)
    try:
        org = seed_org(app)
        _notify(app, org, ("sms",))
        with app.app_context():
            s = app.extensions["portal"].db.session()
            assert {r.status for r in s.scalars(select(SmsDelivery))} == {"failed"}
            s.rollback()
            assert "sms.resend" in jobs.run_due(app, now=1000.0)  # still down: still failed
            assert {(r.status, r.attempts) for r in s.scalars(select(SmsDelivery))} == \
                {("failed", 2)}
            s.rollback()
            flaky.state.failure_rate = 0.0
            assert "sms.resend" in jobs.run_due(app, now=2000.0)
            rows = s.scalars(select(SmsDelivery)).all()
            assert {(r.status, r.attempts) for r in rows} == {("sent", 3)}
            assert len(flaky.state.messages) == 1  # one request for the event's recipients
            assert sorted(flaky.state.messages[0]["PhoneNumbers"]) == sorted(r.phone for r in rows)
            s.rollback()
            assert "sms.resend" in jobs.run_due(app, now=3000.0)  # nothing left to send
            assert len(flaky.state.messages) == 1
    finally:
        app.extensions["portal"].db.engine.dispose()
        flaky.stop()
