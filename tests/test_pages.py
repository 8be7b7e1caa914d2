"""Sign-in, sessions, the homepage, preferences, error pages, operations endpoints."""

from __future__ import annotations

import re

import pytest
from flask import Flask
from sqlalchemy import select, text

from portal.models import AuditEntry
from portal.models.audit import AuditLogIsAppendOnly
from tests.conftest import Auth, Org, make_app, seed_org


def test_login_required_and_safe_next(client, org) -> None:  # type: ignore[no-untyped-def]
    resp = client.get("/")
    assert resp.status_code == 302 and "/login" in resp.headers["Location"]
    for evil in ("https://evil.example/", "//evil.example/x", "/\\evil", "javascript:alert(1)"):
        r = client.post("/login", data={"username": "zg", "password": "pw-123456",
                                        "next": evil})
        assert r.status_code == 302 and r.headers["Location"] == "/", evil
        client.post("/logout")
    r = client.post("/login", data={"username": "zg", "password": "pw-123456",
                                    "next": "/admin/"})
    assert r.headers["Location"] == "/admin/"


def test_wrong_password_and_empty_password(client, org) -> None:  # type: ignore[no-untyped-def]
    r = client.post("/login", data={"username": "zg", "password": "nope"})
    assert r.status_code == 401 and "用户名或密码错误" in r.get_data(as_text=True)
    r = client.post("/login", data={"username": "zg", "password": ""})
    assert r.status_code == 400
    r = client.post("/login", data={"username": "nobody", "password": "pw-123456"})
    assert r.status_code == 401
    assert client.get("/").status_code == 302


def test_session_id_rotates_at_login_and_cookie_flags(client, org) -> None:  # type: ignore[no-untyped-def]
    client.get("/login")
    client.post("/locale", data={"locale": "en"})  # creates an anonymous session
    before = client.get_cookie("portal_session").value
    resp = client.post("/login", data={"username": "zg", "password": "pw-123456"})
    after = client.get_cookie("portal_session").value
    assert before != after
    cookie = next(h for h in resp.headers.getlist("Set-Cookie") if h.startswith("portal_session"))
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie
    # The old id is gone from the store: replaying it is not signed in.
    client.set_cookie("portal_session", before)
    assert client.get("/").status_code == 302


def test_logout_ends_the_session(client, auth, org) -> None:  # type: ignore[no-untyped-def]
    auth.login("zg")
    sid = client.get_cookie("portal_session").value
    auth.logout()
    client.set_cookie("portal_session", sid)
    assert client.get("/").status_code == 302


def test_csrf_is_enforced(tmp_path) -> None:  # type: ignore[no-untyped-def]
    app = make_app(f"sqlite:///{tmp_path}/p.db", WTF_CSRF_ENABLED=True)
    seed_org(app)
    c = app.test_client()
    r = c.post("/login", data={"username": "zg", "password": "pw-123456"})
    assert r.status_code == 400 and "表单" in r.get_data(as_text=True)
    page = c.get("/login").get_data(as_text=True)
    token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
    r = c.post("/login", data={"username": "zg", "password": "pw-123456",
                               "csrf_token": token})
    assert r.status_code == 302


def test_homepage_in_chinese_and_english(client, auth, org) -> None:  # type: ignore[no-untyped-def]
    auth.login("km")
    html = client.get("/").get_data(as_text=True)
    assert "个人工作平台" in html and "工作通知" in html and 'lang="zh' in html
    client.post("/locale", data={"locale": "en"})
    html = client.get("/").get_data(as_text=True)
    assert "Personal work platform" in html and "Work notices" in html
    assert client.post("/locale", data={"locale": "xx"}).status_code == 400


def test_preferences_validated_and_saved(client, auth, org) -> None:  # type: ignore[no-untyped-def]
    auth.login("km")
    page = client.get("/").get_data(as_text=True)
    key = re.search(r'href="/page/([^"]+)"', page).group(1)
    url = f"/w/{key}/notices/edit"
    assert client.get(url).status_code == 200
    r = client.post(url, data={"limit": "500", "unread_only": "on"})
    assert r.status_code == 400
    body = r.get_data(as_text=True)
    assert "最大为 20" in body
    r = client.post(url, data={"limit": "abc"})
    assert r.status_code == 400
    r = client.post(url, data={"limit": "4", "bogus": "1"})
    assert r.status_code == 400  # unknown field: nothing saved
    r = client.post(url, data={"limit": "4"})
    assert r.status_code == 302
    assert 'value="4"' in client.get(url).get_data(as_text=True)


