"""Registration of the quick links portlet: the simplest kind, global output with one preference.

The output is the same for every user (only the language and the ``columns`` preference change
it, and both are already part of the cache key), so it is cached with ``vary=Variance.NONE``.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import NamedTuple

from flask import Blueprint, render_template
from flask_babel import LazyString

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

#: Only carries ``templates/quicklinks/``; the portlet has no pages of its own.
bp = Blueprint("quicklinks_portlet", __name__, template_folder="templates")


class Link(NamedTuple):
    id: str
    title: LazyString
    url: str
    icon: str


#: The integrated systems, each with a glyph found in common system fonts (no emoji: office PCs
#: often lack an emoji font). Deployments replace the ``"#"`` placeholders with real addresses
#: (by editing this tuple or shipping their own portlet); the order here is the order shown.
LINKS: tuple[Link, ...] = (
    Link("oa", lazy_gettext("Office automation (OA)"), "#", "✎"),
    Link("monopoly", lazy_gettext("Monopoly administration system"), "#", "⚖"),
    Link("marketing", lazy_gettext("Marketing system"), "#", "¥"),
    Link("logistics", lazy_gettext("Logistics system"), "#", "⇄"),
    Link("archives", lazy_gettext("Digital archives"), "#", "▤"),
    Link("documents", lazy_gettext("Management system documents"), "#", "☰"),
)

MIN_COLUMNS, MAX_COLUMNS = 2, 6


def render(ctx: RenderContext) -> str:
    # Layout files are not validated against the schema: clamp rather than trust.
    columns = min(MAX_COLUMNS, max(MIN_COLUMNS, int(ctx.preferences["columns"])))
    return render_template("quicklinks/portlet.html", links=LINKS, columns=columns)


PORTLET = Portlet(
    id="quicklinks",
    title=lazy_gettext("Applications"),
    description=lazy_gettext("Links to the office, monopoly, marketing and logistics systems."),
    category="tools",
    render=render,
    default_size=Size(8, 2),
    min_size=Size(3, 2),
    max_size=Size(12, 4),
    modes=frozenset({Mode.VIEW, Mode.EDIT}),
    preferences=PreferenceSchema((
        Preference("columns", "int", 3, lazy_gettext("Tiles per row"),
                   minimum=MIN_COLUMNS, maximum=MAX_COLUMNS),
    )),
    # Same HTML for everybody: one cached copy per language and column count.
    cache=CachePolicy(ttl=3600, vary=Variance.NONE),
    blueprint=bp,
    icon="▦",
)


@hookimpl
def portal_portlets() -> Iterable[Portlet]:
    return [PORTLET]


@hookimpl
def portal_translations() -> str:
    return str(Path(__file__).parent / "translations")
