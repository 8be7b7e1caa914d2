"""The example relying party (examples/marketing-rp) checks logout tokens before it acts on
them: a system copying it must not let anybody end its users' sessions."""

from __future__ import annotations

import sys
import time
from collections.abc import Iterator
from typing import Any

import pytest
from flask import Flask
from joserfc import jwt
from joserfc.jwk import RSAKey

from tests.conftest import ROOT, Org
from tests.sso.oidc_support import LiveServer, register

sys.path.insert(0, str(ROOT / "examples" / "marketing-rp"))

EVENT = "http://schemas.openid.net/event/backchannel-logout"


@pytest.fixture
def portal(app: Flask, org: Org) -> Iterator[LiveServer]:
    server = LiveServer(app)
    yield server
    server.close()


@pytest.fixture
def rp(app: Flask, portal: LiveServer) -> Any:
    from marketing_rp import create_app

    client = register(app, redirect_uri="http://127.0.0.1:9/callback")
    rp = create_app({"PORTAL_URL": portal.url, "SECRET_KEY": "t", "TESTING": True,
                     "CLIENT_ID": client.client_id, "CLIENT_SECRET": client.secret})
    store = rp.extensions["rp_sessions"]
    rp.config["LOCAL_SESSION"] = store.start({"sub": "1", "portal_sid": "sid-1"})
    return rp


def portal_key(app: Flask) -> Any:
    from sso.oidc.keys import active_key

    with app.test_request_context():
        return active_key(app.extensions["portal"].db.session())


def logout_token(key: Any, portal: LiveServer, rp: Any, **changes: Any) -> str:
    claims = {"iss": portal.url, "aud": rp.config["CLIENT_ID"], "iat": int(time.time()),
              "jti": "j1", "sid": "sid-1", "sub": "1", "events": {EVENT: {}}, **changes}
    claims = {k: v for k, v in claims.items() if v is not None}
    return jwt.encode({"alg": "RS256", "kid": key.kid, "typ": "logout+jwt"}, claims, key)


def post(rp: Any, token: str) -> Any:
    return rp.test_client().post("/backchannel-logout", data={"logout_token": token})


def test_a_valid_logout_token_ends_the_local_session(app: Flask, portal: LiveServer,
                                                     rp: Any) -> None:
    resp = post(rp, logout_token(portal_key(app), portal, rp))
    assert resp.status_code == 200
    assert rp.extensions["rp_sessions"].get(rp.config["LOCAL_SESSION"]) is None


@pytest.mark.parametrize("changes", [
    {"iss": "http://127.0.0.1:1"},  # another issuer
    {"aud": "another-client"},
    {"iat": 1},  # far too old
    {"events": None},  # an ID token, not a logout token
    {"nonce": "n"},
    {"sid": None, "sub": None},
])
def test_forged_or_wrong_logout_tokens_are_refused(app: Flask, portal: LiveServer, rp: Any,
                                                   changes: dict[str, Any]) -> None:
    resp = post(rp, logout_token(portal_key(app), portal, rp, **changes))
    assert resp.status_code == 400
    assert rp.extensions["rp_sessions"].get(rp.config["LOCAL_SESSION"]) is not None


def test_a_token_signed_with_another_key_is_refused(app: Flask, portal: LiveServer,
                                                    rp: Any) -> None:
    stranger = RSAKey.generate_key(2048, parameters={"kid": portal_key(app).kid})
    assert post(rp, logout_token(stranger, portal, rp)).status_code == 400
    assert post(rp, "").status_code == 400
    assert rp.extensions["rp_sessions"].get(rp.config["LOCAL_SESSION"]) is not None
