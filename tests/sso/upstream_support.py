"""Two real portals for the upstream sign-in tests: one is the upstream identity provider (its
own sso/oidc provider, a registered client, the seeded people), the other the relying party
configured against it through a providers file. Both are served by werkzeug on free ports; the
provider answers on ``localhost`` and the relying party on ``127.0.0.1``, two hosts, so a
browser or ``requests.Session`` keeps their session cookies apart as it would in production.
"""

from __future__ import annotations

import base64
import json
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import requests
import yaml
from flask import Flask
from joserfc import jwt
from werkzeug.serving import make_server
from werkzeug.wrappers import Response

from portal.models import OrgUnit, Person, Post, PostAssignment
from portal.passwords import hash_password
from tests.conftest import PASSWORD, make_app, seed_org
from tests.sso.oidc_support import register

POSTS = ["inspector", "account_manager", "deliveryman", "dept_head", "leader", "office", "admin"]


class Served:
    """A WSGI app (set later through ``app``) served on a free port of 127.0.0.1."""

    def __init__(self, host: str) -> None:
        self.app: Any = None
        self.server = make_server("127.0.0.1", 0, lambda env, start: self.app(env, start),
                                  threaded=True)
        self.url = f"http://{host}:{self.server.server_port}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(timeout=10)


def add_person(app: Flask, username: str, name: str, unit_code: str, post_code: str,
               email: str | None = None) -> None:
    with app.app_context():
        s = app.extensions["portal"].db.session()
        unit = s.query(OrgUnit).filter_by(code=unit_code).one()
        post = s.query(Post).filter_by(code=post_code).one()
        p = Person(username=username, display_name=name, org_unit_id=unit.id, email=email,
                   password_hash=hash_password(PASSWORD), mobile="13900000001")
        s.add(p)
        s.flush()
        s.add(PostAssignment(person_id=p.id, post_id=post.id, org_unit_id=unit.id,
                             manages=post_code in ("dept_head", "leader")))
        s.commit()


def move_person(app: Flask, username: str, name: str, unit_code: str, post_code: str) -> None:
    """At the provider: *username* changes name, unit and post (what the next sign-in brings)."""
    with app.app_context():
        s = app.extensions["portal"].db.session()
        p = s.query(Person).filter_by(username=username).one()
        unit = s.query(OrgUnit).filter_by(code=unit_code).one()
        post = s.query(Post).filter_by(code=post_code).one()
        p.display_name, p.org_unit_id = name, unit.id
        for a in list(p.assignments):
            s.delete(a)
        s.add(PostAssignment(person_id=p.id, post_id=post.id, org_unit_id=unit.id,
                             manages=post_code in ("dept_head", "leader")))
        s.commit()


def providers_file(folder: Path, issuer: str, client_id: str, secret: str | None,
                   provision: bool = True, **extra: Any) -> Path:
    data = {"providers": {"province": {
        "label": {"zh_CN": "使用省局统一身份登录", "en": "Sign in with the provincial identity"},
        "issuer": issuer, "client_id": client_id,
        **({"client_secret": secret} if secret else {}),
        "scopes": ["openid", "profile", "email", "phone"], "provision": provision,
        "posts": [{"post": code, "attribute": "posts.code", "equals": code,
                   **({"manages": True} if code in ("dept_head", "leader") else {})}
                  for code in POSTS],
        **extra}}}
    path = folder / "upstream.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    return path


