"""Sign-in through an upstream OpenID Connect provider, end to end: a second portal is the
provider (a real server with its own sso/oidc), no part of the protocol is mocked."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
from flask import Flask
from joserfc import jwt
from sqlalchemy import select

from portal.models import AuditEntry, Person
from sso.upstream import providers
from sso.upstream.tokens import InvalidIdToken, flatten, validate_id_token
from tests.conftest import PASSWORD, make_app, seed_org
from tests.sso.upstream_support import (
    Pair,
    callback_url,
    move_person,
    sign_in,
    start_pair,
)


@pytest.fixture
def closer() -> Iterator[Callable[[Callable[[], None]], None]]:
    done: list[Callable[[], None]] = []
    yield done.append
    for close in reversed(done):
        close()


@pytest.fixture(params=["sqlite", "postgresql"])
def pair(request: pytest.FixtureRequest, tmp_path: Path, closer: Any) -> Pair:
    url = (f"sqlite:///{tmp_path}/rp.db" if request.param == "sqlite"
           else request.getfixturevalue("pg_url"))
    return start_pair(tmp_path, url, closer)


@pytest.fixture
def sqlite_pair(tmp_path: Path, closer: Any) -> Pair:
    return start_pair(tmp_path, f"sqlite:///{tmp_path}/rp.db", closer)


def person(app: Flask, username: str) -> dict[str, Any] | None:
    with app.app_context():
        s = app.extensions["portal"].db.session()
        p = s.scalars(select(Person).where(Person.username == username)).first()
        if p is None:
            return None
        return {"name": p.display_name, "unit": p.org_unit.code if p.org_unit else None,
                "email": p.email, "password": p.password_hash,
                "posts": sorted((a.post.code, a.manages) for a in p.assignments)}


def audits(app: Flask, action: str) -> list[AuditEntry]:
    with app.app_context():
        s = app.extensions["portal"].db.session()
        rows = list(s.scalars(select(AuditEntry).where(AuditEntry.action == action)
                              .order_by(AuditEntry.id)))
        s.expunge_all()
        return rows


def test_first_sign_in_provisions_and_the_next_updates(pair: Pair) -> None:
    assert person(pair.rp, "xw") is None
    http = requests.Session()
    r = sign_in(pair, http, "xw", next_url="/?from=upstream")
    assert r.status_code == 200 and r.url == pair.rp_url + "/?from=upstream"
    assert "徐新" in r.text
    assert person(pair.rp, "xw") == {"name": "徐新", "unit": "TX", "email": "xw@jxyc.example",
                                     "password": None,
                                     "posts": [("account_manager", False)]}
    assert [a.target for a in audits(pair.rp, "person.provisioned")] == ["xw"]
    assert [a.target for a in audits(pair.rp, "upstream.login")] == ["xw"]
    assert [a.target for a in audits(pair.rp, "login")] == ["xw"]

    # At the provider, xw is promoted and moves to 海宁; the next sign-in brings it.
    move_person(pair.idp, "xw", "徐新(部长)", "HN", "dept_head")
    r = sign_in(pair, requests.Session(), "xw")
    assert r.status_code == 200 and r.url == pair.rp_url + "/"
    assert person(pair.rp, "xw") == {"name": "徐新(部长)", "unit": "HN",
                                     "email": "xw@jxyc.example", "password": None,
                                     "posts": [("dept_head", True)]}
    assert len(audits(pair.rp, "person.provisioned")) == 1
    assert [a.detail.get("outcome") for a in audits(pair.rp, "upstream.login")] == \
        ["created", "updated"]


def test_unsafe_next_is_dropped(sqlite_pair: Pair) -> None:
    r = sign_in(sqlite_pair, requests.Session(), "zg", next_url="//evil.example/x")
    assert r.url == sqlite_pair.rp_url + "/"


def test_unknown_person_refused_when_provisioning_is_off(tmp_path: Path, closer: Any) -> None:
    pair = start_pair(tmp_path, f"sqlite:///{tmp_path}/rp.db", closer, provision=False)
    r = sign_in(pair, requests.Session(), "xw")
    assert r.status_code == 403
    assert "您尚未在平台注册" in r.text
    assert person(pair.rp, "xw") is None
    assert [a.detail["reason"] for a in audits(pair.rp, "upstream.refused")] == \
        ["not_registered"]
    # Someone the portal knows still signs in (and is kept up to date).
    r = sign_in(pair, requests.Session(), "zg")
    assert r.status_code == 200 and r.url == pair.rp_url + "/"


def test_bad_state_and_replayed_callback_are_refused(sqlite_pair: Pair) -> None:
    pair, http = sqlite_pair, requests.Session()
    url = callback_url(pair, http, "zg")
    forged = url.replace("state=", "state=x")
    r = http.get(forged, allow_redirects=False, timeout=10)
    assert r.status_code == 400 and "已失效或已使用" in r.text
    # The forged attempt consumed nothing: the real callback still signs in, once.
    r = http.get(url, allow_redirects=False, timeout=10)
    assert r.status_code == 302 and r.headers["Location"] == "/"
    r = http.get(url, allow_redirects=False, timeout=10)
    assert r.status_code == 400
    reasons = [a.detail["reason"] for a in audits(pair.rp, "upstream.refused")]
    assert reasons == ["state", "state"]
    # Another browser cannot use this browser's callback either.
    url = callback_url(pair, requests.Session(), "zg")
    r = requests.get(url, allow_redirects=False, timeout=10)
    assert r.status_code == 400


def test_upstream_down_gives_a_clean_error_and_the_password_form_works(
        tmp_path: Path) -> None:
    path = tmp_path / "up.yaml"
    path.write_text("providers:\n  province:\n    label: 使用省局统一身份登录\n"
                    "    issuer: http://127.0.0.1:9/realms/x\n    client_id: portal\n",
                    encoding="utf-8")
    app = make_app(f"sqlite:///{tmp_path}/rp.db", UPSTREAM_OIDC_PROVIDERS=str(path),
                   UPSTREAM_OIDC_TIMEOUT=2.0)
    seed_org(app)
    client = app.test_client()
    page = client.get("/login").get_data(as_text=True)
    assert "使用省局统一身份登录" in page and 'href="/login/upstream/province"' in page
    r = client.get("/login/upstream/province")
    assert r.status_code == 503
    assert "暂时无法连接身份认证平台" in r.get_data(as_text=True)
    assert client.get("/login/upstream/nope").status_code == 404
    app.extensions["portal"].settings["UPSTREAM_OIDC_BASE_URL"] = "https://portal.example/"
    with app.test_request_context("/"):
        from sso.upstream.views import _public_url

        assert _public_url("upstream.callback", name="province") == \
            "https://portal.example/login/upstream/province/callback"
    r = client.post("/login", data={"username": "zg", "password": PASSWORD})
    assert r.status_code == 302
    with app.app_context():
        s = app.extensions["portal"].db.session()
        assert s.scalars(select(AuditEntry.detail).where(
            AuditEntry.action == "upstream.refused")).one()["reason"] == "unavailable"
    app.extensions["portal"].db.engine.dispose()


def test_sign_out_ends_the_upstream_session_too(sqlite_pair: Pair) -> None:
    pair, http = sqlite_pair, requests.Session()
    sign_in(pair, http, "zg")
    r = http.post(pair.rp_url + "/logout", allow_redirects=False, timeout=10)
    assert r.status_code == 302
    assert r.headers["Location"].startswith(pair.idp_url + "/oidc/logout?id_token_hint=")
    r = http.get(r.headers["Location"], timeout=10)
    assert r.url == pair.rp_url + "/login"
    # Both sessions ended: the relying party and the provider ask for a password again.
    assert http.get(pair.rp_url + "/", timeout=10).url.startswith(pair.rp_url + "/login")
    assert http.get(pair.idp_url + "/", timeout=10).url.startswith(pair.idp_url + "/login")


def test_provider_errors_in_the_callback(sqlite_pair: Pair) -> None:
    """The provider says no (error=), the code is not the one it issued, the provider goes
    down between the password form and the callback: each a page, nobody signed in."""
    pair = sqlite_pair
    http = requests.Session()
    url = callback_url(pair, http, "zg")
    r = http.get(url.replace("code=", "error=access_denied&x="), timeout=10)
    assert r.status_code == 403 and "未完成您的登录" in r.text
    url = callback_url(pair, http := requests.Session(), "zg")
    r = http.get(url.replace("code=", "code=forged"), timeout=10)
    assert r.status_code == 502 and "拒绝完成本次登录" in r.text
    url = callback_url(pair, http := requests.Session(), "zg")
    pair.idp_server.close()  # the provider goes down; the relying party keeps running
    r = http.get(url, timeout=30)
    assert r.status_code == 503 and "暂时无法连接身份认证平台" in r.text
    assert [a.detail["reason"] for a in audits(pair.rp, "upstream.refused")] == \
        ["denied", "code", "unavailable"]
    assert audits(pair.rp, "login") == []


def test_a_broken_providers_file_leaves_the_plugin_out(tmp_path: Path) -> None:
    path = tmp_path / "up.yaml"
    path.write_text("providers:\n  province:\n    issuer: https://x\n", encoding="utf-8")
    app = make_app(f"sqlite:///{tmp_path}/rp.db", UPSTREAM_OIDC_PROVIDERS=str(path))
    assert "sso_upstream" in app.extensions["portal"].plugins.broken()
    client = app.test_client()
    assert client.get("/login").status_code == 200
    assert "/login/upstream/" not in client.get("/login").get_data(as_text=True)
    assert client.get("/login/upstream/province").status_code == 404
    app.extensions["portal"].db.engine.dispose()


@pytest.mark.parametrize(("mode", "reason", "message"), [
    ("payload", "signature", "签名无效"),
    ("audience", "audience", "签发给其他应用"),
    ("expired", "expired", "已过期"),
    ("nonce", "nonce", "不属于本次登录"),
])
def test_a_tampered_or_wrong_id_token_signs_nobody_in(sqlite_pair: Pair, mode: str,
                                                      reason: str, message: str) -> None:
    pair, http = sqlite_pair, requests.Session()
    pair.tamper.mode = mode
    r = sign_in(pair, http, "xw")
    assert r.status_code == 401 and message in r.text
    assert person(pair.rp, "xw") is None and person(pair.rp, "admin") is not None
    assert http.get(pair.rp_url + "/", timeout=10).url.startswith(pair.rp_url + "/login")
    assert [a.detail["reason"] for a in audits(pair.rp, "upstream.refused")] == [reason]
    assert audits(pair.rp, "login") == []


# --- the ID token checks, with the provider's real keys ---------------------------------------


@pytest.fixture
def signer(sqlite_pair: Pair) -> Callable[..., str]:
    """Signs claims with the provider's active key (as if the provider itself had)."""
    from sso.oidc import keys

    def sign(claims: dict[str, Any]) -> str:
        with sqlite_pair.idp.test_request_context():
            key = keys.active_key(sqlite_pair.idp.extensions["portal"].db.session())
            return jwt.encode({"alg": "RS256", "kid": key.kid}, claims, key)

    return sign


