"""The documents in the unified search: found by title, document number (文号) or 收文登记号,
only by people whose lists show them — never a document one may not see."""

from __future__ import annotations

from flask import Flask

from portal.auth import Principal
from portal.models import Person
from portal.people import principal_for
from portal.search import search
from portlets.documents.access import can_see_document, can_see_incoming
from portlets.documents.models import Document, Incoming
from tests.conftest import Org
from tests.documents.conftest import Actor, doc, incoming_of
from tests.documents.test_flow import run_to_dispatch

EVERYONE = ("km", "bm", "bg", "bm2", "ld", "zg", "zg2", "sh", "admin")


def _principal(app: Flask, username: str) -> Principal:
    s = app.extensions["portal"].db.session()
    return principal_for(s, s.query(Person).filter_by(username=username).one())


def found(app: Flask, username: str, query: str) -> list[str]:
    """The URLs of the documents hits of *username* for *query*, after checking that each
    is one the documents pages let them see."""
    with app.test_request_context():
        me = _principal(app, username)
        s = app.extensions["portal"].db.session()
        urls = []
        for group in search(me, query, per_source=100):
            for hit in group.results:
                if not hit.url.startswith("/documents/"):
                    continue
                tail = hit.url.removeprefix("/documents/")
                if tail.startswith("incoming/"):
                    inc = s.get(Incoming, int(tail.removeprefix("incoming/")))
                    assert inc is not None and can_see_incoming(s, me, inc), (username, hit)
                else:
                    d = s.get(Document, int(tail))
                    assert d is not None and can_see_document(s, me, d), (username, hit)
                urls.append(hit.url)
        return sorted(urls)


def test_a_draft_is_found_by_its_drafter_and_handlers_only(dapp: Flask, dorg: Org) -> None:
    km = Actor(dapp, "km")
    doc_id = km.draft(title="关于开展卷烟市场专项检查的通知", recipient_units=[dorg.unit_b])
    km.act(doc_id)  # now with bm (部门审核)
    url = f"/documents/{doc_id}"
    for who in ("km", "bm", "bg", "ld", "admin"):
        assert found(dapp, who, "专项检查") == [url], who
        assert found(dapp, who, "卷烟 通知") == [url], who  # every word, anywhere
    for who in ("zg", "zg2", "sh", "bm2"):  # same unit or not: no task, no list, no hit
        assert found(dapp, who, "专项检查") == [], who
    assert found(dapp, "km", "专项 考核") == []
    assert found(dapp, "bg", "%") == [] and found(dapp, "bg", "_") == []  # literal, not wild


def test_a_dispatched_document_by_number_in_each_units_incoming(dapp: Flask,
                                                                dorg: Org) -> None:
    doc_id, _people = run_to_dispatch(dapp, dorg)
    number = doc(dapp, doc_id).number
    assert number
    arrivals = incoming_of(dapp, doc_id)
    out = f"/documents/{doc_id}"
    in_a, in_b = (f"/documents/incoming/{arrivals[u]}" for u in (dorg.unit_a, dorg.unit_b))
    assert found(dapp, "bm2", number) == sorted([out, in_b])  # countersigned; 桐乡 received
    assert found(dapp, "zg", number) == [in_a]  # 海宁 received; the outgoing is not in his list
    assert found(dapp, "zg2", number) == [in_b]
    assert found(dapp, "sh", "专项检查") == [in_a]
    assert found(dapp, "ld", number) == sorted([out, in_a, in_b])
    for who in EVERYONE:  # every hit of everyone is one the pages let them see (see found)
        found(dapp, who, "通知")
    with dapp.app_context():
        s = dapp.extensions["portal"].db.session()
        inc = s.get(Incoming, arrivals[dorg.unit_a])
        assert inc is not None
        inc.reg_no = "海宁收〔2026〕7号"
        s.commit()
    assert found(dapp, "zg", "海宁收〔2026〕7号") == [in_a]
    assert found(dapp, "zg2", "海宁收〔2026〕7号") == []


def test_the_search_page_lists_documents_under_their_heading(dapp: Flask, dorg: Org) -> None:
    km = Actor(dapp, "km")
    doc_id = km.draft(title="关于报送年度安全生产总结的通知", recipient_units=[dorg.unit_b])
    page = km.client.get("/search", query_string={"q": "安全生产"})
    html = page.get_data(as_text=True)
    assert page.status_code == 200
    assert "Documents" in html and f'href="/documents/{doc_id}"' in html
    assert "【Outgoing】关于报送年度安全生产总结的通知" in html
    other = Actor(dapp, "zg2").client.get("/search", query_string={"q": "安全生产"})
    assert f'/documents/{doc_id}"' not in other.get_data(as_text=True)
