"""The unified calendar: every plugin's ``portal_calendar_events`` merged and sorted by start."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime

from flask import current_app

from portal.auth import Principal

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class CalendarEvent:
    """One entry of a person's calendar (a meeting, a deadline, a trip, a leave...).

    ``start`` and ``end`` are naive local times (the portal's zone, Asia/Shanghai); for an
    ``all_day`` event they are midnights and ``end`` is exclusive (the day after the last day),
    as in iCalendar. ``source`` is the plugin's label shown to the person; ``kind`` a stable
    machine word (``meeting``, ``deadline``, ``trip``, ``leave``...) used for colours and
    filters. ``uid`` is stable across exports so calendar clients update instead of duplicate.
    """

    title: str
    start: datetime
    end: datetime
    source: str
    kind: str
    url: str = ""
    all_day: bool = False
    uid: str = ""
    location: str = ""
    urgent: bool = False


def calendar_events(principal: Principal, start: datetime, end: datetime,
                    limit: int = 1000) -> list[CalendarEvent]:
    """Every plugin's events overlapping [*start*, *end*), by start time; a plugin that raises
    (when called or while its result is read) is logged and left out."""
    pm = current_app.extensions["portal"].plugins

    def on_error(plugin: str, exc: Exception) -> None:
        log.error("plugin %s failed to list calendar events: %s", plugin, exc, exc_info=exc)

    events: list[CalendarEvent] = []
    for plugin, result in pm.call_safely("portal_calendar_events", on_error,
                                         principal=principal, start=start, end=end):
        mine: list[CalendarEvent] = []
        try:
            for event in result:
                if isinstance(event, CalendarEvent):
                    if event.start < end and event.end > start:
                        mine.append(event)
                else:
                    log.error("plugin %s returned a calendar event that is not a "
                              "CalendarEvent: %r", plugin, event)
        except Exception as exc:
            on_error(plugin, exc)
            continue
        events.extend(mine)
    events.sort(key=lambda e: (e.start, not e.all_day, e.title))
    return events[:limit]
