"""The two windows and the unified to-do: document tasks with due dates, incoming unread."""

from __future__ import annotations

from flask import Flask

from portal.auth import Principal
from portal.todo import todo_items
from tests.conftest import Org
from tests.documents.conftest import Actor, doc


def _principal(app: Flask, username: str) -> Principal:
    from portal.models import Person
    from portal.people import principal_for

    s = app.extensions["portal"].db.session()
    person = s.query(Person).filter_by(username=username).one()
    return principal_for(s, person)


def test_todo_items_and_portlets(dapp: Flask, dorg: Org) -> None:
    km = Actor(dapp, "km")
    doc_id = km.draft(title="关于报送年度总结的通知", recipient_units=[dorg.unit_b])
    km.act(doc_id)
    with dapp.test_request_context():
        items = [i for i in todo_items(_principal(dapp, "bm")) if i.source == "Documents"]
        assert len(items) == 1
        assert items[0].title == "【Department review】关于报送年度总结的通知"
        assert items[0].url == f"/documents/{doc_id}" and items[0].due is not None
        assert not [i for i in todo_items(_principal(dapp, "km")) if i.source == "Documents"]
    from portal.portlet import RenderContext  # noqa: F401  (the contract the windows follow)

    portlets = dapp.extensions["portal"].portlets
    assert {"documents_todo", "documents_incoming"} <= set(portlets)
    with dapp.test_request_context():
        from types import SimpleNamespace

        ctx = SimpleNamespace(principal=_principal(dapp, "bm"))
        html = portlets["documents_todo"].render(ctx)
        assert "关于报送年度总结的通知" in html and f"/documents/{doc_id}" in html
        assert "Nothing waits for you" in portlets["documents_todo"].render(
            SimpleNamespace(principal=_principal(dapp, "zg")))
    assert doc(dapp, doc_id).stage == "dept_review"
