"""Registration of the profile portlet: a per-user portlet reading the shared domain model.

It reads the signed-in person's own record, so it is cached with ``vary=Variance.USER``. Posts
and roles come from ``ctx.principal`` (fixed at sign-in), the contact details and the unit's
name from the database, which is why a short TTL is enough to pick up directory changes.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from flask import Blueprint, render_template
from flask_babel import LazyString, get_locale
from sqlalchemy import select

from portal.toolkit import (
    CachePolicy,
    OrgUnit,
    Person,
    Portlet,
    Post,
    RenderContext,
    Size,
    Variance,
    db_session,
    hookimpl,
    lazy_gettext,
)

bp = Blueprint("profile_portlet", __name__, template_folder="templates")

#: Display names of the role codes posts grant; an unknown code is shown as it is.
ROLE_TITLES: dict[str, LazyString] = {
    "staff": lazy_gettext("Staff"),
    "manager": lazy_gettext("Manager"),
    "leader": lazy_gettext("Leader"),
    "admin": lazy_gettext("Administrator"),
}


def render(ctx: RenderContext) -> str:
    s = db_session()
    person = s.execute(
        select(Person.username, Person.email, Person.mobile, OrgUnit.name.label("unit"))
        .outerjoin(OrgUnit, OrgUnit.id == Person.org_unit_id)
        .where(Person.id == ctx.principal.person_id)
    ).one_or_none()
    locale = get_locale()
    english = locale is not None and locale.language != "zh"
    names = {code: (name_en if english and name_en else name) for code, name, name_en in
             s.execute(select(Post.code, Post.name, Post.name_en)
                       .where(Post.code.in_(ctx.principal.posts)))}
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
