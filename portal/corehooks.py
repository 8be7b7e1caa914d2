"""The core's own hook implementations: fallbacks that run after every plugin (``trylast``)."""

from __future__ import annotations

from sqlalchemy import select

from portal.auth import Principal
from portal.db import db_session
from portal.models import Post, PostAssignment
from portal.plugins import hookimpl


@hookimpl(trylast=True)
def portal_posts_for(principal: Principal) -> list[str]:
    """Posts come from the post assignments in the database unless a plugin decided."""
    rows = db_session().scalars(
        select(Post.code).join(PostAssignment, PostAssignment.post_id == Post.id).where(
            PostAssignment.person_id == principal.person_id)
    )
    return sorted(set(rows))
