"""Registration of the SMS channel: a notification for channel "sms" becomes one SendSms call
to every recipient with a mobile number, recorded per recipient."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Any

import click
from sqlalchemy import select

from connectors.sms.delivery import resend_failed, send_notification
from connectors.sms.models import SmsDelivery
from portal.toolkit import (
    DomainEvent,
    PeriodicJob,
    Person,
    db_session,
    hookimpl,
    lazy_gettext,
    notification_for,
    setting,
)

HERE = Path(__file__).parent
NAME = "sms"


class SmsChannel:
    name = NAME
    label = lazy_gettext("SMS")


@hookimpl
def portal_notification_channels() -> Iterable[SmsChannel]:
    return [SmsChannel()]


@hookimpl
def portal_migrations() -> str:
    return str(HERE / "migrations" / "versions")


@hookimpl
def portal_handle_event(event: DomainEvent) -> None:
    """Send once per event: the rows are written in the outbox's savepoint with its delivery
    record, and an event that already has rows is never sent again. Failures are recorded,
    not raised: a retry of the whole event would text the others twice."""
    notification = notification_for(event, NAME)
    if notification is None:
        return
    s = db_session()
    if s.scalar(select(SmsDelivery.id).where(SmsDelivery.event_id == event.id).limit(1)):
        return
    people = s.execute(select(Person.id, Person.mobile).where(
        Person.id.in_(notification.recipients), Person.active.is_(True))).all()
    with_phone = [(pid, (m or "").strip()) for pid, m in people if (m or "").strip()]
    rows = [SmsDelivery(event_id=event.id, person_id=pid, status="no_number", attempts=0,
                        phone="", biz_id="", error="")
            for pid, m in people if not (m or "").strip()]
    status, biz_id, attempts, error = send_notification(
        notification, [p for _i, p in with_phone], event.id)
    rows += [SmsDelivery(event_id=event.id, person_id=pid, phone=phone, status=status,
                         attempts=attempts, biz_id=biz_id, error=error)
             for pid, phone in with_phone]
    s.add_all(rows)
    s.flush()


@hookimpl
def portal_periodic_jobs() -> Iterable[PeriodicJob]:
    return [PeriodicJob("sms.resend", every_seconds=float(setting("SMS_RESEND_SECONDS")),
                        run=lambda: resend_failed(db_session()),
                        description="texts the gateway could not take, tried again")]


@click.group("sms")
def sms_cli() -> None:
    """The SMS channel."""


@sms_cli.command("gateway")
@click.option("--port", default=0, show_default=True, help="0: a free port.")
@click.option("--failure-rate", default=0.0, show_default=True,
              type=click.FloatRange(0.0, 1.0), help="Share of requests that fail.")
def gateway_command(port: int, failure_rate: float) -> None:
    """Run the simulated SendSms gateway until interrupted; prints its URL."""
    import time

    from connectors.sms.gateway import serve

    running = serve(port, failure_rate)
    click.echo(f"SMS gateway on {running.url} (set PORTAL_SMS_GATEWAY_URL to it)")
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        running.stop()


@hookimpl
def portal_cli(cli: Any) -> None:
    cli.add_command(sms_cli)


@hookimpl
def portal_translations() -> str:
    return str(HERE / "translations")
