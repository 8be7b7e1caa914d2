"""Display names for codes that appear in pages (states, roles, categories), translatable."""

from __future__ import annotations

from portal.i18n import lazy_gettext as _l

LABELS = {
    # plugin states
    "active": _l("active"),
    "disabled": _l("disabled"),
    "broken": _l("broken"),
    # circuit breaker
    "open": _l("open"),
    "closed": _l("closed"),
    "half-open": _l("half-open"),
    # three staff and their problems
    "inspector": _l("Inspector"),
    "account_manager": _l("Account manager"),
    "deliveryman": _l("Deliveryman"),
    "missing": _l("missing"),
    "inactive": _l("left or inactive"),
    "wrong_post": _l("does not hold the post"),
    # where a post layout version came from
    "file": _l("layout file"),
    "editor": _l("layout editor"),
    "rollback": _l("rollback"),
    # portlet categories
    "work": _l("Work"),
    "customers": _l("Customers"),
    "tools": _l("Tools"),
    "information": _l("Information"),
    "general": _l("General"),
    # sign-in backends (a session's auth_method)
    "local": _l("Portal password"),
    "ldap": _l("Directory password"),
}


def label(code: object) -> str:
    """The translated display name of *code*, or the code itself when it has none."""
    return str(LABELS.get(str(code), code))