def _check(pair: Pair, raw: str, nonce: str = "n-1") -> dict[str, Any]:
    http = requests.Session()

    def fetch(force: bool) -> dict[str, Any]:
        return dict(http.get(pair.idp_url + "/oidc/jwks", timeout=10).json())

    return validate_id_token(raw, issuer=pair.idp_url, client_id="portal-rp", nonce=nonce,
                             keys=fetch)


def _claims(pair: Pair, **changes: Any) -> dict[str, Any]:
    now = int(time.time())
    claims = {"iss": pair.idp_url, "sub": "7", "aud": "portal-rp", "iat": now,
              "exp": now + 300, "nonce": "n-1", "preferred_username": "zg"}
    claims.update(changes)
    return {k: v for k, v in claims.items() if v is not None}


@pytest.mark.parametrize(("changes", "reason"), [
    ({"aud": "another-app"}, "audience"),
    ({"aud": ["portal-rp", "another-app"]}, "audience"),
    ({"exp": int(time.time()) - 3600, "iat": int(time.time()) - 4000}, "expired"),
    ({"nonce": "n-2"}, "nonce"),
    ({"nonce": None}, "nonce"),
    ({"iss": "http://evil.example"}, "issuer"),
])
def test_id_token_refused(sqlite_pair: Pair, signer: Callable[..., str],
                          changes: dict[str, Any], reason: str) -> None:
    with pytest.raises(InvalidIdToken) as caught:
        _check(sqlite_pair, signer(_claims(sqlite_pair, **changes)))
    assert caught.value.reason == reason


