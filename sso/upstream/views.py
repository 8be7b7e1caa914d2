"""``/login/upstream/<name>``: sign in through an upstream OpenID Connect provider.

The browser goes to the provider's authorize endpoint (code flow, PKCE S256, state, nonce) and
comes back to ``/login/upstream/<name>/callback``; the code is exchanged, the ID token checked
(:mod:`sso.upstream.tokens`), the person linked by the username claim and created or updated by
the provisioning rules, and the session started by ``sign_in`` like a password sign-in.

Every refusal is a page with a reason, audited as ``upstream.refused``; the password form stays
usable when the upstream is down.
"""

from __future__ import annotations

import logging
from typing import Any
from urllib.parse import urlencode

from authlib.integrations.base_client import OAuthError
from flask import (
    Blueprint,
    Response,
    abort,
    g,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_babel import get_locale
from requests.exceptions import RequestException
from sqlalchemy import select

from portal.toolkit import (
    Identity,
    Person,
    audit,
    db_session,
    lazy_gettext,
    person_for,
    safe_next,
    setting,
    sign_in,
)
from sso.provisioning import ProvisioningError, provision_with_outcome
from sso.upstream import client as upstream_client
from sso.upstream.providers import Provider
from sso.upstream.tokens import InvalidIdToken, flatten, validate_id_token

log = logging.getLogger(__name__)
bp = Blueprint("upstream", __name__, template_folder="templates")
MAX_NEXT = 500
#: Session key of the upstream sign-in (provider and ID token), for RP-initiated logout.
SESSION_KEY = "upstream_signin"

MESSAGES = {
    "unavailable": lazy_gettext("The identity provider cannot be reached at the moment. Please "
                                "try again later, or sign in with your password."),
    "state": lazy_gettext("This sign-in link has expired or was already used. Please start "
                          "again."),
    "denied": lazy_gettext("The identity provider did not sign you in."),
    "code": lazy_gettext("The identity provider refused to complete the sign-in. Please start "
                         "again."),
    "signature": lazy_gettext("The identity provider's answer is not signed with its keys."),
    "issuer": lazy_gettext("The identity provider's answer comes from an unexpected issuer."),
    "audience": lazy_gettext("The identity provider's answer was issued for another "
                             "application."),
    "expired": lazy_gettext("The identity provider's answer has expired. Please start again."),
    "nonce": lazy_gettext("The identity provider's answer does not belong to this sign-in."),
    "malformed": lazy_gettext("The identity provider's answer is not a valid ID token."),
    "claims": lazy_gettext("The identity provider did not say who you are (no user name)."),
    "not_registered": lazy_gettext("You are not registered in the portal. Ask the "
                                   "administrator to create your account."),
    "inactive": lazy_gettext("Your portal account is deactivated."),
}
#: HTTP status of each refusal: the upstream's fault 502/503, a stale browser 400, an answer
#: we cannot believe 401, a person we will not let in 403.
STATUS = {"unavailable": 503, "state": 400, "denied": 403, "code": 502, "signature": 401,
          "issuer": 401, "audience": 401, "expired": 401, "nonce": 401, "malformed": 401,
          "claims": 403, "not_registered": 403, "inactive": 403}


def _provider(name: str) -> tuple[Provider, Any]:
    state = upstream_client.upstream()
    if state is None or name not in state.providers:
        abort(404)
    return state.providers[name], state.client(name)


def _public_url(endpoint: str, **values: Any) -> str:
    """An absolute URL of this portal as the upstream must see it: behind a TLS proxy the
    request's own URL may say http://internal-host, which no provider has registered."""
    base = str(setting("UPSTREAM_OIDC_BASE_URL") or "").rstrip("/")
    return base + url_for(endpoint, **values) if base else url_for(endpoint, _external=True,
                                                                   **values)


def label(provider: Provider) -> str:
    return provider.label(str(get_locale() or "zh_CN"))


@bp.route("/login/upstream/<name>")
def login(name: str) -> Any:
    provider, client = _provider(name)
    next_url = request.args.get("next", "")[:MAX_NEXT]
    next_url = next_url if safe_next(next_url) == next_url else ""
    try:
        upstream_client.metadata(client, provider)
    except upstream_client.UpstreamUnavailable as exc:
        return _refuse(provider, "unavailable", str(exc))
    callback = _public_url("upstream.callback", name=name)
    rv = client.create_authorization_url(callback)
    client.save_authorize_data(redirect_uri=callback, next=next_url, **rv)
    return redirect(rv["url"])


@bp.route("/login/upstream/<name>/callback")
def callback(name: str) -> Any:
    provider, client = _provider(name)
    state = request.args.get("state", "")[:200]
    data = client.framework.get_state_data(session, state) if state else None
    if state:
        client.framework.clear_state_data(session, state)  # a callback is used once
    if not data:
        return _refuse(provider, "state", "no sign-in of this browser has this state")
    if request.args.get("error"):
        return _refuse(provider, "denied", request.args.get("error", "")[:100])
    code = request.args.get("code", "")
    if not code or len(code) > 2000:
        return _refuse(provider, "code", "no code")
    try:
        meta = upstream_client.metadata(client, provider)
        token = client.fetch_access_token(redirect_uri=data["redirect_uri"], code=code,
                                          code_verifier=data["code_verifier"])
    except (upstream_client.UpstreamUnavailable, RequestException) as exc:
        return _refuse(provider, "unavailable", str(exc)[:200])
    except OAuthError as exc:  # the token endpoint said no: invalid_grant, invalid_client...
        return _refuse(provider, "code", f"{exc.error}: {exc.description or ''}"[:200])
    except ValueError as exc:  # an answer that is not a token response (not JSON...)
        return _refuse(provider, "code", str(exc)[:200])
    try:
        claims = validate_id_token(
            str(token.get("id_token") or ""), issuer=str(meta["issuer"]),
            client_id=provider.client_id, nonce=str(data.get("nonce") or ""),
            keys=lambda force: upstream_client.jwks(client, force))
    except InvalidIdToken as exc:
        return _refuse(provider, exc.reason, exc.detail)
    except upstream_client.UpstreamUnavailable as exc:
        return _refuse(provider, "unavailable", str(exc))
    return _sign_in(provider, claims, str(token["id_token"]), str(data.get("next") or ""))


def _sign_in(provider: Provider, claims: dict[str, Any], id_token: str, next_url: str) -> Any:
    attributes = flatten(claims)
    wanted = provider.rules.username.lower()
    username = next((v[0].strip() for k, v in attributes.items()
                     if k.lower() == wanted and v and v[0].strip()), "")
    s = db_session()
    if not username:
        return _refuse(provider, "claims", f"claim {provider.rules.username!r} missing",
                       subject=str(claims.get("sub", "")))
    known = s.scalars(select(Person.id).where(Person.username == username)).first()
    if known is None and not provider.provision:
        return _refuse(provider, "not_registered", username, subject=str(claims["sub"]))
    try:
        result = provision_with_outcome(s, attributes, provider.rules)
    except ProvisioningError as exc:
        s.rollback()
        return _refuse(provider, "claims", str(exc), subject=str(claims["sub"]))
    s.flush()
    identity = Identity(username=result.person.username, backend="upstream",
                        attributes={"provider": provider.name, "sub": str(claims["sub"])})
    person = person_for(s, identity)
    if person is None:
        s.rollback()
        return _refuse(provider, "inactive", username, subject=str(claims["sub"]))
    if result.outcome == "created":
        audit(s, "person.provisioned", person.username, actor=f"upstream:{provider.name}",
              sub=str(claims["sub"]))
    sign_in(s, person, identity)
    audit(s, "upstream.login", person.username, actor_id=person.id, actor=person.username,
          provider=provider.name, sub=str(claims["sub"]), outcome=result.outcome)
    session[SESSION_KEY] = {"provider": provider.name, "id_token": id_token}
    s.commit()
    return redirect(safe_next(next_url))


def _refuse(provider: Provider, reason: str, detail: str, subject: str = "") -> Any:
    """The refusal page, audited; nothing of the attempt is kept."""
    s = db_session()
    s.rollback()
    log.warning("upstream %s sign-in refused: %s (%s)", provider.name, reason, detail)
    principal = g.get("principal")
    audit(s, "upstream.refused", provider.name, actor=principal.username if principal else "",
          reason=reason, detail=detail[:200], sub=subject[:200])
    s.commit()
    status = STATUS[reason]
    return render_template("upstream/refused.html", message=MESSAGES[reason], reason=reason,
                           status=status, provider=label(provider),
                           retry=url_for("upstream.login", name=provider.name)), status


# --- sign-out --------------------------------------------------------------------------------


@bp.before_app_request
def _remember_upstream_signin() -> None:
    """The core's ``POST /logout`` clears the session; keep what RP-initiated logout needs."""
    if request.endpoint == "auth.logout" and request.method == "POST":
        g.upstream_signin = session.get(SESSION_KEY)


@bp.after_app_request
def _upstream_logout(response: Response) -> Response:
    """After the portal session ended, send the browser on to the upstream's end-session
    endpoint (when it publishes one and ``rp_logout`` is on), which comes back to our sign-in
    page. If the upstream cannot be asked, the portal's sign-out stands on its own."""
    held = g.pop("upstream_signin", None)
    if not held or response.status_code != 302:
        return response
    state = upstream_client.upstream()
    provider = state.providers.get(held.get("provider", "")) if state else None
    if provider is None or not provider.rp_logout or state is None:
        return response
    try:
        meta = upstream_client.metadata(state.client(provider.name), provider)
    except upstream_client.UpstreamUnavailable as exc:
        log.warning("no upstream logout for %s: %s", provider.name, exc)
        return response
    endpoint = meta.get("end_session_endpoint")
    if not endpoint:
        return response
    params = {"id_token_hint": held.get("id_token", ""), "client_id": provider.client_id,
              "post_logout_redirect_uri": _public_url("auth.login")}
    response.headers["Location"] = f"{endpoint}{'&' if '?' in endpoint else '?'}" + \
        urlencode(params)
    return response
