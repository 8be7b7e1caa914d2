"""Writing the audit log from views: who (the principal), what, on what, from which address."""

from __future__ import annotations

from typing import Any

from flask import g, has_request_context, request
from sqlalchemy.orm import Session

from portal.models import AuditEntry


def record(session: Session, action: str, target: str = "", *, actor_id: int | None = None,
           actor: str = "", **detail: Any) -> None:
    """Add an audit entry to *session*; it commits with the change it describes."""
    principal = g.get("principal") if has_request_context() else None
    if principal is not None and actor_id is None:
        actor_id, actor = principal.person_id, principal.username
    address = request.remote_addr or "" if has_request_context() else ""
    session.add(AuditEntry(actor_id=actor_id, actor=actor, action=action, target=target,
                           address=address, detail=detail))
