"""Fixtures of the documents tests: apps on both databases with the company CA and a
department certificate for the drafting unit, the shared test organisation plus a head of
the second county (bm2), and signed-in clients."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from portal.models import OrgUnit, Person, Post, PostAssignment
from portal.toolkit import WorkflowInstance
from portlets.documents.models import Document, Incoming
from sso.ca import service as ca_service
from tests.conftest import PASSWORD, Auth, Org, make_app, seed_org


def _app(url: str, **extra: Any) -> Flask:
    """English pages, so that messages can be asserted (Chinese is the catalogue test's)."""
    extra.setdefault("DEFAULT_LOCALE", "en")
    return make_app(url, **extra)


@pytest.fixture(params=["sqlite", "postgresql"])
def dapp(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Flask]:
    url = f"sqlite:///{tmp_path}/portal.db" if request.param == "sqlite" else \
        request.getfixturevalue("pg_url")
    app = _app(url)
    yield app
    app.extensions["portal"].db.engine.dispose()


def setup_org(app: Flask) -> Org:
    """The shared organisation, bm2 heading the second county, the CA, and a department
    certificate for the first county (the drafters' unit)."""
    org = seed_org(app)
    with app.app_context():
        s = app.extensions["portal"].db.session()
        post = s.query(Post).filter_by(code="dept_head").one()
        p = Person(username="bm2", display_name="郑部长", org_unit_id=org.unit_b,
                   password_hash=s.get(Person, org.people["bm"]).password_hash)  # type: ignore[union-attr]
        s.add(p)
        s.flush()
        s.add(PostAssignment(person_id=p.id, post_id=post.id, org_unit_id=org.unit_b,
                             manages=True))
        org.people["bm2"] = p.id
        ca_service.init_authority(s, "测试 CA", "嘉兴市烟草公司")
        unit = s.get(OrgUnit, org.unit_a)
        assert unit is not None
        ca_service.issue_for_department(s, unit.code)
        s.commit()
    return org


@pytest.fixture
def dorg(dapp: Flask) -> Org:
    return setup_org(dapp)


class Actor:
    """A signed-in test client speaking the documents pages' forms."""

    def __init__(self, app: Flask, username: str) -> None:
        self.app = app
        self.client: FlaskClient = app.test_client()
        response = Auth(self.client).login(username, PASSWORD)
        assert response.status_code == 302, username

    def version(self, instance_id: int) -> int:
        with self.app.app_context():
            inst = self.app.extensions["portal"].db.session().get(WorkflowInstance, instance_id)
            assert inst is not None
            return inst.version

    def draft(self, **fields: Any) -> int:
        data = {"title": "关于开展专项检查的通知", "doc_type": "JY", "category": "通知",
                "retention": "30年", "body": "各单位：\n现将有关事项通知如下。", **fields}
        response = self.client.post("/documents/new", data=data)
        assert response.status_code == 302, response.get_data(as_text=True)[:2000]
        m = re.search(r"/documents/(\d+)$", response.headers["Location"])
        assert m
        return int(m.group(1))

    def act(self, doc_id: int, action: str = "approve", version: int | None = None,
            **extra: Any) -> Any:
        inst = doc_instance(self.app, doc_id)
        return self.client.post(f"/documents/{doc_id}/act", data={
            "action": action, "version": version if version is not None else
            self.version(inst), **extra})

    def act_incoming(self, incoming_id: int, action: str = "approve", **extra: Any) -> Any:
        inst = incoming_instance(self.app, incoming_id)
        return self.client.post(f"/documents/incoming/{incoming_id}/act", data={
            "action": action, "version": self.version(inst), **extra})


def doc(app: Flask, doc_id: int) -> Document:
    with app.app_context():
        s = app.extensions["portal"].db.session()
        found = s.get(Document, doc_id)
        assert found is not None
        s.expunge(found)
        return found


def doc_instance(app: Flask, doc_id: int) -> int:
    instance_id = doc(app, doc_id).instance_id
    assert instance_id is not None
    return instance_id


def incoming_instance(app: Flask, incoming_id: int) -> int:
    with app.app_context():
        inc = app.extensions["portal"].db.session().get(Incoming, incoming_id)
        assert inc is not None and inc.instance_id is not None
        return inc.instance_id


def incoming_of(app: Flask, doc_id: int) -> dict[int, int]:
    """Recipient unit id → incoming record id."""
    with app.app_context():
        s = app.extensions["portal"].db.session()
        return {i.unit_id: i.id for i in s.query(Incoming).filter_by(document_id=doc_id)}
