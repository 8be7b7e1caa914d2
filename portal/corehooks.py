"""The core's own hook implementations: fallbacks that run after every plugin (``trylast``)."""

from __future__ import annotations

from sqlalchemy import select

from portal.auth import Principal
from portal.db import db_session
from portal.models import Person, Post, PostAssignment
from portal.people import loaded_assignments
from portal.plugins import hookimpl


@hookimpl(trylast=True)
def portal_posts_for(principal: Principal, person: Person | None) -> list[str]:
    """Posts come from the post assignments in the database unless a plugin decided."""
    loaded = loaded_assignments(person)
    if loaded is not None:  # sign-in has just read them (provisioning): no second query
        return sorted({a.post.code for a in loaded})
    rows = db_session().scalars(
        select(Post.code).join(PostAssignment, PostAssignment.post_id == Post.id).where(
            PostAssignment.person_id == principal.person_id)
    )
    return sorted(set(rows))
