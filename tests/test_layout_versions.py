"""Published post layout versions: the CLI (import, export), the admin editor's endpoints
(publish, preview, history, rollback, export) and the bad input they refuse."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest
import yaml
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select

from portal.models import LayoutVersion
from tests.conftest import ROOT, Auth, Runner, make_app, seed_org


@pytest.fixture
def layouts(tmp_path: Path) -> Path:
    folder = tmp_path / "layouts"
    shutil.copytree(ROOT / "layouts", folder)
    return folder


@pytest.fixture
def app(tmp_path: Path, layouts: Path) -> Flask:  # type: ignore[override]
    app = make_app(f"sqlite:///{tmp_path}/p.db", LAYOUTS_DIR=str(layouts))
    seed_org(app)
    return app


@pytest.fixture
def admin(app: Flask) -> FlaskClient:
    client = app.test_client()
    Auth(client).login("admin")
    return client


def _versions(app: Flask, post: str = "account_manager") -> list[int]:
    with app.app_context():
        s = app.extensions["portal"].db.session()
        return list(s.scalars(select(LayoutVersion.version).where(LayoutVersion.post == post)
                              .order_by(LayoutVersion.version)))


def _document(client: FlaskClient) -> dict[str, Any]:
    html = client.get("/admin/layouts/account_manager").get_data(as_text=True)
    start = html.index('id="layout-document">') + len('id="layout-document">')
    return json.loads(html[start:html.index("</script>", start)])


def test_import_publishes_changed_files_once_and_export_round_trips(
        app: Flask, layouts: Path, tmp_path: Path) -> None:
    runner = Runner(app)
    result = runner.invoke(["layouts", "import"])
    assert result.exit_code == 0, result.output
    assert "7 published" in result.output
    again = runner.invoke(["layouts", "import"])
    assert "0 published, 7 unchanged" in again.output
    out = tmp_path / "exported"
    result = runner.invoke(["layouts", "export", "--out", str(out)])
    assert result.exit_code == 0, result.output
    exported = yaml.safe_load((out / "account_manager.yaml").read_text(encoding="utf-8"))
    original = yaml.safe_load((layouts / "account_manager.yaml").read_text(encoding="utf-8"))
    assert exported["pages"][0]["windows"][3]["lock"] == original["pages"][0]["windows"][3]["lock"]
    # The export imports as "unchanged": same layout, whatever the spelling.
    result = runner.invoke(["layouts", "import", str(out / "account_manager.yaml")])
    assert "0 published, 1 unchanged" in result.output
    assert runner.invoke(["layouts", "export", "--out", str(out), "--post", "nosuch"]).exit_code


def test_a_bad_file_publishes_nothing_and_names_file_and_line(app: Flask, layouts: Path) -> None:
    bad = layouts / "inspector.yaml"
    bad.write_text(bad.read_text(encoding="utf-8").replace("portlet: todo", "portlet: nosuch"),
                   encoding="utf-8")
    (layouts / "office.yaml").write_text((layouts / "office.yaml").read_text(encoding="utf-8")
                                         + "\n# touched\n", encoding="utf-8")
    result = Runner(app).invoke(["layouts", "import"])
    assert result.exit_code == 1
    assert "inspector.yaml:" in result.output and "unknown portlet 'nosuch'" in result.output
    assert "nothing published" in result.output
    assert _versions(app, "office") == []  # the good file waits for the bad one


def test_publish_history_rollback_and_export(app: Flask, admin: FlaskClient) -> None:
    doc = _document(admin)
    doc["pages"][0]["windows"] = [w for w in doc["pages"][0]["windows"] if w["id"] != "stats"]
    doc["pages"][0]["locked"] = True
    r = admin.post("/admin/layouts/account_manager/publish", json={"document": doc,
                                                                   "note": "去掉客户分布"})
    assert r.status_code == 200, r.data
    assert r.get_json()["version"] == 1
    history = admin.get("/admin/layouts/account_manager/history").get_data(as_text=True)
    assert "去掉客户分布" in history and "移除栏目" in history and "已锁定" in history
    # A user of the post gets the new version at once.
    km = app.test_client()
    Auth(km).login("km")
    assert 'gs-id="stats"' not in km.get("/").get_data(as_text=True)
    # Publish a second version, then roll back to the first: it comes back as version 3.
    doc["pages"][0]["locked"] = False
    assert admin.post("/admin/layouts/account_manager/publish",
                      json={"document": doc}).status_code == 200
    r = admin.post("/admin/layouts/account_manager/rollback/1")
    assert r.status_code == 302
    assert _versions(app) == [1, 2, 3]
    export = admin.get("/admin/layouts/account_manager/export?version=3")
    assert export.status_code == 200 and "attachment" in export.headers["Content-Disposition"]
    assert yaml.safe_load(export.get_data(as_text=True))["pages"][0]["locked"] is True
    assert admin.post("/admin/layouts/account_manager/rollback/99").status_code == 404


@pytest.mark.parametrize("mutate, text", [
    (lambda d: d["pages"][0]["windows"].append(
        {"id": "x", "portlet": "nosuch", "x": 0, "y": 30, "w": 4, "h": 2}), "unknown portlet"),
    (lambda d: d["pages"][0]["windows"].append(
        {"id": "x", "portlet": "today", "x": 10, "y": 30, "w": 4, "h": 2}), "off the grid"),
    (lambda d: d["pages"][0]["windows"].append(
        {"id": "x", "portlet": "today", "x": 0, "y": 0, "w": 4, "h": 2}), "overlaps"),
    (lambda d: d["pages"][0]["windows"].append(
        {"id": "x", "portlet": "today", "x": 0, "y": 30, "w": 12, "h": 2}), "outside what"),
    (lambda d: d.update(post="leader"), "而不是 account_manager"),
])
def test_bad_documents_are_refused_and_nothing_is_published(app: Flask, admin: FlaskClient,
                                                            mutate: Any, text: str) -> None:
    doc = _document(admin)
    mutate(doc)
    r = admin.post("/admin/layouts/account_manager/publish", json={"document": doc})
    assert r.status_code == 400
    body = r.get_json()
    assert text in body.get("error", "") + " ".join(body.get("problems", []))
    assert _versions(app) == []


def test_editor_is_for_admins_only(app: Flask) -> None:
    km = app.test_client()
    Auth(km).login("km")
    assert km.get("/admin/layouts/").status_code == 403
    assert km.post("/admin/layouts/account_manager/publish", json={}).status_code == 403


def test_preview_shows_the_draft_as_a_user_of_the_post(app: Flask, admin: FlaskClient) -> None:
    doc = _document(admin)
    doc["pages"][0]["title"] = "草稿工作台"
    r = admin.post("/admin/layouts/account_manager/preview",
                   data={"document": json.dumps(doc), "page": "home"})
    assert r.status_code == 200
    html = r.get_data(as_text=True)
    assert "草稿工作台" in html and "王经理" in html  # the sample user of the post
    assert "action=\"/layout/" not in html  # no arranging tools in a preview
    with app.app_context():
        s = app.extensions["portal"].db.session()
        assert s.scalar(select(func.count(LayoutVersion.id))) == 0
    assert admin.post("/admin/layouts/account_manager/preview",
                      data={"document": "{not json"}).status_code == 400
