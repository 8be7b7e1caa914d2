"""The unified search page (/search?q=): every plugin's results, grouped by source."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, render_template, request

from portal.access import current_principal, login_required
from portal.search import BadQuery, clean_query, search

bp = Blueprint("find", __name__)


@bp.route("/search")
@login_required
def search_page() -> Any:
    """No query yet shows the empty form; an empty or too long one is a 400 with the reason,
    on the same page so the user can correct it."""
    principal = current_principal()
    assert principal is not None
    raw = request.args.get("q")
    if raw is None:
        return render_template("portal/search.html", q="", groups=None, error=None)
    try:
        q = clean_query(raw)
    except BadQuery as exc:
        return render_template("portal/search.html", q=raw[:200], groups=None,
                               error=str(exc)), 400
    groups = search(principal, q)
    return render_template("portal/search.html", q=q, groups=groups, error=None,
                           total=sum(g.total for g in groups))
