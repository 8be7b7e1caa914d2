"""What can be done with a notice, independent of HTTP: validation, targets, submission, reading.

Views and the demo-data hook both go through here, so the rules hold wherever a notice is made.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime

from flask import current_app, has_request_context, url_for
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from portal.toolkit import (
    LiveMessage,
    Notification,
    OrgUnit,
    Person,
    Post,
    Principal,
    after_commit,
    emit,
    gettext,
    insert_rows,
    invalidate,
    people_in_units,
    people_with_posts,
    publish_after_commit,
    subtree_ids,
)
from portlets.notices.models import Notice, NoticeReceipt, NoticeTarget

MAX_TITLE = 200
MAX_CONTENT = 10_000
PORTLET_ID = "notices"


@dataclass
class NoticeForm:
    """What the sender typed; ``validate`` resolves it against the directory."""

    title: str = ""
    content: str = ""
    usernames: str = ""
    posts: list[str] = field(default_factory=list)
    orgs: list[str] = field(default_factory=list)

    def validate(self, session: Session) -> tuple[list[NoticeTarget], dict[str, str]]:
        errors: dict[str, str] = {}
        title, content = self.title.strip(), self.content.strip()
        if not title:
            errors["title"] = gettext("Enter a title.")
        elif len(title) > MAX_TITLE:
            errors["title"] = gettext("At most %(n)d characters.", n=MAX_TITLE)
        if not content:
            errors["content"] = gettext("Enter the content.")
        elif len(content) > MAX_CONTENT:
            errors["content"] = gettext("At most %(n)d characters.", n=MAX_CONTENT)

        targets: list[NoticeTarget] = []
        names = sorted({n.strip() for n in self.usernames.replace("，", ",").split(",")
                        if n.strip()})
        if names:
            found = dict(session.execute(
                select(Person.username, Person.display_name).where(
                    Person.username.in_(names), Person.active.is_(True))).all())
            missing = [n for n in names if n not in found]
            if missing:
                errors["usernames"] = gettext("Unknown people: %(names)s",
                                              names=", ".join(missing[:10]))
            targets += [NoticeTarget(kind="person", ref=n, label=found[n]) for n in names
                        if n in found]
        if self.posts:
            posts = dict(session.execute(select(Post.code, Post.name).where(
                Post.code.in_(self.posts))).all())
            if len(posts) != len(set(self.posts)):
                errors["posts"] = gettext("Unknown post.")
            targets += [NoticeTarget(kind="post", ref=c, label=n) for c, n in sorted(posts.items())]
        if self.orgs:
            try:
                org_ids = [int(o) for o in self.orgs]
            except ValueError:
                org_ids = []
                errors["orgs"] = gettext("Unknown organisation unit.")
            units = dict(session.execute(select(OrgUnit.id, OrgUnit.name).where(
                OrgUnit.id.in_(org_ids))).all())
            if org_ids and len(units) != len(set(org_ids)):
                errors["orgs"] = gettext("Unknown organisation unit.")
            targets += [NoticeTarget(kind="org", ref=str(i), label=n)
                        for i, n in sorted(units.items())]
        if not targets and not {"usernames", "posts", "orgs"} & errors.keys():
            errors["targets"] = gettext("Choose at least one person, post or unit.")
        return targets, errors


def save_draft(session: Session, principal: Principal, form: NoticeForm,
               notice: Notice | None = None) -> tuple[Notice | None, dict[str, str]]:
    """Create or update a draft; nothing is written when there are errors."""
    targets, errors = form.validate(session)
    if errors:
        return None, errors
    if notice is None:
        notice = Notice(sender_id=principal.person_id, sender_name=principal.display_name)
        session.add(notice)
    notice.title, notice.content = form.title.strip(), form.content.strip()
    notice.targets = targets
    return notice, {}


def recipients(session: Session, notice: Notice) -> set[int]:
    ids: set[int] = set()
    by_kind: dict[str, list[str]] = {}
    for t in notice.targets:
        by_kind.setdefault(t.kind, []).append(t.ref)
    if by_kind.get("person"):
        ids.update(session.scalars(select(Person.id).where(
            Person.username.in_(by_kind["person"]), Person.active.is_(True))))
    if by_kind.get("post"):
        ids.update(people_with_posts(session, by_kind["post"]))
    for org in by_kind.get("org", []):
        ids.update(people_in_units(session, subtree_ids(session, int(org))))
    return ids


def submit(session: Session, notice: Notice, now: datetime | None = None) -> int:
    """Freeze the notice and make one receipt per recipient; returns how many."""
    people = recipients(session, notice)
    notice.submitted_at = now or datetime.now()
    session.add_all(NoticeReceipt(notice_id=notice.id, person_id=p) for p in sorted(people))
    emit(session, "notice.submitted", notice_id=notice.id, sender_id=notice.sender_id,
         recipients=len(people))
    announce(session, notice, people)
    return len(people)


def refresh_windows(person_ids: set[int] | list[int]) -> None:
    """Make the notices windows of these people show the change on their next page view."""
    for pid in person_ids:
        invalidate(PORTLET_ID, user=pid)


def notice_path(notice_id: int) -> str:
    """The notice's page, also outside a request (the outbox worker)."""
    if has_request_context():
        return url_for("notices.show", notice_id=notice_id)
    return current_app.url_map.bind("").build("notices.show", {"notice_id": notice_id})


