"""Query helpers that stay fast on every database the portal supports."""

from __future__ import annotations

from typing import Any

from sqlalchemy import and_
from sqlalchemy.sql.elements import ColumnElement

#: Sorts after every character a prefix can be followed by (the last code point of the BMP
#: private use area is not used in names, codes or paths).
_AFTER = "\U0010ffff"


def prefix_match(column: Any, prefix: str) -> ColumnElement[bool]:
    """``column`` starts with ``prefix``, as a range (``>= prefix AND < prefix + max``).

    ``LIKE 'x%'`` only uses a btree index on PostgreSQL with the C collation and on SQLite with
    case-sensitive LIKE; a range uses the plain index on both, and needs no escaping of ``%``
    and ``_``.
    """
    return and_(column >= prefix, column < prefix + _AFTER)
