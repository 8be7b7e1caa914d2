"""A plugin of the unified views' tests: to-do items and search results from a pretend
system, and a second one that raises (it must be left out, never break the merge)."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from datetime import datetime, timedelta

from portal.toolkit import Principal, SearchResult, TodoItem, hookimpl

NOW = datetime(2026, 12, 1, 9, 0)


class Desk:
    @hookimpl
    def portal_todo_items(self, principal: Principal) -> Iterable[TodoItem]:
        return [
            TodoItem(source="督办", title="later", url="/d/1", due=NOW + timedelta(days=5)),
            TodoItem(source="督办", title="sooner", url="/d/2", due=NOW + timedelta(days=1)),
            TodoItem(source="督办", title="no deadline", url="/d/3", created=NOW),
            TodoItem(source="审批", title="urgent", url="/a/1", urgent=True,
                     due=NOW + timedelta(days=9)),
            TodoItem(source="审批", title="middle", url="/a/2", due=NOW + timedelta(days=3)),
            "not an item",  # type: ignore[list-item]
        ]

    @hookimpl
    def portal_search(self, principal: Principal, query: str) -> Iterable[SearchResult]:
        hits = [SearchResult(source="督办", title=f"{query} #{n}", url=f"/d/{n}", score=n)
                for n in range(15)]
        return [*hits, SearchResult(source="审批", title="one", url="/a/1"),
                "not a result"]  # type: ignore[list-item]


class Raiser:
    @hookimpl
    def portal_todo_items(self, principal: Principal) -> Iterable[TodoItem]:
        raise RuntimeError("to-do source down")

    @hookimpl
    def portal_search(self, principal: Principal, query: str) -> Iterator[SearchResult]:
        yield SearchResult(source="坏的", title="half", url="/x")
        raise RuntimeError("search source down")
