"""``/login/certificate``: sign in, or step up a password session, with a client certificate.

nginx passes requests with a failing certificate on to the portal (``error_page 495``) with
the reason in ``X-SSL-Client-Verify``, so that a revoked or expired certificate gets this
page in Chinese rather than nginx's English 400.
"""

from __future__ import annotations

import logging
from typing import Any

from flask import Blueprint, flash, g, redirect, render_template, request, url_for

from portal.toolkit import (
    Identity,
    audit,
    db_session,
    gettext,
    lazy_gettext,
    safe_next,
    setting,
    sign_in,
)
from sso.cert import mapping, proxy
from sso.cert.proxy import Refused

log = logging.getLogger(__name__)
bp = Blueprint("cert", __name__, template_folder="templates")
MAX_NEXT = 500

MESSAGES = {
    "too_long": lazy_gettext("The certificate information sent with this request is too long."),
    "malformed": lazy_gettext("The certificate information sent with this request is "
                              "malformed."),
    "expired": lazy_gettext("Your certificate has expired. Ask the administrator for a new "
                            "one."),
    "revoked": lazy_gettext("Your certificate has been revoked and can no longer be used."),
    "failed": lazy_gettext("Your certificate could not be verified."),
    "unknown": lazy_gettext("This certificate was not issued to a person by the company CA."),
    "department": lazy_gettext("A department certificate signs documents; it cannot be used "
                               "to sign in."),
    "purpose": lazy_gettext("This certificate is not for signing in (a department certificate "
                            "only signs documents)."),
    "no_person": lazy_gettext("The person of this certificate has no active account."),
    "other_person": lazy_gettext("This certificate belongs to someone else than the person "
                                 "signed in."),
    "no_ca": lazy_gettext("Certificate sign-in is not set up on this portal yet."),
}


@bp.route("/login/certificate")
def login() -> Any:
    next_url = request.args.get("next", "")[:MAX_NEXT]
    s = db_session()
    presented: proxy.Presented | None = None
    try:
        presented = _presented()
        if presented is not None:
            person, record = mapping.person_for_certificate(s, presented.cert)
    except Refused as refusal:
        return _refuse(refusal, presented)
    if presented is None:
        flash(gettext("No certificate was presented. Sign in with your password, or install "
                      "your certificate and try again."), "info")
        return redirect(url_for("auth.login", next=next_url) if next_url
                        else url_for("auth.login"))

    principal = g.principal
    step_up = principal is not None
    if step_up and principal.person_id != person.id:
        return _refuse(Refused("other_person"), presented)
    identity = Identity(username=person.username, backend="certificate",
                        attributes={"serial": presented.serial,
                                    "subject": presented.subject_dn})
    sign_in(s, person, identity)
    audit(s, "certificate.step_up" if step_up else "certificate.login", presented.serial,
          actor_id=person.id, actor=person.username, subject=presented.subject_dn,
          known=record is not None)
    s.commit()
    return redirect(safe_next(next_url))


def _presented() -> proxy.Presented | None:
    """The certificate the trusted proxy passed on, or ``None``. Headers from anybody else are
    a forgery: ignored, logged and audited, exactly as if no certificate had been shown."""
    sent = proxy.sent_headers(request)
    if not sent:
        return None
    entries = setting("CERT_TRUSTED_PROXIES")
    assert isinstance(entries, list)
    try:
        networks = proxy.trusted_networks(entries)
    except ValueError as exc:  # also reported at start-up: the plugin shows as broken
        log.error("%s; no proxy is trusted", exc)
        networks = []
    if not proxy.is_trusted(request.remote_addr, networks):
        log.warning("certificate headers %s from untrusted address %s ignored", sent,
                    request.remote_addr)
        s = db_session()
        audit(s, "certificate.forged", request.remote_addr or "", actor="",
              headers=sent, subject=request.headers.get(proxy.SUBJECT, "")[:200])
        s.commit()
        return None
    return proxy.read(request)


def _refuse(refusal: Refused, presented: proxy.Presented | None) -> Any:
    s = db_session()
    s.rollback()
    principal = g.principal
    audit(s, "certificate.refused", presented.serial if presented else "",
          actor=principal.username if principal else "", reason=refusal.reason,
          detail=refusal.detail[:200],
          subject=presented.subject_dn if presented else
          request.headers.get(proxy.SUBJECT, "")[:200])
    s.commit()
    message = MESSAGES.get(refusal.reason, MESSAGES["failed"])
    return render_template("cert/refused.html", message=message, reason=refusal.reason,
                           status=refusal.status), refusal.status