def announce(session: Session, notice: Notice, people: Iterable[int]) -> None:
    """Once *notice* is committed: its recipients' windows are stale, and their open pages
    hear of it (a toast, the window and the header badge reload).

    Both wait for the commit: a window rendered before it would be cached without the notice,
    and a page told before it would reload a window that does not show it yet.
    """
    _announce(session, [(notice.id, notice.title, sorted(set(people)))])


def _announce(session: Session, notices: list[tuple[int, str, list[int]]]) -> None:
    """``announce`` for many notices: one cache refresh for all their recipients."""
    everyone = {p for _id, _title, people in notices for p in people}
    if not everyone:
        return
    after_commit(session, lambda: refresh_windows(everyone))
    for notice_id, title, people in notices:
        if people:
            publish_after_commit(session, people, LiveMessage(
                type="notice", key=f"notice:{notice_id}", title=title,
                link=notice_path(notice_id), refresh=(PORTLET_ID,)))


def mark_read(session: Session, notice_id: int, person_id: int) -> bool:
    """Mark the receipt read; the reader's other open pages update their count."""
    receipt = session.scalars(select(NoticeReceipt).where(
        NoticeReceipt.notice_id == notice_id, NoticeReceipt.person_id == person_id)).first()
    if receipt is None or receipt.read_at is not None:
        return False
    receipt.read_at = datetime.now()
    publish_after_commit(session, [person_id], LiveMessage(
        type="notice.read", key=f"notice-read:{notice_id}", refresh=(PORTLET_ID,)))
    return True


def read_counts(session: Session, notice_id: int) -> tuple[int, int]:
    """(readers, recipients) of a submitted notice."""
    total, read = session.execute(
        select(func.count(NoticeReceipt.id), func.count(NoticeReceipt.read_at)).where(
            NoticeReceipt.notice_id == notice_id)).one()
    return int(read), int(total)


def unread_count(session: Session, person_id: int) -> int:
    return int(session.scalar(select(func.count(NoticeReceipt.id)).where(
        NoticeReceipt.person_id == person_id, NoticeReceipt.read_at.is_(None))) or 0)


def deliver(session: Session, event_id: int, notification: Notification,
            now: datetime | None = None) -> int | None:
    """The "portal" channel for one notification; the new notice's id, ``None`` if none."""
    made = deliver_all(session, [(event_id, notification)], now)
    return made[0] if made else None


def deliver_all(session: Session, notifications: Sequence[tuple[int, Notification]],
                now: datetime | None = None) -> list[int]:
    """The "portal" channel: each ``(event id, notification)`` becomes a submitted notice for
    its recipients; returns the ids of the notices made.

    Runs in the outbox transaction that records the delivery, so it happens once; the unique
    ``event_id`` makes a second notice impossible even if that guarantee were ever lost.
    Recipients who left (inactive or deleted) are skipped. A whole batch of the sync engine's
    change notices costs four statements, not four per notice.
    """
    if not notifications:
        return []
    wanted = sorted({p for _e, n in notifications for p in n.recipients})
    active = set(session.scalars(select(Person.id).where(
        Person.id.in_(wanted), Person.active.is_(True))))
    known = set(session.scalars(select(Notice.event_id).where(
        Notice.event_id.in_([e for e, _n in notifications]))))
    todo = [(e, n, sorted(set(n.recipients) & active)) for e, n in notifications
            if e not in known]
    todo = [t for t in todo if t[2]]  # already delivered, or nobody left to tell
    if not todo:
        return []
    when, sender = now or datetime.now(), gettext("Portal")
    made = dict((event_id, notice_id) for notice_id, event_id in insert_rows(
        session, Notice.__table__,
        [{"title": n.title[:MAX_TITLE], "content": n.body, "sender_id": None,
          "sender_name": sender, "kind": n.kind, "link": n.link, "event_id": e,
          "submitted_at": when} for e, n, _people in todo], returning=("id", "event_id")))
    ids = [made[e] for e, _n, _people in todo]
    insert_rows(session, NoticeReceipt.__table__, [
        {"notice_id": notice_id, "person_id": p}
        for notice_id, (_e, _n, people) in zip(ids, todo, strict=True) for p in people])
    _announce(session, [(notice_id, n.title[:MAX_TITLE], people)
                        for notice_id, (_e, n, people) in zip(ids, todo, strict=True)])
    return ids
