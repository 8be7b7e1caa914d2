"""The provider's endpoints.

Two blueprints: ``oidc`` holds the pages a person's browser sees (authorize, consent, logout,
the admin's client list) and is CSRF-protected like every portal form; ``oidc_api`` holds the
endpoints relying parties call server to server (discovery, JWKS, token, userinfo), which
authenticate the client or the bearer token instead and are exempt from the portal's CSRF check.
"""

from __future__ import annotations

import logging
from typing import Any
from urllib.parse import urlencode

from authlib.oauth2 import OAuth2Error
from flask import (
    Blueprint,
    Response,
    abort,
    jsonify,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import KeySet
from sqlalchemy import select

from portal.toolkit import (
    audit,
    current_principal,
    db_session,
    gettext,
    role_required,
    sign_out,
)
from sso.oidc import keys
from sso.oidc.claims import PROFILE_CLAIMS, SCOPES, claims_for, load_subject
from sso.oidc.clients import find_client, list_clients
from sso.oidc.housekeeping import maybe_prune
from sso.oidc.logout import record_rp_session, session_sid
from sso.oidc.models import OidcToken, digest
from sso.oidc.server import current_server, issuer

log = logging.getLogger(__name__)

bp = Blueprint("oidc", __name__, template_folder="templates")
api = Blueprint("oidc_api", __name__)

#: Longest value accepted per parameter; anything longer is refused before Authlib sees it.
LIMITS = {"client_id": 64, "redirect_uri": 500, "post_logout_redirect_uri": 500, "state": 500,
          "nonce": 255, "scope": 200, "code": 128, "code_challenge": 128, "code_verifier": 128,
          "refresh_token": 128, "response_type": 40, "grant_type": 40, "prompt": 40,
          "code_challenge_method": 10, "client_secret": 128, "id_token_hint": 8192,
          "ui_locales": 40, "max_age": 12, "login_hint": 128}
MAX_OTHER = 500
MAX_TOKEN_BODY = 16 * 1024


def _oversized() -> str | None:
    """The name of the first parameter that is longer than allowed, or ``None``."""
    for name, value in request.values.items(multi=True):
        if len(name) > 64 or len(value) > LIMITS.get(name, MAX_OTHER):
            return name[:64]
    return None


# --- discovery and keys ------------------------------------------------------------------------


@api.get("/.well-known/openid-configuration")
def discovery() -> Any:
    base = issuer()
    response = jsonify({
        "issuer": base,
        "authorization_endpoint": base + url_for("oidc.authorize"),
        "token_endpoint": base + url_for("oidc_api.token"),
        "userinfo_endpoint": base + url_for("oidc_api.userinfo"),
        "jwks_uri": base + url_for("oidc_api.jwks"),
        "end_session_endpoint": base + url_for("oidc.end_session"),
        "response_types_supported": ["code"],
        "response_modes_supported": ["query"],
        "grant_types_supported": ["authorization_code", "refresh_token"],
        "subject_types_supported": ["public"],
        "id_token_signing_alg_values_supported": ["RS256"],
        "scopes_supported": list(SCOPES),
        "token_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post",
                                                  "none"],
        "code_challenge_methods_supported": ["S256"],
        "claims_supported": ["sub", "iss", "aud", "exp", "iat", "auth_time", "nonce", "sid",
                             *PROFILE_CLAIMS, "email", "phone_number"],
        "backchannel_logout_supported": True,
        "backchannel_logout_session_supported": True,
    })
    response.cache_control.max_age = 300
    response.cache_control.public = True
    return response


@api.get("/oidc/jwks")
def jwks() -> Any:
    response = jsonify(keys.jwks(db_session(), keys.keep_for()))
    # Short: relying parties must see a new key soon after a rotation.
    response.cache_control.max_age = 300
    response.cache_control.public = True
    return response


# --- authorization -----------------------------------------------------------------------------


