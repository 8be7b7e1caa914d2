"""A plugin whose portlet and action need certificate-level sign-in (like document signing)."""

from __future__ import annotations

from flask import Blueprint

from portal.toolkit import (
    CachePolicy,
    Portlet,
    RenderContext,
    Variance,
    assurance_required,
    hookimpl,
)

RENDERS = {"signing_desk": 0}
bp = Blueprint("signing_desk_test", __name__)


@bp.route("/sign-document", methods=["GET", "POST"])
@assurance_required("certificate")
def sign_document() -> str:
    return "<p>document signed</p>"


def _render(ctx: RenderContext) -> str:
    RENDERS["signing_desk"] += 1
    return f"<p>documents waiting for the seal of {ctx.principal.username}</p>"


@hookimpl
def portal_portlets() -> list[Portlet]:
    return [Portlet(id="signing_desk", title="Signing desk", render=_render,
                    assurance="certificate", cache=CachePolicy(ttl=300, vary=Variance.USER)),
            Portlet(id="plain_desk", title="Plain desk",
                    render=lambda ctx: "<p>plain desk for everyone</p>")]


@hookimpl
def portal_blueprints() -> list[Blueprint]:
    return [bp]
