"""Registration of the hello portlet: the hook functions are the whole contract with the core.

Import only from ``portal.toolkit`` (and Flask): everything else in ``portal`` may change.
"""

from __future__ import annotations

from collections.abc import Iterable

from flask import Blueprint, render_template
from portal.toolkit import (
    CachePolicy,
    Mode,
    Portlet,
    Preference,
    PreferenceSchema,
    RenderContext,
    Size,
    Variance,
    hookimpl,
    lazy_gettext,
)

#: Carries the templates (``templates/hello/...``); the core mounts it under ``/p/hello/``,
#: so routes added here become the portlet's own pages.
bp = Blueprint("hello_portlet", __name__, template_folder="templates")


def render(ctx: RenderContext) -> str:
    """The window's HTML: the greeting chosen in the preferences, then the person's name.

    Everything the output depends on comes from *ctx*; the output depends on the user, so the
    portlet is cached with ``vary=Variance.USER``.
    """
    return render_template(
        "hello/portlet.html",
        greeting=ctx.preferences["greeting"],
        name=ctx.principal.display_name,
    )


PORTLET = Portlet(
    id="hello",
    title=lazy_gettext("Hello"),
    description=lazy_gettext("Greets you by name."),
    category="information",
    render=render,
    default_size=Size(3, 2),
    min_size=Size(2, 2),
    # VIEW shows the greeting; EDIT is a form the core generates from the preferences below.
    modes=frozenset({Mode.VIEW, Mode.EDIT}),
    preferences=PreferenceSchema(
        (Preference("greeting", "str", "你好", lazy_gettext("Greeting"), max_length=40),)
    ),
    cache=CachePolicy(ttl=300, vary=Variance.USER),
    timeout=1.0,
    blueprint=bp,
    icon="👋",
)


@hookimpl
def portal_portlets() -> Iterable[Portlet]:
    return [PORTLET]