def _explain(error: str) -> str:
    """What an OAuth error code means to the person who sees it (the protocol's own
    description, in English, is shown under it for the system's administrator)."""
    if error == "invalid_client":
        return gettext("This system is not registered with the portal.")
    if error == "invalid_scope":
        return gettext("The system asked for data it is not registered for.")
    return gettext("The system's request is incomplete or not valid, for example its return "
                   "address is not registered.")


def _authorize_error(status: int, error: str, description: str) -> Any:
    """An error page for requests that cannot be sent back: unknown client, redirect URI not
    registered, oversized values (redirecting there would make the portal an open
    redirector)."""
    return render_template("oidc/error.html", error=error, explanation=_explain(error),
                           description=description), status


@bp.route("/oidc/authorize", methods=["GET", "POST"])
def authorize() -> Any:
    db = db_session()
    too_long = _oversized()
    if too_long:
        audit(db, "oidc.authorize_refused", request.values.get("client_id", "")[:64],
              error="invalid_request", reason=f"{too_long} too long")
        db.commit()
        return _authorize_error(400, "invalid_request",
                                gettext("The value of “%(name)s” is too long.", name=too_long))
    principal = current_principal()
    person = load_subject(db, principal.person_id) if principal is not None else None
    if principal is not None and person is None:
        abort(403)  # signed in, but the account has been deactivated since
    server = current_server()
    prompt = (request.values.get("prompt") or "").split()
    if person is None and "none" not in prompt:
        # Sign in first, then come back here with the same request.
        return redirect(url_for("auth.login", next=request.full_path.rstrip("?")))
    try:
        grant = server.get_consent_grant(end_user=person)
        if person is None:  # prompt=none without a session: Authlib raises login_required
            return server.create_authorization_response(grant_user=None, grant=grant)
    except OAuth2Error as error:
        client_id = request.values.get("client_id", "")[:64]
        audit(db, "oidc.authorize_refused", client_id, error=error.error,
              reason=(error.description or "")[:200])
        db.commit()
        if error.redirect_uri:  # the client and its redirect URI are known good
            return server.handle_error_response(None, error)
        return _authorize_error(400, error.error, error.description or "")
    client = grant.client
    if not client.first_party:
        if request.method == "GET":
            scopes = (grant.request.scope or "").split()
            return render_template("oidc/consent.html", client=client, scopes=scopes)
        if request.form.get("decision") != "allow":
            audit(db, "oidc.consent_denied", client.name, client_id=client.client_id)
            db.commit()
            return server.create_authorization_response(grant_user=None, grant=grant)
    response = server.create_authorization_response(grant_user=person, grant=grant)
    if response.status_code == 302 and "code=" in response.headers.get("Location", ""):
        # From now on the system may hold a session for this portal session: tell it at logout.
        record_rp_session(db, client.client_id, session_sid(session.sid),  # type: ignore[attr-defined]
                          person.id)
        audit(db, "oidc.authorize", client.name, client_id=client.client_id,
              scope=grant.request.scope)
        maybe_prune(db)
    db.commit()
    return response


# --- token and userinfo ------------------------------------------------------------------------


def _json_error(status: int, error: str, description: str) -> Response:
    response = jsonify({"error": error, "error_description": description})
    response.status_code = status
    response.headers["Cache-Control"] = "no-store"
    return response


@api.post("/oidc/token")
def token() -> Any:
    db = db_session()
    if (request.content_length or 0) > MAX_TOKEN_BODY:
        audit(db, "oidc.token_refused", "", error="invalid_request", reason="body too large")
        db.commit()
        return _json_error(413, "invalid_request", "The request body is too large.")
    too_long = _oversized()
    if too_long:
        audit(db, "oidc.token_refused", request.form.get("client_id", "")[:64],
              error="invalid_request", reason=f"{too_long} too long")
        db.commit()
        return _json_error(400, "invalid_request", f"'{too_long}' is too long.")
    response = current_server().create_token_response()
    if response.status_code >= 400:
        body = response.get_json(silent=True) or {}
        auth = request.authorization
        client_id = (auth.username if auth and auth.username else
                     request.form.get("client_id", ""))[:64]
        audit(db, "oidc.token_refused", client_id, error=body.get("error", ""),
              reason=str(body.get("error_description", ""))[:200],
              grant_type=request.form.get("grant_type", "")[:40])
    # Commit either way: a refused exchange may have revoked a replayed code's tokens.
    db.commit()
    return response


