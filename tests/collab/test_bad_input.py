"""Bad input answers 400 / 403 / 404 / 409 / 413 with a clear message, and saves nothing."""

from __future__ import annotations

from pathlib import Path

import pytest
from flask import Flask
from sqlalchemy import func, select

from portlets.collab.models import Attachment, WorkItem, WorkStep
from tests.collab.conftest import Actor, item_id_of
from tests.conftest import Org


def _counts(app: Flask, tmp_path: Path) -> tuple[int, int, int, int]:
    with app.app_context():
        s = app.extensions["portal"].db.session()
        files = [p for p in (tmp_path / "files").rglob("*") if p.is_file()]
        return (s.scalar(select(func.count()).select_from(WorkItem)) or 0,
                s.scalar(select(func.count()).select_from(WorkStep)) or 0,
                s.scalar(select(func.count()).select_from(Attachment)) or 0, len(files))


@pytest.mark.parametrize("fields, status, message", [
    ({"subject": ""}, 400, "Enter a subject"),
    ({"type_code": "nonsense"}, 400, "Choose a type"),
    ({"target": ""}, 400, "Choose the next handler"),
    ({"target": "person:99999"}, 400, "not a member of the organisation"),
    ({"target": "unit:99999"}, 400, "not a member of the organisation"),
    ({"target": "staff:deliveryman"}, 400, "Choose the related customer first"),
    ({"customer": "999999999999", "target": "staff:deliveryman"}, 400, "Unknown customer"),
    ({"target": "person:SELF"}, 400, "yourself"),
])
def test_bad_fields(capp: Flask, corg: Org, tmp_path: Path, fields: dict[str, str],
                    status: int, message: str) -> None:
    if fields.get("target") == "person:SELF":
        fields = {**fields, "target": f"person:{corg.people['zg']}"}
    zg = Actor(capp, "zg")
    fields.setdefault("target", f"person:{corg.people['km']}")
    response = zg.create(files=[(b"%PDF-1.4", "ok.pdf")], **fields)
    assert response.status_code == status
    assert message in response.get_data(as_text=True)
    assert _counts(capp, tmp_path) == (0, 0, 0, 0)


def test_handler_without_org_unit_is_outside_the_org(capp: Flask, corg: Org,
                                                      tmp_path: Path) -> None:
    from portal.models import Person

    with capp.app_context():
        s = capp.extensions["portal"].db.session()
        s.add(Person(username="ext", display_name="外部人员", org_unit_id=None))
        s.commit()
        ext = s.scalar(select(Person.id).where(Person.username == "ext"))
    response = Actor(capp, "zg").create(target=f"person:{ext}")
    assert response.status_code == 400
    assert "not a member of the organisation" in response.get_data(as_text=True)


def test_attachment_too_large_is_413_and_nothing_is_kept(capp: Flask, corg: Org,
                                                         tmp_path: Path) -> None:
    capp.extensions["portal"].settings["COLLAB_MAX_ATTACHMENT_BYTES"] = 1000
    response = Actor(capp, "zg").create(target=f"person:{corg.people['km']}",
                                        files=[(b"%PDF", "small.pdf"), (b"x" * 1001, "big.pdf")])
    assert response.status_code == 413
    assert "big.pdf" in response.get_data(as_text=True)
    assert _counts(capp, tmp_path) == (0, 0, 0, 0)


def test_forbidden_type_is_400(capp: Flask, corg: Org, tmp_path: Path) -> None:
    response = Actor(capp, "zg").create(target=f"person:{corg.people['km']}",
                                        files=[(b"MZ...", "tool.exe")])
    assert response.status_code == 400
    assert "not allowed" in response.get_data(as_text=True)
    assert _counts(capp, tmp_path) == (0, 0, 0, 0)


def test_failed_action_keeps_no_file(capp: Flask, corg: Org, tmp_path: Path) -> None:
    zg, km = Actor(capp, "zg"), Actor(capp, "km")
    item_id = item_id_of(zg.create(target=f"person:{corg.people['km']}"))
    before = _counts(capp, tmp_path)
    # Forward without a comment: refused after the files were read, none is stored.
    response = km.act(item_id, "forward", target=f"person:{corg.people['sh']}", comment="",
                      files=[(b"notes", "a.txt")])
    assert response.status_code == 400
    assert _counts(capp, tmp_path) == before


def test_stale_version_is_409(capp: Flask, corg: Org) -> None:
    zg, km = Actor(capp, "zg"), Actor(capp, "km")
    item_id = item_id_of(zg.create(target=f"person:{corg.people['km']}"))
    old = km.version(item_id)
    assert km.act(item_id, "accept", version=old).status_code == 302
    response = km.act(item_id, "finish", version=old, result="x")
    assert response.status_code == 409
    assert "in the meantime" in response.get_data(as_text=True)


def test_unknown_and_invisible_items(capp: Flask, corg: Org) -> None:
    zg = Actor(capp, "zg")
    assert zg.client.get("/collab/items/424242").status_code == 404
    assert zg.act(424242, "accept", version=1).status_code == 404
    assert zg.client.post("/collab/items/1/fly", data={"version": "1"}).status_code in (404,)
    assert zg.client.get("/collab/?box=secret").status_code == 400
    assert zg.client.get("/collab/query?from=yesterday").status_code == 400
    assert zg.client.get("/collab/query.pdf").status_code == 404


def test_json_clients_get_json_errors(capp: Flask, corg: Org) -> None:
    zg, sh = Actor(capp, "zg"), Actor(capp, "sh")
    item_id = item_id_of(zg.create(target=f"person:{corg.people['km']}"))
    zg2 = Actor(capp, "zg2")
    response = zg2.client.get(f"/collab/items/{item_id}", headers={"Accept": "application/json"})
    assert response.status_code == 403
    assert response.get_json()["error"] == "You are not involved in this work item."
    assert sh.client.get(f"/collab/items/{item_id}").status_code == 403
