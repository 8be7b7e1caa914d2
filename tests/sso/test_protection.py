"""Protection: CSRF, sign-in throttling, audit of every sign-in event, cookie flags, CSP,
``next`` that stays on the portal."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import redis
from flask import Flask
from sqlalchemy import select

from portal.models import AuditEntry
from tests.conftest import PASSWORD, REDIS_URL, make_app, seed_org


@pytest.fixture
def app(tmp_path: Path) -> Iterator[Flask]:
    app = make_app(f"sqlite:///{tmp_path}/portal.db")
    seed_org(app)
    yield app
    app.extensions["portal"].db.engine.dispose()


def audit_log(app: Flask) -> list[tuple[str, str, dict[str, Any]]]:
    with app.app_context():
        s = app.extensions["portal"].db.session()
        return [(a.action, a.target, a.detail)
                for a in s.scalars(select(AuditEntry).order_by(AuditEntry.id))]


def post_login(client: Any, username: str, password: str, **extra: str) -> Any:
    return client.post("/login", data={"username": username, "password": password, **extra})


# --- CSRF ------------------------------------------------------------------------------------


def test_state_changing_requests_without_a_csrf_token_are_refused(tmp_path: Path) -> None:
    app = make_app(f"sqlite:///{tmp_path}/portal.db", WTF_CSRF_ENABLED=True)
    seed_org(app)
    client = app.test_client()
    for path, form in [("/login", {"username": "km", "password": PASSWORD}),
                       ("/locale", {"locale": "en"}), ("/logout", {}),
                       ("/account/sessions/others", {})]:
        response = client.post(path, data=form)
        assert response.status_code == 400, path
        assert "表单已过期或并非来自本门户" in response.get_data(as_text=True)
    html = client.get("/login").get_data(as_text=True)
    token = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert token is not None
    response = post_login(client, "km", PASSWORD, csrf_token=token.group(1))
    assert response.status_code == 302  # the same form with its token is accepted
    assert ("login", "km", {"backend": "local"}) in audit_log(app)


# --- throttling ------------------------------------------------------------------------------


def test_an_account_is_locked_after_repeated_failures(app: Flask) -> None:
    client = app.test_client()
    limit = app.extensions["portal"].settings["LOGIN_MAX_FAILURES_PER_ACCOUNT"]
    for _ in range(limit - 1):
        assert post_login(client, "km", "wrong").status_code == 401
    response = post_login(client, "km", "wrong")  # the failure that reaches the limit
    assert response.status_code == 429
    locked = post_login(client, "km", PASSWORD)  # even the right password, for now
    assert locked.status_code == 429
    assert "登录尝试过多，请 15 分钟后再试" in locked.get_data(as_text=True)
    assert 0 < int(locked.headers["Retry-After"]) <= 900
    assert post_login(client, "zg", PASSWORD).status_code == 302  # other accounts are fine
    actions = [a for a, _t, _d in audit_log(app)]
    assert actions.count("login.failed") == limit
    assert actions.count("login.lockout") == 1 and actions.count("login.locked") == 1
    lockout = next(d for a, _t, d in audit_log(app) if a == "login.lockout")
    assert lockout["scope"] == "account"


def test_an_address_is_locked_after_failures_on_many_accounts(tmp_path: Path) -> None:
    app = make_app(f"sqlite:///{tmp_path}/portal.db", LOGIN_MAX_FAILURES_PER_ADDRESS=3,
                   LOGIN_MAX_FAILURES_PER_ACCOUNT=100)
    seed_org(app)
    client = app.test_client()
    for name in ("guess1", "guess2"):
        assert post_login(client, name, "x").status_code == 401
    assert post_login(client, "guess3", "x").status_code == 429
    assert post_login(client, "km", PASSWORD).status_code == 429  # from this address
    other = app.test_client()
    response = other.post("/login", data={"username": "km", "password": PASSWORD},
                          environ_base={"REMOTE_ADDR": "10.1.2.3"})
    assert response.status_code == 302


def test_a_successful_sign_in_resets_the_account_counter(app: Flask) -> None:
    client = app.test_client()
    limit = app.extensions["portal"].settings["LOGIN_MAX_FAILURES_PER_ACCOUNT"]
    for _ in range(limit - 1):
        post_login(client, "km", "wrong")
    assert post_login(client, "km", PASSWORD).status_code == 302
    for _ in range(limit - 1):
        assert post_login(app.test_client(), "km", "wrong").status_code == 401


@pytest.mark.redis
def test_with_redis_every_node_shares_the_counters(tmp_path: Path) -> None:
    redis.Redis.from_url(REDIS_URL).flushdb()
    a = make_app(f"sqlite:///{tmp_path}/portal.db", REDIS_URL=REDIS_URL,
                 LOGIN_MAX_FAILURES_PER_ACCOUNT=2)
    seed_org(a)
    b = make_app(f"sqlite:///{tmp_path}/portal.db", REDIS_URL=REDIS_URL,
                 LOGIN_MAX_FAILURES_PER_ACCOUNT=2)
    assert post_login(a.test_client(), "km", "wrong").status_code == 401
    assert post_login(b.test_client(), "km", "wrong").status_code == 429  # counted on a
    assert post_login(a.test_client(), "km", PASSWORD).status_code == 429
    keys = redis.Redis.from_url(REDIS_URL).keys("portal:login-fail:*")
    assert keys and all(0 < redis.Redis.from_url(REDIS_URL).ttl(k) <= 900 for k in keys)


# --- audit of bad input ----------------------------------------------------------------------


def test_every_sign_in_event_is_audited(app: Flask) -> None:
    client = app.test_client()
    post_login(client, "km", "")
    post_login(client, "km", "x" * 201)
    post_login(client, "km", "wrong")
    post_login(client, "km", PASSWORD)
    client.post("/logout")
    assert [(a, d.get("reason")) for a, _t, d in audit_log(app)] == [
        ("login.refused", "empty"), ("login.refused", "too long"),
        ("login.failed", "credentials"), ("login", None), ("logout", None)]


# --- cookies and headers ---------------------------------------------------------------------


def _session_cookie(response: Any) -> str:
    cookie = next(h for h in response.headers.getlist("Set-Cookie")
                  if h.startswith("portal_session="))
    return cookie


def test_the_session_cookie_is_httponly_and_samesite_lax(app: Flask) -> None:
    cookie = _session_cookie(post_login(app.test_client(), "km", PASSWORD))
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie and "Secure" not in cookie


def test_the_session_cookie_is_secure_when_configured_or_over_tls(tmp_path: Path,
                                                                  app: Flask) -> None:
    over_tls = app.test_client().post(
        "/login", data={"username": "km", "password": PASSWORD}, base_url="https://portal.test")
    assert "; Secure" in _session_cookie(over_tls)
    configured = make_app(f"sqlite:///{tmp_path}/portal.db", SESSION_COOKIE_SECURE=True)
    assert "; Secure" in _session_cookie(post_login(configured.test_client(), "km", PASSWORD))


def test_every_response_has_a_content_security_policy(app: Flask, tmp_path: Path) -> None:
    client = app.test_client()
    for path in ("/login", "/static/css/portal.css", "/no-such-page"):
        response = client.get(path)
        response.close()  # a static file is streamed
        policy = response.headers.get("Content-Security-Policy", "")
        assert "default-src 'self'" in policy and "object-src 'none'" in policy, path
        assert "frame-ancestors 'self'" in policy
    post_login(client, "km", PASSWORD)
    assert "script-src 'self'" in client.get("/").headers["Content-Security-Policy"]
    off = make_app(f"sqlite:///{tmp_path}/off.db", CONTENT_SECURITY_POLICY="")
    assert "Content-Security-Policy" not in off.test_client().get("/login").headers


# --- next ------------------------------------------------------------------------------------

EVIL_NEXT = ["//evil.example/", "https://evil.example/", "http:evil.example", "/\\evil.example",
             "\\\\evil.example", "/\t/evil.example", "/\n/evil.example", "javascript:alert(1)",
             "evil.example", " //evil.example", "/%0a/evil", "https:/evil.example",
             "data:text/html,x", "\x00//evil.example"]


@pytest.mark.parametrize("target", EVIL_NEXT)
def test_next_never_leaves_the_portal(app: Flask, target: str) -> None:
    response = post_login(app.test_client(), "km", PASSWORD, next=target)
    assert response.status_code == 302
    location = response.headers["Location"]
    if target == "/%0a/evil":  # a path on this portal, percent-encoded: harmless
        assert location == target
        return
    assert location == "/"
    assert any(a == "login.next_refused" for a, _t, _d in audit_log(app))


def test_a_next_on_the_portal_is_followed(app: Flask) -> None:
    response = post_login(app.test_client(), "km", PASSWORD, next="/account/sessions?x=1")
    assert response.headers["Location"] == "/account/sessions?x=1"
    signed_in = app.test_client()
    post_login(signed_in, "km", PASSWORD)
    assert signed_in.get("/login?next=//evil.example").headers["Location"] == "/"
