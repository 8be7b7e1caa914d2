"""The unified to-do list: every plugin's ``portal_todo_items`` merged and sorted by deadline."""

from __future__ import annotations

import logging
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


def todo_items(principal: Principal, limit: int = 100) -> list[TodoItem]:
    """Merge every plugin's items; a plugin that raises is logged and left out."""
    pm = current_app.extensions["portal"].plugins

    def on_error(plugin: str, exc: Exception) -> None:
        log.error("plugin %s failed to list to-do items: %s", plugin, exc, exc_info=exc)

    items: list[TodoItem] = []
    for plugin, result in pm.call_safely("portal_todo_items", on_error, principal=principal):
        for item in result:
            if isinstance(item, TodoItem):
                items.append(item)
            else:
                log.error("plugin %s returned a to-do item that is not a TodoItem: %r",
                          plugin, item)
    far = datetime.max
    items.sort(key=lambda i: (not i.urgent, i.due or far, -(i.created or far).timestamp()
                              if i.created else 0))
    return items[:limit]
