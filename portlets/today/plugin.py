"""Registration of the today portlet: output that depends on the user *and* on the clock.

The greeting names the user, so the fragment varies by user; the date and the part of the day
change on their own, which no event announces, so the cache TTL is what bounds staleness: keep
it short (60 s), and never rely on invalidation for time-driven output.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime
from pathlib import Path

from flask import Blueprint, render_template
from flask_babel import format_date, get_locale

from portal.toolkit import (
    CachePolicy,
    Portlet,
    RenderContext,
    Size,
    Variance,
    hookimpl,
    lazy_gettext,
)

bp = Blueprint("today_portlet", __name__, template_folder="templates")

#: CLDR patterns by language; others use their locale's "full" format ("Monday, November 23,
#: 2026"). Chinese wants a space before the weekday, which zh's own "full" format lacks.
DATE_PATTERNS = {"zh": "y年M月d日 EEEE"}


def part_of_day(hour: int) -> str:
    """Which greeting to use; the template holds the messages, so they stay escaped and
    extractable."""
    if hour < 12:
        return "morning"
    return "afternoon" if hour < 18 else "evening"


def render(ctx: RenderContext) -> str:
    locale = get_locale()
    language = locale.language if locale is not None else "zh"
    today = date.today()
    return render_template(
        "today/portlet.html",
        today=today,
        formatted=format_date(today, DATE_PATTERNS.get(language, "full")),
        part=part_of_day(datetime.now().hour),
        name=ctx.principal.display_name,
    )


PORTLET = Portlet(
    id="today",
    title=lazy_gettext("Today"),
    description=lazy_gettext("Today's date and a greeting."),
    category="information",
    render=render,
    default_size=Size(4, 2),
    min_size=Size(2, 2),
    max_size=Size(6, 3),
    # The name makes it per user; the date makes the TTL short (the language is in the key).
    cache=CachePolicy(ttl=60, vary=Variance.USER),
    blueprint=bp,
    icon="☀",
)


@hookimpl
def portal_portlets() -> Iterable[Portlet]:
    return [PORTLET]


@hookimpl
def portal_translations() -> str:
    return str(Path(__file__).parent / "translations")
