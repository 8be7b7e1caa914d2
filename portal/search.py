"""The unified search: every plugin's ``portal_search`` results merged and grouped by source."""

from __future__ import annotations

import logging
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime

from flask import current_app
from markupsafe import Markup, escape

from portal.auth import Principal

log = logging.getLogger(__name__)

#: Longest query accepted (characters, after trimming): longer text is refused, not cut.
MAX_QUERY = 60
#: Results kept per source on the merged page: a plugin with many hits cannot crowd the rest.
PER_SOURCE = 10


class BadQuery(ValueError):
    """The query is empty or too long; the message says which, for the user."""


@dataclass(frozen=True)
class SearchResult:
    """One hit of one plugin. ``source`` names the plugin's kind of result (a heading on the
    results page); ``snippet`` is plain text or ``Markup`` with the matched words in ``<mark>``
    (plugins escape what they put in Markup); ``score`` orders hits within one source (higher
    first); ``when`` is the date shown beside the hit."""

    source: str
    title: str
    url: str
    snippet: str | Markup = ""
    when: datetime | None = None
    score: float = 0.0


@dataclass
class SearchGroup:
    """The hits of one source: the first ``PER_SOURCE`` and how many the plugin returned."""

    source: str
    results: list[SearchResult] = field(default_factory=list)
    total: int = 0


def clean_query(raw: str | None) -> str:
    """The query trimmed and with inner whitespace collapsed; ``BadQuery`` when empty or
    longer than ``MAX_QUERY`` characters."""
    from flask_babel import gettext

    query = " ".join((raw or "").split())
    if not query:
        raise BadQuery(gettext("Type something to search for."))
    if len(query) > MAX_QUERY:
        raise BadQuery(gettext("Search text may be at most %(n)d characters long.", n=MAX_QUERY))
    return query


def search(principal: Principal, query: str, per_source: int = PER_SOURCE) -> list[SearchGroup]:
    """Ask every plugin; a plugin that raises (or returns something that is not a
    ``SearchResult``) is logged and left out, never breaking the page. Groups come with the
    most hits first, each with at most *per_source* hits, best first."""
    pm = current_app.extensions["portal"].plugins

    def on_error(plugin: str, exc: Exception) -> None:
        log.error("plugin %s failed to search for %r: %s", plugin, query, exc, exc_info=exc)

    groups: dict[str, SearchGroup] = {}
    for plugin, result in pm.call_safely("portal_search", on_error, principal=principal,
                                         query=query):
        try:
            hits = list(result)  # a generator raises only now
        except Exception as exc:
            on_error(plugin, exc)
            continue
        for hit in hits:
            if not isinstance(hit, SearchResult):
                log.error("plugin %s returned a search result that is not a SearchResult: %r",
                          plugin, hit)
                continue
            group = groups.setdefault(str(hit.source), SearchGroup(str(hit.source)))
            group.results.append(hit)
            group.total += 1
    for group in groups.values():
        group.results.sort(key=lambda h: (-h.score, -(h.when.timestamp() if h.when else 0)))
        del group.results[per_source:]
    return sorted(groups.values(), key=lambda g: (-g.total, g.source))


_TAG = re.compile(r"<[^>]*>")


def excerpt(text: str, words: Sequence[str], width: int = 90) -> Markup:
    """A piece of *text* (HTML tags dropped, whitespace collapsed) around the first of *words*,
    each of them in ``<mark>``; everything else escaped. For ``SearchResult.snippet``."""
    from html import unescape

    plain = " ".join(unescape(_TAG.sub(" ", text or "")).split())
    lowered = plain.lower()
    words = [w.lower() for w in words if w]
    found = [lowered.find(w) for w in words if w in lowered]
    start = max(0, min(found) - width // 3) if found else 0
    piece = plain[start:start + width]
    prefix = "…" if start > 0 else ""
    suffix = "…" if start + width < len(plain) else ""
    out: list[Markup] = [escape(prefix)]
    pos = 0
    if words:
        pattern = re.compile("|".join(re.escape(w) for w in sorted(set(words), key=len,
                                                                        reverse=True)), re.I)
        for m in pattern.finditer(piece):
            out.append(escape(piece[pos:m.start()]))
            out.append(Markup("<mark>%s</mark>") % m.group(0))
            pos = m.end()
    out.append(escape(piece[pos:]))
    out.append(escape(suffix))
    # Neighbouring words (专项 + 整治) read as one highlight.
    return Markup(str(Markup("").join(out)).replace("</mark><mark>", ""))
