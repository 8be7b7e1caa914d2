"""The provider seen by an independent client library: pyoidc (``oic``), not Authlib.

pyoidc reads the discovery document, loads the JWKS into its key jar, builds the PKCE
challenge, validates the ID token's signature, issuer, audience and nonce itself, and calls
userinfo and the refresh grant, all over real HTTP against a running portal.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlsplit

import pytest
import requests
from flask import Flask
from jwkest import BadSignature
from oic.oic import Client
from oic.oic.message import (
    AccessTokenResponse,
    AuthorizationResponse,
    OpenIDSchema,
    RegistrationResponse,
)
from oic.utils.authn.client import CLIENT_AUTHN_METHOD

from tests.conftest import PASSWORD, Org
from tests.sso.oidc_support import LiveServer, register

# pyoidc's own dependencies (pyjwkest, ...) still use APIs that newer Pythons deprecate.
pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")

REDIRECT = "https://yx.example.com/callback"


@pytest.fixture
def portal(app: Flask, org: Org) -> Iterator[LiveServer]:
    server = LiveServer(app)
    yield server
    server.close()


def signed_in_browser(base: str) -> requests.Session:
    """A requests session holding a portal session, as a browser would after signing in."""
    browser = requests.Session()
    browser.trust_env = False  # straight to 127.0.0.1, never through a proxy
    resp = browser.post(base + "/login", data={"username": "zg", "password": PASSWORD},
                        allow_redirects=False)
    assert resp.status_code == 302 and resp.headers["Location"] == "/"
    return browser


def pyoidc_client(app: Flask, base: str) -> Client:
    rp = register(app, redirect_uri=REDIRECT)
    client = Client(client_authn_method=CLIENT_AUTHN_METHOD, verify_ssl=False)
    client.provider_config(base)  # discovery + JWKS
    client.store_registration_info(RegistrationResponse(
        client_id=rp.client_id, client_secret=rp.secret, redirect_uris=[REDIRECT]))
    client.redirect_uris = [REDIRECT]
    return client


def authorize(client: Client, browser: requests.Session, state: str, nonce: str) -> tuple[
        AuthorizationResponse, str]:
    pkce, verifier = client.add_code_challenge()
    request = client.construct_AuthorizationRequest(request_args={
        "client_id": client.client_id, "response_type": "code",
        "scope": ["openid", "profile", "email", "phone"], "redirect_uri": REDIRECT,
        "state": state, "nonce": nonce, **pkce})
    url = request.request(client.authorization_endpoint)
    resp = browser.get(url, allow_redirects=False)
    assert resp.status_code == 302, resp.text[:300]
    location = resp.headers["Location"]
    assert location.startswith(REDIRECT + "?")
    parsed = client.parse_response(AuthorizationResponse, info=urlsplit(location).query,
                                   sformat="urlencoded")
    assert isinstance(parsed, AuthorizationResponse)
    return parsed, verifier


def test_pyoidc_discovery_code_pkce_id_token_userinfo_refresh(app: Flask,
                                                              portal: LiveServer) -> None:
    client = pyoidc_client(app, portal.url)
    assert client.provider_info["issuer"] == portal.url
    assert "S256" in client.provider_info["code_challenge_methods_supported"]
    assert client.keyjar.get_signing_key("RSA", owner=portal.url)  # JWKS loaded

    state, nonce = secrets.token_urlsafe(8), secrets.token_urlsafe(8)
    code, verifier = authorize(client, signed_in_browser(portal.url), state, nonce)
    assert code["state"] == state

    tokens = client.do_access_token_request(
        state=state, request_args={"code": code["code"], "code_verifier": verifier,
                                   "redirect_uri": REDIRECT},
        authn_method="client_secret_basic")
    assert isinstance(tokens, AccessTokenResponse)
    id_token: Any = tokens["id_token"]  # verified by pyoidc: signature (JWKS), iss, aud
    assert id_token["iss"] == portal.url
    assert id_token["aud"] == [client.client_id]
    assert id_token["nonce"] == nonce
    assert id_token["sub"] and id_token["sid"]
    assert id_token.jws_header["alg"] == "RS256"

    info = client.do_user_info_request(state=state)
    assert isinstance(info, OpenIDSchema)
    assert info["sub"] == id_token["sub"]
    assert info["name"] == "张专管"
    assert info["preferred_username"] == "zg"
    assert info["phone_number"] == "13800000000"

    refreshed = client.do_access_token_refresh(state=state, authn_method="client_secret_basic")
    assert isinstance(refreshed, AccessTokenResponse)
    assert refreshed["access_token"] != tokens["access_token"]
    assert refreshed["refresh_token"] != tokens["refresh_token"]
    again = client.do_user_info_request(state=state)
    assert again["sub"] == id_token["sub"]


def test_pyoidc_rejects_an_id_token_signed_with_another_key(app: Flask,
                                                           portal: LiveServer) -> None:
    """The library really checks signatures against the portal's JWKS: a token signed with a
    key the portal does not publish is refused, so the test above proves the JWKS is right."""
    from joserfc import jwt
    from joserfc.jwk import RSAKey

    client = pyoidc_client(app, portal.url)
    state, nonce = secrets.token_urlsafe(8), secrets.token_urlsafe(8)
    authorize(client, signed_in_browser(portal.url), state, nonce)
    (published,) = signed_in_browser(portal.url).get(portal.url + "/oidc/jwks").json()["keys"]
    # Same kid as the portal's key, different key: only the signature check can tell.
    stranger = RSAKey.generate_key(2048)
    claims = {"iss": portal.url, "aud": [client.client_id], "sub": "1", "nonce": nonce,
              "iat": 1, "exp": 4_000_000_000}
    forged = jwt.encode({"alg": "RS256", "kid": published["kid"]}, claims, stranger)
    response = AccessTokenResponse(access_token="x", token_type="Bearer", id_token=forged)
    with pytest.raises(BadSignature):
        response.verify(keyjar=client.keyjar, iss=portal.url, client_id=client.client_id)
