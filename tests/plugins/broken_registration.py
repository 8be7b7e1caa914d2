"""A plugin whose registration hook raises: the portal must start without it."""

from __future__ import annotations

from collections.abc import Iterable

from flask import Flask

from portal.toolkit import Portlet, hookimpl

#: Set when ``portal_startup`` runs; it must not, because the plugin is left out before that.
STARTED: list[str] = []


@hookimpl
def portal_portlets() -> Iterable[Portlet]:
    raise RuntimeError("registration failed on purpose")


@hookimpl
def portal_startup(app: Flask) -> None:
    STARTED.append(app.name)
