"""The OpenID Connect provider through the Flask test client: the protocol, its bad input,
single sign-out, key rotation and the admin's commands."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import select, update

from sso.oidc.models import OidcAuthorizationCode, OidcClient, OidcRpSession, OidcToken
from tests.conftest import Auth, Org, seed_org
from tests.sso.oidc_support import (
    REDIRECT,
    RP,
    LogoutReceiver,
    audit_actions,
    authorize_path,
    decode_id_token,
    exchange,
    get_code,
    pkce,
    query,
    register,
)


@pytest.fixture
def signed_in(app: Flask, org: Org) -> Any:
    with app.app_context():
        db = app.extensions["portal"].db.session()
        from portal.models import Person

        db.get(Person, org.people["zg"]).email = "zg@example.com"
        db.commit()
    client = app.test_client()
    assert Auth(client).login("zg").status_code == 302
    return client


@pytest.fixture
def rp(app: Flask) -> RP:
    return register(app)


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def db_rows(app: Flask, model: Any) -> list[Any]:
    with app.app_context():
        db = app.extensions["portal"].db.session()
        rows = list(db.scalars(select(model)))
        db.expunge_all()
        return rows


# --- discovery and the happy path ---------------------------------------------------------------


def test_discovery_names_every_endpoint_and_jwks_publishes_the_signing_key(client: Any) -> None:
    doc = client.get("/.well-known/openid-configuration").get_json()
    assert doc["issuer"] == "http://localhost"
    assert doc["authorization_endpoint"] == "http://localhost/oidc/authorize"
    assert doc["token_endpoint"] == "http://localhost/oidc/token"
    assert doc["code_challenge_methods_supported"] == ["S256"]
    assert doc["id_token_signing_alg_values_supported"] == ["RS256"]
    assert doc["backchannel_logout_session_supported"] is True
    assert doc["end_session_endpoint"].endswith("/oidc/logout")
    keys = client.get(doc["jwks_uri"].removeprefix("http://localhost")).get_json()["keys"]
    assert len(keys) == 1 and keys[0]["kty"] == "RSA" and keys[0]["alg"] == "RS256"
    assert "d" not in keys[0]  # never the private half


def test_code_flow_with_pkce_gives_signed_id_token_userinfo_and_refresh(db_app: Flask) -> None:
    org = seed_org(db_app)
    rp = register(db_app)
    client = db_app.test_client()
    Auth(client).login("zg")
    verifier, challenge = pkce()
    code = get_code(client, rp, challenge, nonce="n-1")
    resp = exchange(client, rp, code, verifier)
    assert resp.status_code == 200, resp.get_json()
    assert resp.headers["Cache-Control"] == "no-store"
    tokens = resp.get_json()
    claims = decode_id_token(client, tokens["id_token"])
    assert claims["iss"] == "http://localhost"
    assert claims["aud"] == [rp.client_id]
    assert claims["sub"] == str(org.people["zg"])
    assert claims["nonce"] == "n-1"
    assert len(claims["sid"]) == 32
    assert claims["exp"] > time.time()

    info = client.get("/oidc/userinfo", headers=bearer(tokens["access_token"])).get_json()
    assert info["sub"] == str(org.people["zg"])
    assert info["name"] == "张专管"
    assert info["preferred_username"] == "zg"
    assert info["phone_number"] == "13800000000"
    assert info["org_unit"] == {"code": "HN", "name": "海宁市局"}
    assert info["posts"] == [{"code": "inspector", "name": "专管员"}]
    for claim in ("name", "preferred_username", "phone_number", "org_unit", "posts"):
        assert claims[claim] == info[claim]  # the ID token says what userinfo says

    refreshed = client.post("/oidc/token", headers=rp.basic, data={
        "grant_type": "refresh_token", "refresh_token": tokens["refresh_token"]})
    assert refreshed.status_code == 200, refreshed.get_json()
    new = refreshed.get_json()
    assert new["refresh_token"] != tokens["refresh_token"]  # rotated
    assert client.get("/oidc/userinfo", headers=bearer(new["access_token"])).status_code == 200
    assert "oidc.authorize" in audit_actions(db_app)


def test_userinfo_follows_the_scopes_granted(app: Flask, signed_in: Any, rp: RP) -> None:
    verifier, challenge = pkce()
    code = get_code(signed_in, rp, challenge, scope="openid email")
    tokens = exchange(signed_in, rp, code, verifier).get_json()
    info = signed_in.get("/oidc/userinfo", headers=bearer(tokens["access_token"])).get_json()
    assert info == {"sub": info["sub"], "email": "zg@example.com"}


def test_authorize_without_a_session_goes_to_login_and_comes_back(app: Flask, org: Org,
                                                                   rp: RP) -> None:
    client = app.test_client()
    _verifier, challenge = pkce()
    path = authorize_path(rp, challenge)
    resp = client.get(path)
    assert resp.status_code == 302
    login = resp.headers["Location"]
    assert login.startswith("/login?next=")
    next_url = query(login)["next"]
    assert next_url == path
    back = client.post("/login", data={"username": "zg", "password": "pw-123456",
                                       "next": next_url})
    assert back.headers["Location"] == path
    code_redirect = client.get(back.headers["Location"])
    assert code_redirect.headers["Location"].startswith(REDIRECT + "?code=")


def test_a_deactivated_account_gets_no_code(app: Flask, signed_in: Any, org: Org,
                                           rp: RP) -> None:
    with app.app_context():
        from portal.models import Person

        db = app.extensions["portal"].db.session()
        db.get(Person, org.people["zg"]).active = False
        db.commit()
    _verifier, challenge = pkce()
    resp = signed_in.get(authorize_path(rp, challenge))
    assert resp.status_code == 403 and "Location" not in resp.headers


def test_prompt_none_without_a_session_answers_login_required(app: Flask, org: Org,
                                                              rp: RP) -> None:
    _verifier, challenge = pkce()
    resp = app.test_client().get(authorize_path(rp, challenge, prompt="none"))
    assert resp.status_code == 302
    assert query(resp.headers["Location"])["error"] == "login_required"


def test_third_party_clients_ask_for_consent(app: Flask, signed_in: Any) -> None:
    rp = register(app, name="外部问卷系统", first_party=False)
    _verifier, challenge = pkce()
    page = signed_in.get(authorize_path(rp, challenge))
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "外部问卷系统" in html and 'value="allow"' in html
    denied = signed_in.post(authorize_path(rp, challenge), data={"decision": "deny"})
    assert query(denied.headers["Location"])["error"] == "access_denied"
    allowed = signed_in.post(authorize_path(rp, challenge), data={"decision": "allow"})
    assert "code" in query(allowed.headers["Location"])
    assert "oidc.consent_denied" in audit_actions(app)


def test_a_nonce_is_accepted_once(signed_in: Any, rp: RP) -> None:
    _verifier, challenge = pkce()
    get_code(signed_in, rp, challenge, nonce="same")
    again = signed_in.get(authorize_path(rp, challenge, nonce="same"))
    assert query(again.headers["Location"])["error"] == "invalid_request"


def test_first_party_clients_skip_consent(signed_in: Any, rp: RP) -> None:
    _verifier, challenge = pkce()
    assert signed_in.get(authorize_path(rp, challenge)).status_code == 302


# --- PKCE and codes -----------------------------------------------------------------------------


def test_public_client_must_use_s256(app: Flask, signed_in: Any) -> None:
    rp = register(app, public=True)
    assert rp.secret is None
    without = signed_in.get(authorize_path(rp, None))
    assert query(without.headers["Location"])["error"] == "invalid_request"
    plain = signed_in.get(authorize_path(rp, "x" * 43, code_challenge_method="plain"))
    assert query(plain.headers["Location"])["error"] == "invalid_request"
    verifier, challenge = pkce()
    code = get_code(signed_in, rp, challenge)
    assert exchange(signed_in, rp, code, verifier).status_code == 200


def test_wrong_pkce_verifier_is_invalid_grant_and_audited(app: Flask, signed_in: Any,
                                                          rp: RP) -> None:
    _verifier, challenge = pkce()
    code = get_code(signed_in, rp, challenge)
    other, _ = pkce()
    resp = exchange(signed_in, rp, code, other)
    assert resp.status_code == 400
    assert resp.get_json()["error"] == "invalid_grant"
    assert audit_actions(app)[-1] == "oidc.token_refused"


def test_a_wrong_pkce_verifier_does_not_use_the_code_up(app: Flask, signed_in: Any,
                                                         rp: RP) -> None:
    verifier, challenge = pkce()
    code = get_code(signed_in, rp, challenge)
    other, _ = pkce()
    assert exchange(signed_in, rp, code, other).get_json()["error"] == "invalid_grant"
    resp = exchange(signed_in, rp, code, verifier)
    assert resp.status_code == 200, resp.get_json()
    assert "oidc.code_replayed" not in audit_actions(app)
    again = exchange(signed_in, rp, code, verifier)
    assert again.get_json()["error"] == "invalid_grant"
    assert "oidc.code_replayed" in audit_actions(app)


def test_id_token_lists_each_post_once_in_code_order(app: Flask, org: Org, signed_in: Any,
                                                     rp: RP) -> None:
    with app.app_context():
        db = app.extensions["portal"].db.session()
        from portal.models import Post, PostAssignment

        office = db.scalars(select(Post).where(Post.code == "office")).one()
        inspector = db.scalars(select(Post).where(Post.code == "inspector")).one()
        db.add(PostAssignment(person_id=org.people["zg"], post_id=office.id,
                              org_unit_id=org.city))
        db.add(PostAssignment(person_id=org.people["zg"], post_id=inspector.id,
                              org_unit_id=org.unit_b))  # the same post in a second unit
        db.commit()
    verifier, challenge = pkce()
    tokens = exchange(signed_in, rp, get_code(signed_in, rp, challenge), verifier).get_json()
    claims = decode_id_token(signed_in, tokens["id_token"])
    assert claims["posts"] == [{"code": "inspector", "name": "专管员"},
                               {"code": "office", "name": "办公室文员"}]
    info = signed_in.get("/oidc/userinfo", headers=bearer(tokens["access_token"])).get_json()
    assert info["posts"] == claims["posts"]


def test_a_code_of_a_person_deactivated_since_is_invalid_grant(app: Flask, org: Org,
                                                               signed_in: Any, rp: RP) -> None:
    verifier, challenge = pkce()
    code = get_code(signed_in, rp, challenge)
    with app.app_context():
        db = app.extensions["portal"].db.session()
        from portal.models import Person

        db.get(Person, org.people["zg"]).active = False
        db.commit()
    assert exchange(signed_in, rp, code, verifier).get_json()["error"] == "invalid_grant"


def test_a_refresh_for_a_person_deactivated_since_is_refused(app: Flask, org: Org,
                                                              signed_in: Any, rp: RP) -> None:
    verifier, challenge = pkce()
    tokens = exchange(signed_in, rp, get_code(signed_in, rp, challenge), verifier).get_json()
    with app.app_context():
        db = app.extensions["portal"].db.session()
        from portal.models import Person

        db.get(Person, org.people["zg"]).active = False
        db.commit()
    resp = signed_in.post("/oidc/token", headers=rp.basic, data={
        "grant_type": "refresh_token", "refresh_token": tokens["refresh_token"]})
    assert resp.status_code == 400 and "access_token" not in resp.get_json()


def test_replayed_code_is_refused_and_revokes_what_it_gave(db_app: Flask) -> None:
    seed_org(db_app)
    rp = register(db_app)
    client = db_app.test_client()
    Auth(client).login("zg")
    verifier, challenge = pkce()
    code = get_code(client, rp, challenge)
    first = exchange(client, rp, code, verifier).get_json()
    assert client.get("/oidc/userinfo", headers=bearer(first["access_token"])).status_code == 200

    again = exchange(client, rp, code, verifier)
    assert again.status_code == 400 and again.get_json()["error"] == "invalid_grant"
    revoked = client.get("/oidc/userinfo", headers=bearer(first["access_token"]))
    assert revoked.status_code == 401
    assert "invalid_token" in revoked.headers["WWW-Authenticate"]
    refresh = client.post("/oidc/token", headers=rp.basic, data={
        "grant_type": "refresh_token", "refresh_token": first["refresh_token"]})
    assert refresh.get_json()["error"] == "invalid_grant"
    assert "oidc.code_replayed" in audit_actions(db_app)


def test_expired_code_is_invalid_grant(app: Flask, signed_in: Any, rp: RP) -> None:
    verifier, challenge = pkce()
    code = get_code(signed_in, rp, challenge)
    with app.app_context():
        db = app.extensions["portal"].db.session()
        db.execute(update(OidcAuthorizationCode).values(issued_at=int(time.time()) - 3600))
        db.commit()
    resp = exchange(signed_in, rp, code, verifier)
    assert resp.get_json()["error"] == "invalid_grant"
    assert "oidc.code_expired" in audit_actions(app)


def test_code_of_another_client_is_invalid_grant(app: Flask, signed_in: Any, rp: RP) -> None:
    other = register(app, name="物流系统")
    verifier, challenge = pkce()
    code = get_code(signed_in, rp, challenge)
    resp = exchange(signed_in, RP(other.client_id, other.secret, rp.redirect_uri), code,
                    verifier)
    assert resp.get_json()["error"] == "invalid_grant"


def test_reused_refresh_token_revokes_the_chain(app: Flask, signed_in: Any, rp: RP) -> None:
    verifier, challenge = pkce()
    tokens = exchange(signed_in, rp, get_code(signed_in, rp, challenge), verifier).get_json()
    data = {"grant_type": "refresh_token", "refresh_token": tokens["refresh_token"]}
    new = signed_in.post("/oidc/token", headers=rp.basic, data=data).get_json()
    reused = signed_in.post("/oidc/token", headers=rp.basic, data=data)
    assert reused.get_json()["error"] == "invalid_grant"
    assert signed_in.get("/oidc/userinfo",
                         headers=bearer(new["access_token"])).status_code == 401
    assert "oidc.refresh_reused" in audit_actions(app)


# --- clients and redirect URIs -----------------------------------------------------------------


def test_unknown_client_gets_an_error_page_not_a_redirect(app: Flask, signed_in: Any) -> None:
    _verifier, challenge = pkce()
    resp = signed_in.get(authorize_path(RP("nobody", "x", REDIRECT), challenge))
    assert resp.status_code == 400
    assert "Location" not in resp.headers
    assert "invalid_client" in resp.get_data(as_text=True)
    assert audit_actions(app)[-1] == "oidc.authorize_refused"


def test_unregistered_redirect_uri_gets_an_error_page_not_a_redirect(app: Flask, signed_in: Any,
                                                                      rp: RP) -> None:
    _verifier, challenge = pkce()
    evil = RP(rp.client_id, rp.secret, "https://evil.example.com/callback")
    resp = signed_in.get(authorize_path(evil, challenge))
    assert resp.status_code == 400
    assert "Location" not in resp.headers
    assert "evil.example.com" not in resp.headers.get("Location", "")
    # A prefix of a registered URI is not the registered URI.
    longer = RP(rp.client_id, rp.secret, REDIRECT + "/../steal")
    assert signed_in.get(authorize_path(longer, challenge)).status_code == 400


def test_token_endpoint_refuses_unknown_clients_and_wrong_secrets(app: Flask, signed_in: Any,
                                                                  rp: RP) -> None:
    verifier, challenge = pkce()
    code = get_code(signed_in, rp, challenge)
    unknown = exchange(signed_in, RP("nobody", "secret", REDIRECT), code, verifier)
    assert unknown.status_code == 401 and unknown.get_json()["error"] == "invalid_client"
    wrong = exchange(signed_in, RP(rp.client_id, "not-the-secret", REDIRECT), code, verifier)
    assert wrong.status_code == 401 and wrong.get_json()["error"] == "invalid_client"
    actions = audit_actions(app)
    assert actions.count("oidc.token_refused") == 2


def test_oversized_fields_are_refused(app: Flask, signed_in: Any, rp: RP) -> None:
    _verifier, challenge = pkce()
    page = signed_in.get(authorize_path(rp, challenge, state="s" * 5000))
    assert page.status_code == 400 and "Location" not in page.headers
    token = signed_in.post("/oidc/token", headers=rp.basic, data={
        "grant_type": "authorization_code", "code": "c" * 1000})
    assert token.status_code == 400 and token.get_json()["error"] == "invalid_request"
    huge = signed_in.post("/oidc/token", headers=rp.basic, data={"x": "y" * 20_000})
    assert huge.status_code == 413
    bearer_too_long = signed_in.get("/oidc/userinfo", headers=bearer("t" * 5000))
    assert bearer_too_long.status_code == 401
    assert audit_actions(app).count("oidc.token_refused") == 2


def test_token_endpoint_needs_no_csrf_token_but_portal_forms_still_do(tmp_path: Any) -> None:
    from tests.conftest import make_app

    app = make_app(f"sqlite:///{tmp_path}/csrf.db", WTF_CSRF_ENABLED=True)
    client = app.test_client()
    resp = client.post("/oidc/token", data={"grant_type": "authorization_code", "code": "x"})
    assert resp.status_code == 401 and resp.get_json()["error"] == "invalid_client"
    assert client.post("/login", data={"username": "a", "password": "b"}).status_code == 400
    app.extensions["portal"].db.engine.dispose()


# --- logout -------------------------------------------------------------------------------------


@pytest.fixture
def receiver() -> Iterator[LogoutReceiver]:
    r = LogoutReceiver()
    yield r
    r.close()


def test_signing_out_of_the_portal_posts_logout_tokens(app: Flask, signed_in: Any,
                                                       receiver: LogoutReceiver) -> None:
    rp = register(app, backchannel_logout_uri=receiver.url)
    quiet = register(app, name="物流系统")  # no back-channel URI: not told, tokens still revoked
    verifier, challenge = pkce()
    tokens = exchange(signed_in, rp, get_code(signed_in, rp, challenge), verifier).get_json()
    sid = decode_id_token(signed_in, tokens["id_token"])["sid"]
    v2, c2 = pkce()
    quiet_tokens = exchange(signed_in, quiet, get_code(signed_in, quiet, c2), v2).get_json()

    Auth(signed_in).logout()

    assert len(receiver.tokens) == 1
    claims = decode_id_token(signed_in, receiver.tokens[0])
    assert claims["sid"] == sid
    assert claims["aud"] == rp.client_id
    assert claims["events"] == {"http://schemas.openid.net/event/backchannel-logout": {}}
    assert "nonce" not in claims
    for t in (tokens, quiet_tokens):
        assert signed_in.get("/oidc/userinfo",
                             headers=bearer(t["access_token"])).status_code == 401
    assert db_rows(app, OidcRpSession) == []
    assert "oidc.backchannel_logout" in audit_actions(app)


@pytest.mark.redis
def test_single_sign_out_with_sessions_in_redis(tmp_path: Any,
                                                receiver: LogoutReceiver) -> None:
    """The production set-up: sessions live in Redis, not in the database."""
    import redis

    from tests.conftest import REDIS_URL, make_app

    redis.Redis.from_url(REDIS_URL).flushdb()
    app = make_app(f"sqlite:///{tmp_path}/r.db", REDIS_URL=REDIS_URL)
    seed_org(app)
    rp = register(app, backchannel_logout_uri=receiver.url)
    client = app.test_client()
    Auth(client).login("zg")
    verifier, challenge = pkce()
    tokens = exchange(client, rp, get_code(client, rp, challenge), verifier).get_json()
    sid = decode_id_token(client, tokens["id_token"])["sid"]
    Auth(client).logout()
    assert [decode_id_token(client, t)["sid"] for t in receiver.tokens] == [sid]
    app.extensions["portal"].db.engine.dispose()


def test_only_the_session_that_ended_is_logged_out(app: Flask, org: Org,
                                                   receiver: LogoutReceiver) -> None:
    rp = register(app, backchannel_logout_uri=receiver.url)
    phone, desk = app.test_client(), app.test_client()
    for c in (phone, desk):
        Auth(c).login("zg")
    tokens = {}
    for name, c in (("phone", phone), ("desk", desk)):
        verifier, challenge = pkce()
        tokens[name] = exchange(c, rp, get_code(c, rp, challenge), verifier).get_json()
    Auth(phone).logout()
    assert len(receiver.tokens) == 1
    assert desk.get("/oidc/userinfo",
                    headers=bearer(tokens["desk"]["access_token"])).status_code == 200


def test_a_relying_party_that_is_down_does_not_stop_the_sign_out(app: Flask, signed_in: Any,
                                                                  receiver: LogoutReceiver) -> None:
    url = receiver.url
    receiver.close()  # nobody listens there any more
    rp = register(app, backchannel_logout_uri=url)
    verifier, challenge = pkce()
    exchange(signed_in, rp, get_code(signed_in, rp, challenge), verifier)
    resp = Auth(signed_in).logout()
    assert resp.status_code == 302
    assert signed_in.get("/").status_code == 302  # signed out of the portal all the same
    with app.app_context():
        from portal.models import AuditEntry

        db = app.extensions["portal"].db.session()
        entry = db.scalars(select(AuditEntry).where(
            AuditEntry.action == "oidc.backchannel_logout")).one()
        assert entry.detail["status"] is None and entry.detail["error"]


def test_rp_initiated_logout_with_the_sessions_id_token(app: Flask, signed_in: Any,
                                                        receiver: LogoutReceiver) -> None:
    back = "http://127.0.0.1:9/signed-out"
    rp = register(app, backchannel_logout_uri=receiver.url, post_logout_redirect_uris=[back])
    verifier, challenge = pkce()
    tokens = exchange(signed_in, rp, get_code(signed_in, rp, challenge), verifier).get_json()
    resp = signed_in.get("/oidc/logout?" + _qs(id_token_hint=tokens["id_token"],
                                                post_logout_redirect_uri=back, state="bye"))
    assert resp.status_code == 302
    assert resp.headers["Location"] == back + "?state=bye"
    assert len(receiver.tokens) == 1
    assert signed_in.get("/").status_code == 302


def test_rp_initiated_logout_without_a_hint_asks_first(app: Flask, signed_in: Any) -> None:
    page = signed_in.get("/oidc/logout")
    assert page.status_code == 200
    assert signed_in.get("/").status_code == 200  # still signed in
    done = signed_in.post("/oidc/logout")
    assert done.status_code == 302
    assert signed_in.get("/").status_code == 302


def test_rp_initiated_logout_refuses_unregistered_return_addresses(app: Flask, signed_in: Any,
                                                                   rp: RP) -> None:
    resp = signed_in.get("/oidc/logout?" + _qs(client_id=rp.client_id,
                                                post_logout_redirect_uri="https://evil.example"))
    assert resp.status_code == 400 and "Location" not in resp.headers
    forged = signed_in.get("/oidc/logout?" + _qs(id_token_hint="eyJhbGciOi.forged.token"))
    assert forged.status_code == 400
    assert signed_in.get("/").status_code == 200


def _qs(**params: str) -> str:
    from urllib.parse import urlencode

    return urlencode(params)


def test_housekeeping_forgets_expired_codes_and_tokens(app: Flask, signed_in: Any,
                                                      rp: RP) -> None:
    from sso.oidc.housekeeping import prune

    verifier, challenge = pkce()
    exchange(signed_in, rp, get_code(signed_in, rp, challenge), verifier)
    _verifier, fresh_challenge = pkce()
    get_code(signed_in, rp, fresh_challenge)  # a fresh code and token stay
    verifier, challenge = pkce()
    exchange(signed_in, rp, get_code(signed_in, rp, challenge), verifier)
    with app.app_context():
        db = app.extensions["portal"].db.session()
        codes = sorted(db.scalars(select(OidcAuthorizationCode.id)))
        tokens = sorted(db.scalars(select(OidcToken.id)))
        long_ago = int(time.time()) - 3 * 24 * 3600
        db.execute(update(OidcAuthorizationCode).where(OidcAuthorizationCode.id == codes[0])
                   .values(issued_at=long_ago))
        db.execute(update(OidcToken).where(OidcToken.id == tokens[0])
                   .values(issued_at=long_ago, refresh_expires_at=long_ago))
        prune(db)
        db.commit()
        assert sorted(db.scalars(select(OidcAuthorizationCode.id))) == codes[1:]
        assert sorted(db.scalars(select(OidcToken.id))) == tokens[1:]


# --- keys ---------------------------------------------------------------------------------------


def test_rotated_keys_keep_old_tokens_verifiable(app: Flask, signed_in: Any, rp: RP) -> None:
    verifier, challenge = pkce()
    old = exchange(signed_in, rp, get_code(signed_in, rp, challenge), verifier).get_json()
    result = _invoke(app, ["rotate-keys"])
    assert result.exit_code == 0, result.output
    keys = signed_in.get("/oidc/jwks").get_json()["keys"]
    assert len(keys) == 2
    verifier, challenge = pkce()
    new = exchange(signed_in, rp, get_code(signed_in, rp, challenge), verifier).get_json()
    from joserfc.jws import extract_compact

    old_kid = extract_compact(old["id_token"].encode()).protected["kid"]
    new_kid = extract_compact(new["id_token"].encode()).protected["kid"]
    assert old_kid != new_kid
    assert decode_id_token(signed_in, old["id_token"])["sub"]
    assert decode_id_token(signed_in, new["id_token"])["sub"]


# --- commands and the admin page ----------------------------------------------------------------


def _invoke(app: Flask, args: list[str]) -> Any:
    from click.testing import CliRunner
    from flask.cli import ScriptInfo

    from sso.oidc.cli import oidc

    return CliRunner().invoke(oidc, args, obj=ScriptInfo(create_app=lambda: app))


def test_add_client_prints_the_secret_once_and_stores_its_hash(app: Flask) -> None:
    result = _invoke(app, ["add-client", "--name", "营销系统", "--redirect-uri",
                           "https://yx.example.com/callback", "--first-party", "--json"])
    assert result.exit_code == 0, result.output
    import json

    printed = json.loads(result.output)
    (client,) = db_rows(app, OidcClient)
    assert client.client_id == printed["client_id"] and client.first_party
    assert client.secret_hash and printed["client_secret"] not in client.secret_hash
    assert client.check_client_secret(printed["client_secret"])
    listing = _invoke(app, ["list-clients"])
    assert "营销系统" in listing.output and printed["client_secret"] not in listing.output
    assert "oidc.client_added" in audit_actions(app)

    removed = _invoke(app, ["remove-client", printed["client_id"]])
    assert removed.exit_code == 0 and db_rows(app, OidcClient) == []
    again = _invoke(app, ["remove-client", printed["client_id"]])
    assert again.exit_code == 1 and "no such client" in again.output


@pytest.mark.parametrize("uri", ["javascript:alert(1)", "http://yx.example.com/callback",
                                 "https://yx.example.com/cb#frag", "/relative"])
def test_add_client_refuses_bad_redirect_uris(app: Flask, uri: str) -> None:
    result = _invoke(app, ["add-client", "--name", "营销系统", "--redirect-uri", uri])
    assert result.exit_code == 1
    assert "redirect URI" in result.output
    assert db_rows(app, OidcClient) == []


def test_client_ids_can_be_typed_on_a_command_line(app: Flask) -> None:
    """Opaque, but never read as an option by `portal oidc remove-client ID` (an id from
    token_urlsafe started with "-" once in 64 and failed the command)."""
    ids = {register(app, name=f"系统{n}").client_id for n in range(20)}
    assert all(re.fullmatch(r"[0-9a-f]{24}", i) for i in ids) and len(ids) == 20


def test_removing_a_client_revokes_its_tokens(app: Flask, signed_in: Any, rp: RP) -> None:
    verifier, challenge = pkce()
    tokens = exchange(signed_in, rp, get_code(signed_in, rp, challenge), verifier).get_json()
    assert _invoke(app, ["remove-client", rp.client_id]).exit_code == 0
    assert signed_in.get("/oidc/userinfo",
                         headers=bearer(tokens["access_token"])).status_code == 401
    assert db_rows(app, OidcToken) == []


def test_admin_page_lists_clients_for_admins_only(app: Flask, org: Org, rp: RP) -> None:
    admin = app.test_client()
    Auth(admin).login("admin")
    page = admin.get("/admin/oidc/clients")
    assert page.status_code == 200
    assert "营销系统" in page.get_data(as_text=True)
    assert rp.client_id in page.get_data(as_text=True)
    staff = app.test_client()
    Auth(staff).login("zg")
    assert staff.get("/admin/oidc/clients").status_code == 403
