"""Helpers shared by the OpenID Connect tests: registering a relying party, PKCE, a code."""

from __future__ import annotations

import base64
import hashlib
import secrets
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

from flask import Flask
from flask.testing import FlaskClient
from joserfc import jwt
from joserfc.jwk import KeySet
from sqlalchemy import select

from portal.models import AuditEntry
from sso.oidc.clients import add_client

REDIRECT = "http://127.0.0.1:9/callback"
SCOPE = "openid profile email phone"


@dataclass
class RP:
    client_id: str
    secret: str | None
    redirect_uri: str

    @property
    def basic(self) -> dict[str, str]:
        raw = f"{self.client_id}:{self.secret}".encode()
        return {"Authorization": "Basic " + base64.b64encode(raw).decode()}


def register(app: Flask, name: str = "营销系统", redirect_uri: str = REDIRECT,
             **options: Any) -> RP:
    options.setdefault("first_party", True)
    with app.app_context():
        db = app.extensions["portal"].db.session()
        done = add_client(db, name, [redirect_uri], **options)
        db.commit()
        return RP(done.client.client_id, done.secret, redirect_uri)


def pkce() -> tuple[str, str]:
    verifier = secrets.token_urlsafe(48)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest())
    return verifier, challenge.rstrip(b"=").decode()


def authorize_path(rp: RP, challenge: str | None, **extra: str) -> str:
    params = {"response_type": "code", "client_id": rp.client_id,
              "redirect_uri": rp.redirect_uri, "scope": SCOPE, "state": "st-1",
              "nonce": secrets.token_urlsafe(8)}
    if challenge:
        params.update(code_challenge=challenge, code_challenge_method="S256")
    params.update(extra)
    return "/oidc/authorize?" + urlencode(params)


def query(location: str) -> dict[str, str]:
    return {k: v[0] for k, v in parse_qs(urlsplit(location).query).items()}


def get_code(client: FlaskClient, rp: RP, challenge: str | None = None, **extra: str) -> str:
    resp = client.get(authorize_path(rp, challenge, **extra))
    assert resp.status_code == 302, resp.get_data(as_text=True)[:500]
    location = resp.headers["Location"]
    assert location.startswith(rp.redirect_uri + "?"), location
    params = query(location)
    assert params["state"] == "st-1"
    return params["code"]


def exchange(client: FlaskClient, rp: RP, code: str, verifier: str | None = None) -> Any:
    data = {"grant_type": "authorization_code", "code": code, "redirect_uri": rp.redirect_uri}
    if verifier:
        data["code_verifier"] = verifier
    if rp.secret:
        return client.post("/oidc/token", data=data, headers=rp.basic)
    return client.post("/oidc/token", data={**data, "client_id": rp.client_id})


def decode_id_token(client: FlaskClient, token: str) -> dict[str, Any]:
    """Verify the signature with the published JWKS, as a relying party would."""
    jwks = client.get("/oidc/jwks").get_json()
    return dict(jwt.decode(token, KeySet.import_key_set(jwks), algorithms=["RS256"]).claims)


def audit_actions(app: Flask) -> list[str]:
    with app.app_context():
        db = app.extensions["portal"].db.session()
        return list(db.scalars(select(AuditEntry.action).order_by(AuditEntry.id)))


class LogoutReceiver:
    """A real HTTP endpoint on a free port that records the logout tokens POSTed to it."""

    def __init__(self, status: int = 200) -> None:
        import threading

        from werkzeug.serving import make_server
        from werkzeug.wrappers import Request, Response

        self.tokens: list[str] = []

        @Request.application
        def wsgi(request: Request) -> Response:
            self.tokens.append(request.form.get("logout_token", ""))
            return Response("", status=status)

        self.server = make_server("127.0.0.1", 0, wsgi, threaded=True)
        self.url = f"http://127.0.0.1:{self.server.server_port}/backchannel-logout"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(timeout=10)


class LiveServer:
    """*app* served by werkzeug's threaded server on a free port of 127.0.0.1."""

    def __init__(self, app: Any) -> None:
        import threading

        from werkzeug.serving import make_server

        self.server = make_server("127.0.0.1", 0, app, threaded=True)
        self.url = f"http://127.0.0.1:{self.server.server_port}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(timeout=10)
