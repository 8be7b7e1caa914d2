"""Registration of the profile portlet: a per-user portlet reading the shared domain model.

It reads the signed-in person's own record, so it is cached with ``vary=Variance.USER``. Posts
and roles come from ``ctx.principal`` (fixed at sign-in), the contact details and the unit's
name from the database, which is why a short TTL is enough to pick up directory changes.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Any

from flask import Blueprint, render_template
from flask_babel import LazyString, get_locale
from sqlalchemy import bindparam, select

from portal.toolkit import (
    CachePolicy,
    OrgUnit,
    Person,
    Portlet,
    Post,
    RenderContext,
    Size,
    Variance,
    hookimpl,
    lazy_gettext,
    run_prepared,
)

bp = Blueprint("profile_portlet", __name__, template_folder="templates")

#: Display names of the role codes posts grant; an unknown code is shown as it is.
ROLE_TITLES: dict[str, LazyString] = {
    "staff": lazy_gettext("Staff"),
    "manager": lazy_gettext("Manager"),
    "leader": lazy_gettext("Leader"),
    "admin": lazy_gettext("Administrator"),
}


def _queries() -> tuple[Any, Any]:
    """The window's two reads, built once: it renders on every request when the portlet cache
    is off, and building the selects cost more than running them."""
    person, unit, post = Person.__table__, OrgUnit.__table__, Post.__table__
    me = (select(person.c.username, person.c.email, person.c.mobile, unit.c.name.label("unit"))
          .select_from(person.outerjoin(unit, unit.c.id == person.c.org_unit_id))
          .where(person.c.id == bindparam("person_id")))
    posts = (select(post.c.code, post.c.name, post.c.name_en)
             .where(post.c.code.in_(bindparam("codes", expanding=True))))
    return me, posts


ME, POSTS = _queries()


def render(ctx: RenderContext) -> str:
    person = run_prepared(ME, {"person_id": ctx.principal.person_id}).one_or_none()
    locale = get_locale()
    english = locale is not None and locale.language != "zh"
    names = {code: (name_en if english and name_en else name) for code, name, name_en in
             run_prepared(POSTS, {"codes": list(ctx.principal.posts)})}
    return render_template(
        "profile/portlet.html",
        principal=ctx.principal,
        person=person,
        posts=[names.get(code, code) for code in ctx.principal.posts],
        roles=[ROLE_TITLES.get(code, code) for code in ctx.principal.roles],
    )


PORTLET = Portlet(
    id="profile",
    title=lazy_gettext("My profile"),
    description=lazy_gettext("Your unit, posts and roles as the portal knows them."),
    category="information",
    render=render,
    default_size=Size(4, 3),
    min_size=Size(3, 2),
    max_size=Size(6, 5),
    cache=CachePolicy(ttl=300, vary=Variance.USER),
    blueprint=bp,
    icon="☺",
)


@hookimpl
def portal_portlets() -> Iterable[Portlet]:
    return [PORTLET]


@hookimpl
def portal_translations() -> str:
    return str(Path(__file__).parent / "translations")
