"""The deadline clock: reminders before a work item's deadline, escalation when it passes.

``tick(session, now)`` is one pass; ``portal collab tick`` runs it (from cron or a worker's
beat), and tests pass their own ``now``: the clock is injected, never read inside.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from portal.toolkit import gettext, setting
from portlets.collab import service
from portlets.collab.calendar import add_working_hours
from portlets.collab.errors import CollabError
from portlets.collab.models import WorkItem
from portlets.collab.states import OPEN

BATCH = 500


@dataclass
class TickResult:
    reminded: int = 0
    escalated: int = 0
    at_top: int = 0


def tick(session: Session, now: datetime) -> TickResult:
    """Escalate open items past their deadline; remind holders of items nearly due.

    An item at the top of its ladder is only marked overdue. Each item is changed through the
    service, so the version check makes a tick that races a person's action lose cleanly.
    """
    out = TickResult()
    late = session.scalars(select(WorkItem).where(
        WorkItem.state.in_([s.value for s in OPEN]), WorkItem.due_at < now)
        .order_by(WorkItem.due_at).limit(BATCH)).all()
    for item in late:
        if service.next_level(session, item) is None:
            if not item.overdue:
                item.overdue = 1
                out.at_top += 1
            continue
        try:
            service.escalate(session, None, item,
                             gettext("Deadline %(due)s passed.",
                                     due=item.due_at.strftime("%Y-%m-%d %H:%M")
                                     if item.due_at else ""), now=now)
            out.escalated += 1
        except CollabError:
            continue
    hours = float(setting("COLLAB_REMINDER_HOURS"))  # type: ignore[arg-type]
    soon = session.scalars(select(WorkItem).where(
        WorkItem.state.in_([s.value for s in OPEN]), WorkItem.reminded_at.is_(None),
        WorkItem.due_at >= now).order_by(WorkItem.due_at).limit(BATCH)).all()
    for item in soon:
        assert item.due_at is not None
        if add_working_hours(now, hours) >= item.due_at:
            service.remind(session, item, now)
            out.reminded += 1
    return out