def test_id_token_signature_checked(sqlite_pair: Pair, signer: Callable[..., str]) -> None:
    good = signer(_claims(sqlite_pair))
    assert _check(sqlite_pair, good)["preferred_username"] == "zg"
    header, _payload, signature = good.split(".")
    forged_payload = jwt.encode({"alg": "RS256"}, _claims(sqlite_pair, sub="1"),
                                _other_key()).split(".")[1]
    for tampered, reason in [(f"{header}.{forged_payload}.{signature}", "signature"),
                             (jwt.encode({"alg": "RS256"}, _claims(sqlite_pair), _other_key()),
                              "signature"),
                             (jwt.encode({"alg": "HS256"}, _claims(sqlite_pair), _oct_key()),
                              "malformed"),
                             ("not-a-token", "malformed")]:
        with pytest.raises(InvalidIdToken) as caught:
            _check(sqlite_pair, tampered)
        assert caught.value.reason == reason, tampered


def _other_key() -> Any:
    from joserfc.jwk import RSAKey

    return RSAKey.generate_key(2048, private=True)


def _oct_key() -> Any:
    from joserfc.jwk import OctKey

    return OctKey.generate_key(256)


def test_claims_flattened_for_the_rules() -> None:
    assert flatten({"sub": "7", "org_unit": {"code": "HN", "name": "海宁市局"},
                    "posts": [{"code": "inspector"}, {"code": "office"}],
                    "groups": ["a", "b"], "email_verified": True, "x": None}) == {
        "sub": ["7"], "org_unit.code": ["HN"], "org_unit.name": ["海宁市局"],
        "posts.code": ["inspector", "office"], "groups": ["a", "b"],
        "email_verified": ["true"]}


