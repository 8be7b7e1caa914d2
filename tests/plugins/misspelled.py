"""A plugin with a misspelled hook name: start-up must fail loudly, naming it."""

from __future__ import annotations

from portal.toolkit import Portlet, hookimpl


@hookimpl
def portal_portletz() -> list[Portlet]:
    return []
