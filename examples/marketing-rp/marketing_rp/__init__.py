"""营销系统 (example): a separate web application that signs its users in through the portal.

It is what an integrated system's developers write: register with ``portal oidc add-client``,
then use any OpenID Connect client library (here Authlib's Flask client). Three routes matter:

- ``/login`` → the portal's authorize endpoint (code flow with PKCE); no second password when
  the person is already signed in to the portal;
- ``/callback`` → exchanges the code, validates the ID token, starts a local session;
- ``/backchannel-logout`` → the portal POSTs a logout token here when the portal session ends;
  the local sessions of that portal session end too.

Local sessions live on the server (a dict here; a real system uses its own store), because a
back-channel request comes from the portal, not from the user's browser, and cannot clear a
cookie: it can only delete what the cookie points to.
"""

from __future__ import annotations

import secrets
import threading
import time
from typing import Any

from authlib.integrations.flask_client import OAuth, OAuthError
from flask import Flask, abort, jsonify, redirect, render_template, request, session, url_for
from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import KeySet

BACKCHANNEL_EVENT = "http://schemas.openid.net/event/backchannel-logout"


class SessionStore:
    """Server-side sessions of the RP: id → what we know about the signed-in person."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._sessions: dict[str, dict[str, Any]] = {}

    def start(self, data: dict[str, Any]) -> str:
        sid = secrets.token_urlsafe(24)
        with self._lock:
            self._sessions[sid] = data
        return sid

    def get(self, sid: str | None) -> dict[str, Any] | None:
        with self._lock:
            return self._sessions.get(sid or "")

    def end(self, sid: str | None) -> None:
        with self._lock:
            self._sessions.pop(sid or "", None)

    def end_portal_session(self, portal_sid: str | None, sub: str | None) -> int:
        """End every local session of one portal session (or of one person, without sid)."""
        with self._lock:
            doomed = [k for k, v in self._sessions.items()
                      if (portal_sid and v.get("portal_sid") == portal_sid)
                      or (not portal_sid and sub and v.get("sub") == sub)]
            for k in doomed:
                del self._sessions[k]
        return len(doomed)


def create_app(config: dict[str, Any] | None = None) -> Flask:
    app = Flask(__name__)
    app.config.update(SECRET_KEY="change-me", PORTAL_URL="http://127.0.0.1:5000",
                      CLIENT_ID="", CLIENT_SECRET="", SESSION_COOKIE_NAME="marketing_session")
    app.config.from_prefixed_env("MARKETING")
    app.config.update(config or {})
    store = SessionStore()
    app.extensions["rp_sessions"] = store

    oauth = OAuth(app)
    portal = oauth.register(
        "portal",
        client_id=app.config["CLIENT_ID"],
        client_secret=app.config["CLIENT_SECRET"],
        server_metadata_url=app.config["PORTAL_URL"].rstrip("/")
        + "/.well-known/openid-configuration",
        client_kwargs={"scope": "openid profile email phone", "code_challenge_method": "S256"},
    )

    def current_user() -> dict[str, Any] | None:
        return store.get(session.get("rp_session"))

    @app.get("/")
    def index() -> Any:
        return render_template("index.html", user=current_user())

    @app.get("/login")
    def login() -> Any:
        return portal.authorize_redirect(url_for("callback", _external=True))

    @app.get("/callback")
    def callback() -> Any:
        try:
            token = portal.authorize_access_token()
        except OAuthError as exc:
            return render_template("index.html", user=None, error=exc.description or exc.error), 400
        claims = token["userinfo"]  # the validated ID token's claims
        store.end(session.get("rp_session"))
        session["rp_session"] = store.start({
            "sub": claims["sub"], "name": claims.get("name"),
            "username": claims.get("preferred_username"),
            "org_unit": (claims.get("org_unit") or {}).get("name"),
            "posts": [p["name"] for p in claims.get("posts") or []],
            "portal_sid": claims.get("sid"),
            "id_token": token["id_token"], "signed_in_at": time.time()})
        return redirect(url_for("index"))

    @app.post("/logout")
    def logout() -> Any:
        user = current_user()
        store.end(session.pop("rp_session", None))
        if user is None:
            return redirect(url_for("index"))
        return portal.logout_redirect(post_logout_redirect_uri=url_for("index", _external=True),
                                      id_token_hint=user["id_token"])

    @app.post("/backchannel-logout")
    def backchannel_logout() -> Any:
        """OpenID Connect Back-Channel Logout 1.0, section 2.6: validate, then end sessions."""
        raw = request.form.get("logout_token", "")
        if not raw or len(raw) > 8192:
            abort(400)
        try:
            claims = _validate_logout_token(raw)
        except (JoseError, ValueError) as exc:
            response = jsonify(error="invalid_request", error_description=str(exc))
            response.status_code = 400
            return response
        store.end_portal_session(claims.get("sid"), claims.get("sub"))
        response = app.response_class(status=200)
        response.headers["Cache-Control"] = "no-store"
        return response

    def _validate_logout_token(raw: str) -> dict[str, Any]:
        metadata = portal.load_server_metadata()
        keys = KeySet.import_key_set(portal.fetch_jwk_set())
        claims = dict(jwt.decode(raw, keys, algorithms=["RS256"]).claims)
        aud = claims.get("aud")
        audiences = aud if isinstance(aud, list) else [aud]
        if claims.get("iss") != metadata["issuer"]:
            raise ValueError("wrong issuer")
        if app.config["CLIENT_ID"] not in audiences:
            raise ValueError("not for this client")
        if abs(time.time() - float(claims.get("iat", 0))) > 300:
            raise ValueError("too old or from the future")
        if BACKCHANNEL_EVENT not in (claims.get("events") or {}):
            raise ValueError("not a logout token")
        if "nonce" in claims:
            raise ValueError("a logout token has no nonce")
        if not claims.get("sid") and not claims.get("sub"):
            raise ValueError("neither sid nor sub")
        return claims

    return app
