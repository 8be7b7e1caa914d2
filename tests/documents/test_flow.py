"""One outgoing document through every step over HTTP, with the right people, on both
databases: number, seal, dispatch to two units, 收文 in one of them, the archive event."""

from __future__ import annotations

from flask import Flask
from sqlalchemy import select

from portal.models import OutboxEvent
from portal.toolkit import verify_signature
from tests.conftest import Org
from tests.documents.conftest import Actor, doc, incoming_of


def run_to_dispatch(app: Flask, org: Org) -> tuple[int, dict[str, Actor]]:
    """km drafts with a countersign by the second county; returns after 核发."""
    people = {u: Actor(app, u) for u in ("km", "bm", "bg", "bm2", "ld")}
    doc_id = people["km"].draft(countersign_units=[org.unit_b],
                                recipient_units=[org.unit_a, org.unit_b])
    expected = [("km", "dept_review"), ("bm", "office_check"), ("bg", "countersign"),
                ("bm2", "sign_off"), ("ld", "recheck"), ("bg", "numbering"), ("bg", "seal"),
                ("bg", "dispatch"), ("bg", "archive")]
    for username, stage_after in expected:
        response = people[username].act(doc_id)
        assert response.status_code == 302, (username, response.get_data(as_text=True)[:3000])
        assert doc(app, doc_id).stage == stage_after, username
    return doc_id, people


def test_outgoing_document_passes_every_step(dapp: Flask, dorg: Org) -> None:
    doc_id, people = run_to_dispatch(dapp, dorg)
    d = doc(dapp, doc_id)
    assert d.number and d.number.startswith("嘉烟〔") and d.number.endswith("〕1号")
    assert d.signature and d.sealed_file and d.number.encode() in d.sealed_file
    with dapp.app_context():
        s = dapp.extensions["portal"].db.session()
        info = verify_signature(s, d.signature, d.sealed_file)
        assert info.unit_id == dorg.unit_a
    # arrived in both recipient units' incoming lists
    arrivals = incoming_of(dapp, doc_id)
    assert set(arrivals) == {dorg.unit_a, dorg.unit_b}
    page = people["bm2"].client.get("/documents/?tab=incoming").get_data(as_text=True)
    assert f"/documents/incoming/{arrivals[dorg.unit_b]}" in page
    assert f"/documents/incoming/{arrivals[dorg.unit_a]}" not in page
    assert people["bg"].act(doc_id).status_code == 302  # 归档
    assert doc(dapp, doc_id).stage == "archived"
    with dapp.app_context():
        s = dapp.extensions["portal"].db.session()
        (event,) = s.scalars(select(OutboxEvent).where(
            OutboxEvent.type == "document.archived")).all()
        p = event.payload
        assert p["source"] == "documents" and p["number"] == d.number
        assert p["retention"] == "30年" and p["issuing_unit_id"] == dorg.unit_a
        assert set(p["allowed_unit_ids"]) == {dorg.unit_a, dorg.unit_b}
        assert p["url"] == f"/documents/{doc_id}" and "现将有关事项" in p["body"]


def test_incoming_flow_with_circulation_and_reading(dapp: Flask, dorg: Org) -> None:
    doc_id, people = run_to_dispatch(dapp, dorg)
    inc = incoming_of(dapp, doc_id)[dorg.unit_a]
    bm, ld, km = people["bm"], people["ld"], people["km"]
    listing = bm.client.get("/documents/?tab=incoming").get_data(as_text=True)
    assert 'class="unread"' in listing  # not opened yet: bold
    assert bm.client.get(f"/documents/incoming/{inc}").status_code == 200
    listing = bm.client.get("/documents/?tab=incoming").get_data(as_text=True)
    assert 'class="unread"' not in listing
    for _step in ("receive", "register", "propose"):
        assert bm.act_incoming(inc).status_code == 302
    # 批办 must name a handler of the unit
    refused = ld.act_incoming(inc, handler_id=dorg.people["bg"])
    assert refused.status_code == 422 and "Choose the handler" in refused.get_data(as_text=True)
    assert ld.act_incoming(inc, handler_id=dorg.people["km"]).status_code == 302
    readers = [dorg.people["zg"], dorg.people["sh"]]
    assert km.act_incoming(inc, readers=readers).status_code == 302
    zg, sh = Actor(dapp, "zg"), Actor(dapp, "sh")
    assert zg.client.get(f"/documents/incoming/{inc}").status_code == 200
    assert zg.act_incoming(inc).status_code == 302
    page = bm.client.get(f"/documents/incoming/{inc}").get_data(as_text=True)
    assert page.count("not yet") == 2  # sh neither opened nor confirmed
    assert sh.act_incoming(inc).status_code == 302
    assert bm.act_incoming(inc).status_code == 302  # 办结
    page = bm.client.get(f"/documents/incoming/{inc}").get_data(as_text=True)
    assert "Closed" in page


def test_return_and_withdraw(dapp: Flask, dorg: Org) -> None:
    km, bm = Actor(dapp, "km"), Actor(dapp, "bm")
    doc_id = km.draft(recipient_units=[dorg.unit_b])
    assert km.act(doc_id).status_code == 302
    inst = doc(dapp, doc_id).instance_id
    assert inst is not None
    assert km.client.post(f"/documents/{doc_id}/withdraw",
                          data={"version": km.version(inst)}).status_code == 302
    assert doc(dapp, doc_id).stage == "draft"
    assert km.act(doc_id).status_code == 302
    assert bm.act(doc_id, "reject", comment="请修改").status_code == 302
    assert doc(dapp, doc_id).stage == "draft"
    page = km.client.get(f"/documents/{doc_id}").get_data(as_text=True)
    assert "请修改" in page and "Edit the draft" in page
