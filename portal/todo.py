"""The unified to-do list: every plugin's ``portal_todo_items`` merged and sorted by deadline."""

from __future__ import annotations

import logging
from collections import Counter
from dataclasses import dataclass
from datetime import datetime

from flask import current_app

from portal.auth import Principal

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class TodoItem:
    """One thing a person has to do. ``due`` orders the list (items without one come last);
    ``source`` names the plugin's kind of item (shown as a label, counted per source)."""

    source: str
    title: str
    url: str
    due: datetime | None = None
    created: datetime | None = None
    urgent: bool = False


@dataclass(frozen=True)
class TodoSummary:
    """The merged list (already filtered to one source when asked) and the count of every
    source, so that the tabs show all sources whichever one is selected."""

    items: list[TodoItem]
    counts: list[tuple[str, int]]
    total: int


def _collect(principal: Principal) -> list[TodoItem]:
    pm = current_app.extensions["portal"].plugins

    def on_error(plugin: str, exc: Exception) -> None:
        log.error("plugin %s failed to list to-do items: %s", plugin, exc, exc_info=exc)

    items: list[TodoItem] = []
    for plugin, result in pm.call_safely("portal_todo_items", on_error, principal=principal):
        try:
            listed = list(result)  # a generator raises only now
        except Exception as exc:
            on_error(plugin, exc)
            continue
        for item in listed:
            if isinstance(item, TodoItem):
                items.append(item)
            else:
                log.error("plugin %s returned a to-do item that is not a TodoItem: %r",
                          plugin, item)
    return items


def _order(item: TodoItem) -> tuple[bool, datetime, float]:
    """Urgent first, then by deadline (none last), then newest first."""
    return (not item.urgent, item.due or datetime.max,
            -item.created.timestamp() if item.created else 0.0)


def todo_summary(principal: Principal, source: str | None = None,
                 limit: int = 500) -> TodoSummary:
    """Merge every plugin's items; a plugin that raises is logged and left out. *source*
    keeps one source's items (the counts still cover all of them)."""
    items = _collect(principal)
    counts = Counter(str(i.source) for i in items)
    if source:
        items = [i for i in items if str(i.source) == source]
    items.sort(key=_order)
    return TodoSummary(items=items[:limit], counts=sorted(counts.items()),
                       total=sum(counts.values()))


def todo_items(principal: Principal, limit: int = 100) -> list[TodoItem]:
    """Merge every plugin's items, sorted; a plugin that raises is logged and left out."""
    return todo_summary(principal, limit=limit).items