@pytest.mark.parametrize(("text", "message"), [
    ("providers: []", "expected a mapping"),
    ("providers:\n  p:\n    issuer: ftp://x\n    client_id: c\n", "'issuer' must be"),
    ("providers:\n  p:\n    issuer: https://x\n", "'client_id' is required"),
    ("providers:\n  p:\n    issuer: https://x\n    client_id: c\n    scope: openid\n",
     "unknown key(s) scope"),
    ("providers:\n  p:\n    issuer: https://x\n    client_id: c\n    claims: {nick: a}\n",
     "'attributes' may only name"),
    ("providers:\n  P Q:\n    issuer: https://x\n    client_id: c\n", "provider name"),
])
def test_providers_file_errors_name_the_mistake(tmp_path: Path, text: str,
                                                message: str) -> None:
    path = tmp_path / "p.yaml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(providers.ProviderError, match=message.replace("(", r"\(")
                       .replace(")", r"\)")):
        providers.load(path)


def test_secret_comes_from_the_masked_setting(tmp_path: Path) -> None:
    path = tmp_path / "p.yaml"
    path.write_text("providers:\n  p:\n    issuer: https://idp.example/\n    client_id: c\n",
                    encoding="utf-8")
    found = providers.load(path, ["p=s3cret"])["p"]
    assert (found.client_secret, found.issuer, found.discovery_url) == (
        "s3cret", "https://idp.example",
        "https://idp.example/.well-known/openid-configuration")
    with pytest.raises(providers.ProviderError, match="unknown provider"):
        providers.load(path, ["q=x"])


def test_labels_follow_the_language_and_secrets_are_masked(tmp_path: Path) -> None:
    from portal.config import masked

    path = tmp_path / "p.yaml"
    path.write_text("providers:\n  p:\n    issuer: https://x\n    client_id: c\n"
                    "    label: {zh_CN: 使用省局统一身份登录, en: Provincial sign-in}\n",
                    encoding="utf-8")
    found = providers.load(path)["p"]
    assert [found.label(x) for x in ("zh_CN", "zh_Hans_CN", "en", "en_US", "fr")] == [
        "使用省局统一身份登录", "使用省局统一身份登录", "Provincial sign-in", "Provincial sign-in",
        "使用省局统一身份登录"]
    assert masked("UPSTREAM_OIDC_SECRETS", ["p=s3cret"]) == "********"
