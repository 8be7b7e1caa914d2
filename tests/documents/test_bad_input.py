"""Refusals: out of turn, a document one may not see, a stale version, a duplicate number,
no certificate to seal with, invalid drafts. Each answers a clear status and saves nothing."""

from __future__ import annotations

import io

from flask import Flask

from portal.models import OrgUnit
from portlets.documents.models import Document, NumberCounter
from tests.conftest import Org
from tests.documents.conftest import Actor, doc, doc_instance


def test_acting_out_of_turn_is_403(dapp: Flask, dorg: Org) -> None:
    km, bg = Actor(dapp, "km"), Actor(dapp, "bg")
    doc_id = km.draft(recipient_units=[dorg.unit_b])
    km.act(doc_id)
    response = bg.act(doc_id)  # the office may see it, but it is the dept head's turn
    assert response.status_code == 403
    assert "not your turn" in response.get_data(as_text=True)
    assert doc(dapp, doc_id).stage == "dept_review"


def test_a_document_one_may_not_see_is_403_and_a_missing_one_404(dapp: Flask,
                                                                 dorg: Org) -> None:
    km, zg2 = Actor(dapp, "km"), Actor(dapp, "zg2")
    doc_id = km.draft(recipient_units=[dorg.unit_b])
    assert zg2.client.get(f"/documents/{doc_id}").status_code == 403
    assert zg2.act(doc_id).status_code == 403
    assert zg2.client.get("/documents/99999").status_code == 404
    assert zg2.client.get("/documents/incoming/99999").status_code == 404
    listing = zg2.client.get("/documents/?tab=outgoing").get_data(as_text=True)
    assert f"/documents/{doc_id}" not in listing


def test_a_stale_version_is_409_and_changes_nothing(dapp: Flask, dorg: Org) -> None:
    km, bm = Actor(dapp, "km"), Actor(dapp, "bm")
    doc_id = km.draft(recipient_units=[dorg.unit_b])
    old = bm.version(doc_instance(dapp, doc_id))
    km.act(doc_id)
    response = bm.act(doc_id, version=old)
    assert response.status_code == 409
    assert "reload the page" in response.get_data(as_text=True)
    assert doc(dapp, doc_id).stage == "dept_review"


def _to_numbering(app: Flask, org: Org) -> tuple[int, Actor]:
    people = {u: Actor(app, u) for u in ("km", "bm", "bg", "ld")}
    doc_id = people["km"].draft(recipient_units=[org.unit_b])
    for u in ("km", "bm", "bg", "ld", "bg"):
        assert people[u].act(doc_id).status_code == 302, u
    assert doc(app, doc_id).stage == "numbering"
    return doc_id, people["bg"]


def test_numbers_are_gap_free_and_a_duplicate_is_409(dapp: Flask, dorg: Org) -> None:
    first, bg = _to_numbering(dapp, dorg)
    second, _ = _to_numbering(dapp, dorg)
    assert bg.act(first).status_code == 302
    assert bg.act(second).status_code == 302
    n1, n2 = doc(dapp, first), doc(dapp, second)
    assert (n1.seq, n2.seq) == (1, 2) and n2.number == f"嘉烟〔{n2.year}〕2号"
    third, _ = _to_numbering(dapp, dorg)
    with dapp.app_context():  # a counter set back (a restored backup...) would repeat 2
        s = dapp.extensions["portal"].db.session()
        s.get(NumberCounter, ("JY", n2.year)).last = 1  # type: ignore[union-attr]
        s.commit()
    response = bg.act(third)
    assert response.status_code == 409
    assert "already taken" in response.get_data(as_text=True)
    d3 = doc(dapp, third)
    assert (d3.number, d3.seq, d3.stage) == (None, None, "numbering")  # nothing half-saved
    with dapp.app_context():
        s = dapp.extensions["portal"].db.session()
        assert s.get(NumberCounter, ("JY", n2.year)).last == 1  # type: ignore[union-attr]


def test_sealing_without_a_certificate_is_409(dapp: Flask, dorg: Org) -> None:
    """zg2's county has no department certificate: the seal step refuses, clearly."""
    people = {u: Actor(dapp, u) for u in ("zg2", "bm2", "bg", "ld")}
    doc_id = people["zg2"].draft(recipient_units=[dorg.unit_a])
    for u in ("zg2", "bm2", "bg", "ld", "bg", "bg"):
        assert people[u].act(doc_id).status_code == 302, u
    response = people["bg"].act(doc_id)
    assert response.status_code == 409
    with dapp.app_context():
        code = dapp.extensions["portal"].db.session().get(OrgUnit, dorg.unit_b).code  # type: ignore[union-attr]
    assert f"portal ca issue --department {code}" in response.get_data(as_text=True)
    d = doc(dapp, doc_id)
    assert d.stage == "seal" and d.signature is None


def test_invalid_drafts_are_refused_field_by_field(dapp: Flask, dorg: Org) -> None:
    km = Actor(dapp, "km")
    response = km.client.post("/documents/new", data={
        "title": "", "doc_type": "XX", "category": "诗歌", "retention": "1天", "body": "",
        "recipient_units": ["999999"]})
    assert response.status_code == 422
    text = response.get_data(as_text=True)
    for message in ("Give a title", "Write the text", "Choose a document type",
                    "Choose a category", "Choose a retention period",
                    "Choose at least one recipient unit"):
        assert message in text
    with dapp.app_context():
        assert dapp.extensions["portal"].db.session().query(Document).count() == 0


def test_only_the_drafter_edits_and_only_while_a_draft(dapp: Flask, dorg: Org) -> None:
    km, bm = Actor(dapp, "km"), Actor(dapp, "bm")
    doc_id = km.draft(recipient_units=[dorg.unit_b])
    version = km.version(doc_instance(dapp, doc_id))
    form = {"title": "新标题", "doc_type": "JY", "category": "通知", "retention": "30年",
            "body": "正文", "recipient_units": [dorg.unit_b], "version": version}
    assert bm.client.post(f"/documents/{doc_id}/edit", data=form).status_code == 403
    assert km.client.post(f"/documents/{doc_id}/edit", data=form).status_code == 302
    assert doc(dapp, doc_id).title == "新标题"
    km.act(doc_id)
    form["version"] = km.version(doc_instance(dapp, doc_id))
    assert km.client.post(f"/documents/{doc_id}/edit", data=form).status_code == 403


def test_verification_needs_a_file(dapp: Flask, dorg: Org) -> None:
    km = Actor(dapp, "km")
    response = km.client.post("/documents/verify", data={
        "file": (io.BytesIO(b"x"), "a.txt")}, content_type="multipart/form-data")
    assert response.status_code == 400