class Tamper:
    """WSGI middleware in front of the provider: a man in the middle that, when *mode* is set,
    alters the ID token of the token endpoint's answers. ``payload`` changes the user name
    and keeps the signature; the others re-sign with the provider's own key (a provider that
    issues a wrong token): ``audience``, ``expired``, ``nonce``."""

    def __init__(self, idp: Flask) -> None:
        self.idp = idp
        self.mode: str | None = None

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Any:
        if self.mode is None or environ.get("PATH_INFO") != "/oidc/token":
            return self.idp(environ, start_response)
        response = Response.from_app(self.idp, environ)
        data = json.loads(response.get_data())
        if "id_token" in data:
            data["id_token"] = self.alter(data["id_token"])
            response.set_data(json.dumps(data))
        return response(environ, start_response)

    def alter(self, token: str) -> str:
        header, payload, signature = token.split(".")
        claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
        if self.mode == "payload":
            claims["preferred_username"] = "admin"
            raw = json.dumps(claims).encode()
            return ".".join([header, base64.urlsafe_b64encode(raw).rstrip(b"=").decode(),
                             signature])
        if self.mode == "audience":
            claims["aud"] = "another-app"
        elif self.mode == "expired":
            claims["iat"], claims["exp"] = int(time.time()) - 4000, int(time.time()) - 3600
        elif self.mode == "nonce":
            claims["nonce"] = "from-another-sign-in"
        from sso.oidc import keys

        with self.idp.app_context():
            key = keys.active_key(self.idp.extensions["portal"].db.session())
            return jwt.encode({"alg": "RS256", "kid": key.kid}, claims, key)


@dataclass
class Pair:
    idp: Flask
    idp_url: str
    rp: Flask
    rp_url: str
    tamper: Tamper
    idp_server: Served


def start_pair(tmp_path: Path, rp_db: str, closer: Callable[[Callable[[], None]], None],
               provision: bool = True, **provider: Any) -> Pair:
    """The provider (SQLite) and the relying party (on *rp_db*), both seeded with the same
    organisation; the provider also knows 徐新 (xw), whom the relying party does not."""
    idp_server, rp_server = Served("localhost"), Served("127.0.0.1")
    closer(idp_server.close)
    closer(rp_server.close)
    idp = make_app(f"sqlite:///{tmp_path}/idp.db")
    seed_org(idp)
    add_person(idp, "xw", "徐新", "TX", "account_manager", email="xw@jxyc.example")
    tamper = idp_server.app = Tamper(idp)
    closer(idp.extensions["portal"].db.engine.dispose)
    client = register(idp, name="嘉兴个人工作平台",
                      redirect_uri=f"{rp_server.url}/login/upstream/province/callback",
                      post_logout_redirect_uris=[f"{rp_server.url}/login"])
    path = providers_file(tmp_path, idp_server.url, client.client_id, client.secret,
                          provision=provision, **provider)
    rp = make_app(rp_db, UPSTREAM_OIDC_PROVIDERS=str(path))
    seed_org(rp)
    rp_server.app = rp
    closer(rp.extensions["portal"].db.engine.dispose)
    return Pair(idp, idp_server.url, rp, rp_server.url, tamper, idp_server)


def sign_in(pair: Pair, http: requests.Session, username: str, next_url: str = "") -> Any:
    """The whole flow as a browser does it: the relying party's upstream link, the provider's
    password form, the redirects back. Returns the last response."""
    query = "?" + urlencode({"next": next_url}) if next_url else ""
    r = http.get(f"{pair.rp_url}/login/upstream/province{query}", timeout=10)
    assert r.url.startswith(pair.idp_url + "/login"), (r.status_code, r.url)
    return http.post(r.url, data={"username": username, "password": PASSWORD}, timeout=10)


def callback_url(pair: Pair, http: requests.Session, username: str) -> str:
    """Like :func:`sign_in`, but stop before the relying party's callback: its URL."""
    r = http.get(f"{pair.rp_url}/login/upstream/province", timeout=10)
    r = http.post(r.url, data={"username": username, "password": PASSWORD},
                  allow_redirects=False, timeout=10)
    while not r.headers["Location"].startswith(pair.rp_url):
        r = http.get(requests.compat.urljoin(r.url, r.headers["Location"]),
                     allow_redirects=False, timeout=10)
    return str(r.headers["Location"])
