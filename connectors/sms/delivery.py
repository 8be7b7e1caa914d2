"""Sending a notification by SMS, and sending again what the gateway could not take.

The outbox handler sends once per event (``plugin.portal_handle_event``); a gateway that stays
down through the client's own retries leaves ``failed`` rows, which the periodic job
``sms.resend`` offers the gateway again, a batch per run, until ``SMS_RESEND_ATTEMPTS`` are used
or the text is older than ``SMS_RESEND_HOURS`` (a late "customer's licence was suspended"
should not arrive a week later). A refusal (a bad number, an unknown template) is final.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from connectors.sms.client import SmsError, SmsRequest, send_with_retries
from connectors.sms.models import SmsDelivery
from portal.models import OutboxEvent
from portal.toolkit import Notification, setting

#: Events whose failed texts one run offers the gateway again.
BATCH = 50


def send_notification(notification: Notification, phones: list[str],
                      event_id: int) -> tuple[str, str, int, str]:
    """Text *notification* to *phones* through the gateway, with its retries: ``(status,
    BizId, attempts, error)``. A refusal (bad number, unknown template) is ``refused``, final;
    a gateway that stays down is ``failed``, and the ``sms.resend`` job tries again later."""
    url = str(setting("SMS_GATEWAY_URL") or "")
    if not phones or not url:
        return "not_configured", "", 0, ""
    params = {"title": notification.title[:60], **notification.params}
    request = SmsRequest(phones=tuple(phones), sign_name=str(setting("SMS_SIGN_NAME")),
                         template_code=str(setting("SMS_TEMPLATE_CODE")),
                         params=params, out_id=f"portal-{event_id}")
    try:
        biz_id, attempts = send_with_retries(
            url, request, retries=int(setting("SMS_RETRIES")),  # type: ignore[call-overload]
            backoff=float(setting("SMS_BACKOFF")),  # type: ignore[arg-type]
            access_key=str(setting("SMS_ACCESS_KEY")),
            timeout=float(setting("SMS_TIMEOUT")))  # type: ignore[arg-type]
    except SmsError as exc:
        return ("failed" if exc.retryable else "refused", "",
                int(getattr(exc, "attempts", 1)), str(exc)[:300])
    return "sent", biz_id, attempts, ""


def resend_failed(session: Session, now: datetime | None = None) -> int:
    """Offer the gateway the failed texts again, one request per event; returns how many
    recipients' texts went out this time."""
    now = now or datetime.now()
    since = now - timedelta(hours=float(setting("SMS_RESEND_HOURS")))  # type: ignore[arg-type]
    limit = int(setting("SMS_RESEND_ATTEMPTS"))  # type: ignore[call-overload]
    rows = session.scalars(select(SmsDelivery).where(
        SmsDelivery.status == "failed", SmsDelivery.attempts < limit, SmsDelivery.at >= since)
        .order_by(SmsDelivery.event_id).limit(BATCH * 20)
        .with_for_update(skip_locked=True)).all()
    by_event: dict[int, list[SmsDelivery]] = defaultdict(list)
    for row in rows:
        if len(by_event) < BATCH or row.event_id in by_event:
            by_event[row.event_id].append(row)
    payloads = dict(session.execute(select(OutboxEvent.id, OutboxEvent.payload).where(
        OutboxEvent.id.in_(list(by_event)))).all())
    sent = 0
    for event_id, deliveries in by_event.items():
        if event_id not in payloads:  # the outbox was pruned: nothing left to say
            for row in deliveries:
                row.status, row.error = "refused", "the notification is gone"
            continue
        status, biz_id, attempts, error = send_notification(
            Notification.from_payload(payloads[event_id]), [r.phone for r in deliveries],
            event_id)
        for row in deliveries:
            row.status, row.biz_id, row.error = status, biz_id, error
            row.attempts += attempts
        sent += len(deliveries) if status == "sent" else 0
    return sent
