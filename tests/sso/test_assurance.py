"""Assurance levels: certificate-level pages, portlets and actions, and the step-up."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import redis
from flask import Flask

from portal import assurance
from portal.auth import Principal
from portal.config import ConfigError
from portal.portlet import Portlet
from tests.conftest import REDIS_URL, Auth, Runner, make_app, seed_org
from tests.plugins import signing_desk
from tests.sso.conftest import issue_cert, proxy_headers

LAYOUT = """
post: inspector
title: 专管员
pages:
  - id: home
    title: 首页
    windows:
      - {id: seal, portlet: signing_desk, x: 0, y: 0, w: 6, h: 3}
      - {id: desk, portlet: plain_desk, x: 6, y: 0, w: 6, h: 3}
"""


def _app(tmp_path: Path, **extra: Any) -> Flask:
    layouts = tmp_path / "layouts"
    layouts.mkdir(exist_ok=True)
    (layouts / "inspector.yaml").write_text(LAYOUT, encoding="utf-8")
    app = make_app(f"sqlite:///{tmp_path}/portal.db", LAYOUTS_DIR=str(layouts),
                   CERT_TRUSTED_PROXIES=["127.0.0.1"],
                   PLUGINS=[("signing_desk", signing_desk)], **extra)
    seed_org(app)
    assert Runner(app).invoke(["ca", "init"]).exit_code == 0
    return app


@pytest.fixture
def app_(tmp_path: Path) -> Iterator[Flask]:
    app = _app(tmp_path)
    yield app
    app.extensions["portal"].db.engine.dispose()


def step_up(app: Flask, auth: Auth, username: str, next_url: str) -> Any:
    issued = issue_cert(app, person=username)
    return auth.client.get(f"/login/certificate?next={next_url}",
                           headers=proxy_headers(issued.cert_pem),
                           environ_base={"REMOTE_ADDR": "127.0.0.1"})


def principal(**kw: Any) -> Principal:
    return Principal(person_id=1, username="zg", display_name="张", org_unit_id=None, **kw)


def test_levels() -> None:
    assert assurance.level_of(None) is None
    assert assurance.level_of(principal(auth_method="local")) == "password"
    assert assurance.level_of(principal(auth_method="ldap")) == "password"
    assert assurance.level_of(principal(auth_method="certificate")) == "certificate"
    assert assurance.satisfies(principal(auth_method="certificate"), "password")
    assert not assurance.satisfies(principal(auth_method="local"), "certificate")
    assert not assurance.satisfies(None, "password")
    with pytest.raises(ValueError, match="unknown assurance level"):
        assurance.satisfies(principal(), "retina")
    with pytest.raises(ValueError):
        assurance.assurance_required("retina")
    with pytest.raises(ValueError, match="assurance"):
        Portlet(id="odd", title="Odd", render=lambda ctx: "", assurance="retina")


def test_an_action_asks_a_password_session_to_step_up(app_: Flask) -> None:
    auth = Auth(app_.test_client())
    assert auth.client.get("/sign-document").headers["Location"].startswith("/login")
    auth.login("zg")
    asked = auth.client.get("/sign-document?doc=7")
    assert asked.status_code == 403
    html = asked.get_data(as_text=True)
    assert "需要证书登录" in html
    assert 'href="/login/certificate?next=/sign-document?doc%3D7"' in html
    assert auth.client.get("/sign-document", headers={"HX-Request": "true"}).status_code == 403
    back = step_up(app_, auth, "zg", "/sign-document?doc%3D7")
    assert back.headers["Location"] == "/sign-document?doc=7"  # where the person was
    signed = auth.client.post("/sign-document")
    assert signed.status_code == 200 and b"document signed" in signed.data


def test_a_portlet_shows_a_step_up_box_to_a_password_session(app_: Flask) -> None:
    signing_desk.RENDERS["signing_desk"] = 0
    auth = Auth(app_.test_client())
    auth.login("zg")
    html = auth.client.get("/").get_data(as_text=True)
    assert "plain desk for everyone" in html
    assert "documents waiting for the seal" not in html
    assert "需要证书登录" in html
    assert 'href="/login/certificate?next=/"' in html
    assert signing_desk.RENDERS["signing_desk"] == 0  # never rendered for a weaker session
    step_up(app_, auth, "zg", "/")
    html = auth.client.get("/").get_data(as_text=True)
    assert "documents waiting for the seal of zg" in html
    assert "需要证书登录" not in html
    # The fragment the certificate session cached is not shown to a new password session.
    other = Auth(app_.test_client())
    other.login("zg")
    again = other.client.get("/").get_data(as_text=True)
    assert "documents waiting for the seal" not in again and "需要证书登录" in again
    window = other.client.get("/w/inspector.home/seal",
                              headers={"HX-Request": "true",
                                       "HX-Current-URL": "http://localhost/page/inspector.home"})
    assert "documents waiting for the seal" not in window.get_data(as_text=True)
    assert "next=/page/inspector.home" in window.get_data(as_text=True)


def test_admin_pages_need_only_a_password_by_default(app_: Flask) -> None:
    auth = Auth(app_.test_client())
    auth.login("admin")
    assert auth.client.get("/admin/").status_code == 200
    assert auth.client.get("/admin/certificates").status_code == 200


@pytest.mark.parametrize("path", ["/admin/", "/admin/plugins", "/admin/certificates"])
def test_admin_pages_need_a_certificate_in_production(tmp_path: Path, path: str) -> None:
    app = _app(tmp_path, ADMIN_ASSURANCE="certificate")
    auth = Auth(app.test_client())
    auth.login("zg")
    refused = auth.client.get(path)  # not an admin: a plain 403, no invitation to step up
    assert refused.status_code == 403 and "需要证书登录" not in refused.get_data(as_text=True)
    auth.logout()
    auth.login("admin")
    asked = auth.client.get(path)
    assert asked.status_code == 403
    assert "需要证书登录" in asked.get_data(as_text=True)
    assert step_up(app, auth, "admin", path).headers["Location"] == path
    assert auth.client.get(path).status_code == 200


def test_an_unknown_admin_level_fails_at_start_up(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="ADMIN_ASSURANCE"):
        make_app(f"sqlite:///{tmp_path}/p.db", ADMIN_ASSURANCE="retina")


def test_without_certificate_sign_in_the_page_says_so(tmp_path: Path) -> None:
    app = _app(tmp_path, DISABLED_PLUGINS=["sso_cert"])
    auth = Auth(app.test_client())
    auth.login("zg")
    html = auth.client.get("/sign-document").get_data(as_text=True)
    assert "需要证书登录" in html and "本平台未启用证书登录" in html
    assert "证书登录</a>" not in auth.client.get("/login").get_data(as_text=True)


@pytest.mark.redis
@pytest.mark.postgres
def test_step_up_with_production_settings_holds_on_every_node(pg_url: str) -> None:
    """PostgreSQL, sessions in Redis, ADMIN_ASSURANCE=certificate, two web nodes: the step-up
    rotates the session id and the other node sees the certificate-level session."""
    redis.Redis.from_url(REDIS_URL).flushdb()
    settings = {"REDIS_URL": REDIS_URL, "ADMIN_ASSURANCE": "certificate",
                "CERT_TRUSTED_PROXIES": ["127.0.0.1"]}
    node_a = make_app(pg_url, **settings)
    node_b = make_app(pg_url, **settings)
    try:
        seed_org(node_a)
        assert Runner(node_a).invoke(["ca", "init"]).exit_code == 0
        auth = Auth(node_a.test_client())
        auth.login("admin")
        before = auth.client.get_cookie("portal_session").value  # type: ignore[union-attr]
        assert auth.client.get("/admin/").status_code == 403
        assert step_up(node_a, auth, "admin", "/admin/").headers["Location"] == "/admin/"
        after = auth.client.get_cookie("portal_session").value  # type: ignore[union-attr]
        assert after != before
        assert not redis.Redis.from_url(REDIS_URL).exists(f"portal:session:{before}")
        other = node_b.test_client()
        other.set_cookie("portal_session", after)
        assert other.get("/admin/").status_code == 200
    finally:
        for node in (node_a, node_b):
            node.extensions["portal"].db.engine.dispose()
        redis.Redis.from_url(REDIS_URL).flushdb()
