"""Plugins that break in the second step of registration: their portlets must go too."""

from __future__ import annotations

from flask import Blueprint

from portal.toolkit import Portlet, hookimpl


class FailsInBackends:
    @hookimpl
    def portal_portlets(self) -> list[Portlet]:
        return [Portlet(id="half", title="Half", render=lambda ctx: "half")]

    @hookimpl
    def portal_auth_backends(self) -> list[object]:
        raise RuntimeError("backend registration failed")


class ClashingBlueprint:
    @hookimpl
    def portal_portlets(self) -> list[Portlet]:
        # "pages" is the core's own blueprint name.
        return [Portlet(id="clash", title="Clash", render=lambda ctx: "clash",
                        blueprint=Blueprint("pages", __name__))]


class BadSignature:
    @hookimpl
    def portal_portlets(self, nonsense: int) -> list[Portlet]:
        return []