def test_minimize_and_restore(client, auth, org) -> None:  # type: ignore[no-untyped-def]
    auth.login("km")
    key = re.search(r'href="/page/([^"]+)"', client.get("/").get_data(as_text=True)).group(1)
    client.post(f"/w/{key}/notices/state", data={"state": "minimized"})
    html = client.get("/").get_data(as_text=True)
    assert re.search(r'class="window [^"]*minimized', html)
    assert client.post(f"/w/{key}/notices/state", data={"state": "huge"}).status_code == 400
    client.post(f"/w/{key}/notices/state", data={"state": "normal"})
    assert not re.search(r'class="window [^"]*minimized', client.get("/").get_data(as_text=True))
    r = client.post(f"/w/{key}/notices/state", data={"state": "maximized"})
    assert r.status_code == 302
    assert client.get(r.headers["Location"]).status_code == 200


def test_oversized_request_is_413(tmp_path) -> None:  # type: ignore[no-untyped-def]
    app = make_app(f"sqlite:///{tmp_path}/p.db", MAX_CONTENT_LENGTH=1024)
    seed_org(app)
    c = app.test_client()
    r = c.post("/login", data={"username": "zg", "password": "x" * 5000})
    assert r.status_code == 413
    assert "Traceback" not in r.get_data(as_text=True)


def test_unexpected_errors_show_no_trace(app, client, auth, org) -> None:  # type: ignore[no-untyped-def]
    @app.route("/boom")
    def boom() -> str:
        raise RuntimeError("secret detail")

    app.config["PROPAGATE_EXCEPTIONS"] = False
    r = client.get("/boom")
    assert r.status_code == 500
    body = r.get_data(as_text=True)
    assert "secret detail" not in body and "Traceback" not in body


def test_audit_log_records_and_is_append_only(db_app: Flask) -> None:
    seed_org(db_app)
    auth = Auth(db_app.test_client())
    auth.login("zg", "wrong")
    auth.login("zg")
    with db_app.app_context():
        s = db_app.extensions["portal"].db.session()
        actions = [a for (a,) in s.execute(select(AuditEntry.action).order_by(AuditEntry.id))]
        assert actions == ["login.failed", "login"]
        entry = s.scalars(select(AuditEntry)).first()
        entry.action = "tampered"
        with pytest.raises(AuditLogIsAppendOnly):
            s.flush()
        s.rollback()
        with pytest.raises(Exception, match="append-only"):
            s.execute(text("UPDATE audit_log SET action = 'x'"))
        s.rollback()
        with pytest.raises(Exception, match="append-only"):
            s.execute(text("DELETE FROM audit_log"))
        s.rollback()


def test_healthz_and_metrics(client, auth, org) -> None:  # type: ignore[no-untyped-def]
    data = client.get("/healthz").get_json()
    assert data["status"] == "ok" and data["checks"]["database"]["ok"]
    assert data["checks"]["plugins"]["notices"] == "active"
    auth.login("km")
    client.get("/")
    metrics = client.get("/metrics").get_data(as_text=True)
    assert "portal_request_seconds_bucket" in metrics
    assert 'portal_portlet_render_seconds_count{portlet="notices"}' in metrics


def test_healthz_reports_a_dead_database(tmp_path) -> None:  # type: ignore[no-untyped-def]
    app = make_app(f"sqlite:///{tmp_path}/p.db")
    app.extensions["portal"].db.engine.dispose()
    (tmp_path / "p.db").unlink()
    (tmp_path / "p.db").mkdir()  # a folder where the database was: every connect fails
    r = app.test_client().get("/healthz")
    assert r.status_code == 503 and r.get_json()["checks"]["database"]["ok"] is False


def test_admin_pages(client, auth, org: Org) -> None:  # type: ignore[no-untyped-def]
    auth.login("km")
    assert client.get("/admin/plugins").status_code == 403
    auth.logout()
    auth.login("admin")
    html = client.get("/admin/plugins").get_data(as_text=True)
    assert "notices" in html and "sso_local" in html
    assert "没有" in client.get("/admin/staff").get_data(as_text=True) or \
        "三员" in client.get("/admin/staff").get_data(as_text=True)


def test_admin_page_links_every_plugins_admin_pages(client, auth, org) -> None:  # type: ignore[no-untyped-def]
    auth.login("admin")
    page = client.get("/admin/").get_data(as_text=True)
    for label, url in (("证书", "/admin/certificates"), ("数据交换", "/exchange/"),
                       ("OpenID Connect 客户端", "/admin/oidc/clients")):
        assert label in page and f'href="{url}"' in page, url
    for url in ("/exchange/", "/admin/oidc/clients"):  # and the links lead somewhere
        assert client.get(url).status_code == 200, url