def _bearer_error(error: str, description: str) -> Response:
    response = _json_error(401, error, description)
    response.headers["WWW-Authenticate"] = (
        f'Bearer error="{error}", error_description="{description}"')
    return response


@api.route("/oidc/userinfo", methods=["GET", "POST"])
def userinfo() -> Any:
    # RFC 6750: in the Authorization header, or (POST only) as a form field; never in the URL.
    scheme, _, value = request.headers.get("Authorization", "").partition(" ")
    if not scheme and request.method == "POST":
        scheme, value = "bearer", request.form.get("access_token", "")
    if scheme.lower() != "bearer" or not value or len(value) > 128:
        return _bearer_error("invalid_request", "A bearer access token is required.")
    db = db_session()
    row = db.scalars(select(OidcToken).where(OidcToken.access_token_hash == digest(value))
                     ).first()
    if row is None or row.revoked or row.is_expired():
        return _bearer_error("invalid_token", "The access token is unknown, expired or revoked.")
    person = load_subject(db, row.person_id)
    if person is None:
        return _bearer_error("invalid_token", "The person of this token is no longer active.")
    response = jsonify(claims_for(db, person, row.scope))
    response.headers["Cache-Control"] = "no-store"
    return response


# --- logout ------------------------------------------------------------------------------------


def _hint_claims(hint: str) -> dict[str, Any] | None:
    """Claims of an ID token this provider signed (expired ones too: it is only a hint)."""
    published = keys.jwks(db_session(), keys.keep_for())
    try:
        decoded = jwt.decode(hint, KeySet.import_key_set(published),  # type: ignore[arg-type]
                             algorithms=["RS256"])
    except (JoseError, ValueError):
        return None
    claims = dict(decoded.claims)
    return claims if claims.get("iss") == issuer() else None


@bp.route("/oidc/logout", methods=["GET", "POST"])
def end_session() -> Any:
    """RP-initiated logout: sign out of the portal (and so of every relying party)."""
    db = db_session()
    too_long = _oversized()
    if too_long:
        return _authorize_error(400, "invalid_request",
                                gettext("The value of “%(name)s” is too long.", name=too_long))
    hint = request.values.get("id_token_hint", "")
    claims = _hint_claims(hint) if hint else None
    if hint and claims is None:
        return _authorize_error(400, "invalid_request",
                                gettext("The ID token hint was not issued by this portal."))
    aud = claims.get("aud") if claims else None
    client_id = request.values.get("client_id") or (aud[0] if isinstance(aud, list) else aud)
    client = find_client(db, str(client_id or ""))
    target = request.values.get("post_logout_redirect_uri", "")
    if target and (client is None or target not in client.post_logout_redirect_uris):
        audit(db, "oidc.logout_refused", str(client_id or "")[:64],
              reason="post_logout_redirect_uri not registered")
        db.commit()
        return _authorize_error(400, "invalid_request", gettext(
            "This address to return to after signing out is not registered for the system."))
    if target and request.values.get("state"):
        target += ("&" if "?" in target else "?") + urlencode({"state": request.values["state"]})
    principal = current_principal()
    if principal is None:
        return redirect(target or url_for("auth.login"))
    # Asked by a system that holds this very session: no need to confirm. Otherwise a link on
    # any page could sign people out, so ask.
    same_session = claims is not None and claims.get("sid") == session_sid(
        session.sid)  # type: ignore[attr-defined]
    if request.method == "GET" and not same_session:
        return render_template("oidc/logout.html", client=client, target=target)
    sign_out(db, principal)
    db.commit()
    return redirect(target or url_for("auth.login"))


# --- administration ----------------------------------------------------------------------------


@bp.get("/admin/oidc/clients")
@role_required("admin")
def clients() -> Any:
    return render_template("oidc/clients.html", clients=list_clients(db_session()),
                           issuer=issuer())
