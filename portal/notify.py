"""Telling people something — in the portal, by SMS, by e-mail — from any plugin.

``notify`` writes one ``notification`` domain event into the caller's transaction, so a notice
exists if and only if the change that caused it does ("事找人" without ghosts or losses). Each
channel plugin (the notices portlet for "portal", an SMS or e-mail channel...) handles that event
in its own ``portal_handle_event``: the outbox gives every channel its own retries and its own
delivery record, so a failing SMS gateway never delays or repeats the in-portal notice. Channels
key what they write by the event id, which makes delivery exactly once per recipient.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable

from flask import current_app, has_app_context
from sqlalchemy.orm import Session

from portal.events import DomainEvent, emit, emit_many

EVENT_TYPE = "notification"
MAX_TITLE = 200
MAX_BODY = 2_000


@dataclass(frozen=True)
class Notification:
    """What to tell, to whom, and through which channels.

    ``kind`` names the reason in the domain (``customer.license_changed``, ``collab.assigned``)
    so that a channel or a user preference can treat kinds differently; ``link`` is a path on
    the portal where the recipient can act; ``params`` are for channels that send templates
    (an SMS template's parameters).
    """

    kind: str
    title: str
    recipients: tuple[int, ...]
    body: str = ""
    link: str = ""
    channels: tuple[str, ...] = ("portal",)
    params: dict[str, str] = field(default_factory=dict)

    def to_payload(self) -> dict[str, Any]:
        # By hand rather than ``asdict``: its deep copy is a good part of a sync batch's cost.
        return {"kind": self.kind, "title": self.title, "recipients": list(self.recipients),
                "body": self.body, "link": self.link, "channels": list(self.channels),
                "params": dict(self.params)}

    @classmethod
    def from_payload(cls, data: dict[str, Any]) -> Notification:
        return cls(kind=str(data["kind"]), title=str(data["title"]),
                   recipients=tuple(int(r) for r in data.get("recipients") or ()),
                   body=str(data.get("body") or ""), link=str(data.get("link") or ""),
                   channels=tuple(data.get("channels") or ("portal",)),
                   params={str(k): str(v) for k, v in (data.get("params") or {}).items()})


@runtime_checkable
class NotificationChannel(Protocol):
    """What ``portal_notification_channels`` returns: a name and a label for the admin pages.

    Delivery itself happens in the channel plugin's ``portal_handle_event`` (see
    ``notification_for``).
    """

    name: str
    label: str


def notify(session: Session, notification: Notification) -> None:
    """Queue *notification* with the caller's change; nothing is sent if it rolls back.

    Raises ``ValueError`` for a notification no channel could deliver (no recipients, empty
    or oversized title): the mistake is the caller's and must show up in its tests.
    """
    payload = _checked_payload(notification, _known_channels())
    if payload is not None:
        emit(session, EVENT_TYPE, **payload)


def notify_many(session: Session, notifications: Sequence[Notification]) -> None:
    """``notify`` for many notifications: the same checks, one bulk outbox ``INSERT``.

    Either all of them are queued or, if one is invalid (``ValueError``), none is.
    """
    known = _known_channels()
    payloads = [p for n in notifications if (p := _checked_payload(n, known)) is not None]
    emit_many(session, [(EVENT_TYPE, p) for p in payloads])


def _known_channels() -> frozenset[str] | None:
    """The registered channels, or ``None`` outside an app (nothing to check against)."""
    if not has_app_context():
        return None
    return frozenset(current_app.extensions["portal"].notification_channels)


def _checked_payload(notification: Notification,
                     known: frozenset[str] | None) -> dict[str, Any] | None:
    """The outbox payload of *notification*, ``None`` when it has nobody to tell."""
    if not notification.title.strip() or len(notification.title) > MAX_TITLE:
        raise ValueError(f"notification title must be 1..{MAX_TITLE} characters")
    if len(notification.body) > MAX_BODY:
        raise ValueError(f"notification body must be at most {MAX_BODY} characters")
    if notification.link and (not notification.link.startswith("/")
                              or notification.link.startswith("//")):
        raise ValueError("a notification link must be a path on this portal")
    if not notification.channels:
        raise ValueError("a notification needs at least one channel")
    if known is not None:
        unknown = sorted(set(notification.channels) - known)
        if unknown:
            raise ValueError(f"no notification channel named {', '.join(unknown)}")
    recipients = sorted(set(notification.recipients))
    if not recipients:
        return None
    payload = notification.to_payload()
    payload["recipients"] = recipients
    return payload


def channel_names() -> frozenset[str]:
    """Names of the channels plugins registered: the ones ``notify`` accepts."""
    return frozenset(current_app.extensions["portal"].notification_channels)


def notification_for(event: DomainEvent, channel: str) -> Notification | None:
    """The notification in *event* if it is one that *channel* should deliver, else ``None``."""
    if event.type != EVENT_TYPE or channel not in (event.payload.get("channels") or ()):
        return None
    return Notification.from_payload(event.payload)
