"""Registration of the e-mail channel: one SMTP conversation per notification event.

An unreachable server raises, so the outbox retries the event later; nothing was sent and
nothing recorded (the savepoint rolls back). A recipient the server refuses is recorded as
``refused`` and not retried. Rows are keyed by (event, person): a redelivered event sends
nothing twice.
"""

from __future__ import annotations

import smtplib
from collections.abc import Iterable
from email.message import EmailMessage
from email.utils import formataddr, make_msgid
from pathlib import Path

from flask import has_request_context, request
from sqlalchemy import select

from connectors.mail.models import MailDelivery
from portal.toolkit import (
    DomainEvent,
    Person,
    db_session,
    hookimpl,
    lazy_gettext,
    notification_for,
    setting,
)

HERE = Path(__file__).parent
NAME = "email"


class MailChannel:
    name = NAME
    label = lazy_gettext("E-mail")


@hookimpl
def portal_notification_channels() -> Iterable[MailChannel]:
    return [MailChannel()]


@hookimpl
def portal_migrations() -> str:
    return str(HERE / "migrations" / "versions")


def _message(sender: str, to: str, name: str, title: str, body: str, link: str) -> EmailMessage:
    msg = EmailMessage()
    msg["From"] = sender
    msg["To"] = formataddr((name, to))
    msg["Subject"] = title
    msg["Message-ID"] = make_msgid(domain=sender.rpartition("@")[2] or None)
    text = body
    if link:
        base = request.host_url.rstrip("/") if has_request_context() else ""
        text = f"{body}\n\n{base}{link}" if body else f"{base}{link}"
    msg.set_content(text or title)
    return msg


@hookimpl
def portal_handle_event(event: DomainEvent) -> None:
    notification = notification_for(event, NAME)
    if notification is None:
        return
    s = db_session()
    if s.scalar(select(MailDelivery.id).where(MailDelivery.event_id == event.id).limit(1)):
        return
    people = s.execute(select(Person.id, Person.display_name, Person.email).where(
        Person.id.in_(notification.recipients), Person.active.is_(True))).all()
    rows = [MailDelivery(event_id=event.id, person_id=pid, address="", status="no_address",
                         error="") for pid, _n, email in people if not (email or "").strip()]
    addressed = [(pid, name, (email or "").strip()) for pid, name, email in people
                 if (email or "").strip()]
    host = str(setting("MAIL_SMTP_HOST") or "")
    if addressed and not host:
        rows += [MailDelivery(event_id=event.id, person_id=pid, address=email,
                              status="not_configured", error="") for pid, _n, email in addressed]
    elif addressed:
        sender = str(setting("MAIL_FROM"))
        with smtplib.SMTP(host, int(setting("MAIL_SMTP_PORT")),  # type: ignore[call-overload]
                          timeout=float(setting("MAIL_TIMEOUT"))) as smtp:  # type: ignore[arg-type]
            for pid, name, email in addressed:
                try:
                    smtp.send_message(_message(sender, email, name, notification.title,
                                               notification.body, notification.link))
                    status, error = "sent", ""
                except smtplib.SMTPRecipientsRefused as exc:
                    status, error = "refused", str(exc)[:300]
                rows.append(MailDelivery(event_id=event.id, person_id=pid, address=email,
                                         status=status, error=error))
    s.add_all(rows)
    s.flush()


@hookimpl
def portal_translations() -> str:
    return str(HERE / "translations")
