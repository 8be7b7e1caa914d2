"""Certificate pages: administration per person and department, the person's own
certificates, the one-time PKCS#12 download, and the published CRL and CA certificate."""

from __future__ import annotations

import base64
import secrets
from typing import Any

from flask import (
    Blueprint,
    Response,
    abort,
    flash,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from sqlalchemy import select

from portal.toolkit import (
    OrgUnit,
    Person,
    admin_required,
    audit,
    current_principal,
    db_session,
    gettext,
    lazy_gettext,
    login_required,
)
from sso.ca import authority as ca
from sso.ca import service
from sso.ca.models import IssuedCertificate
from sso.ca.service import CaError

bp = Blueprint("ca", __name__, template_folder="templates")
DOWNLOAD_KEY = "ca_pkcs12"
MAX_NAME = 64
#: What an administrator reads for each RFC 5280 revocation reason.
REASON_LABELS = {
    "unspecified": lazy_gettext("Unspecified"),
    "keyCompromise": lazy_gettext("Key compromised or card lost"),
    "affiliationChanged": lazy_gettext("Changed department or left"),
    "superseded": lazy_gettext("Replaced by a new certificate"),
    "cessationOfOperation": lazy_gettext("No longer needed"),
}


def _refuse(exc: CaError) -> Any:
    db_session().rollback()
    abort(exc.status, exc.message)


# -- published for everyone (nginx, browsers, other systems) --------------------------------


@bp.route("/ca/crl.pem")
def crl_pem() -> Any:
    return _crl(der=False)


@bp.route("/ca/crl.der")
def crl_der() -> Any:
    return _crl(der=True)


def _crl(der: bool) -> Any:
    try:
        data = service.crl_bytes(db_session(), der=der)
    except CaError as exc:
        return _refuse(exc)
    mimetype = "application/pkix-crl" if der else "application/x-pem-file"
    return Response(data, mimetype=mimetype, headers={"Cache-Control": "max-age=300"})


@bp.route("/ca/ca.pem")
def ca_pem() -> Any:
    try:
        authority = service.load_authority(db_session())
    except CaError as exc:
        return _refuse(exc)
    return Response(ca.cert_to_pem(authority.cert), mimetype="application/x-pem-file")


# -- administration -------------------------------------------------------------------------


@bp.route("/admin/certificates")
@admin_required
def admin_index() -> Any:
    s = db_session()
    kind = request.args.get("kind") or None
    if kind not in (None, *(k.value for k in ca.Kind)):
        abort(400, gettext("Unknown certificate kind."))
    return render_template("ca/admin_index.html", rows=service.certificates(s, kind=kind),
                           kind=kind, has_authority=service.has_authority(s),
                           reasons=REASON_LABELS)


@bp.route("/admin/certificates/person/<username>")
@admin_required
def admin_person(username: str) -> Any:
    s = db_session()
    person = s.scalars(select(Person).where(Person.username == username[:MAX_NAME])).first()
    if person is None:
        abort(404, gettext("No such person."))
    return render_template("ca/admin_owner.html", owner=person.display_name,
                           owner_ref=person.username, kind="person",
                           rows=service.certificates(s, person_id=person.id),
                           reasons=REASON_LABELS)


@bp.route("/admin/certificates/department/<code>")
@admin_required
def admin_department(code: str) -> Any:
    s = db_session()
    unit = s.scalars(select(OrgUnit).where(OrgUnit.code == code[:MAX_NAME])).first()
    if unit is None:
        abort(404, gettext("No such department."))
    return render_template("ca/admin_owner.html", owner=unit.name, owner_ref=unit.code,
                           kind="department", rows=service.certificates(s, org_unit_id=unit.id),
                           reasons=REASON_LABELS)


@bp.route("/admin/certificates/issue", methods=["POST"])
@admin_required
def admin_issue() -> Any:
    kind = request.form.get("kind", "")
    ref = (request.form.get("ref") or "").strip()
    if kind not in {k.value for k in ca.Kind} or not ref or len(ref) > MAX_NAME:
        abort(400, gettext("Choose a person or department to issue a certificate to."))
    s = db_session()
    try:
        if kind == ca.Kind.PERSON:
            record = service.issue_for_person(s, ref)
        else:
            record = service.issue_for_department(s, ref)
    except CaError as exc:
        return _refuse(exc)
    s.commit()
    flash(gettext("Certificate %(serial)s issued.", serial=record.serial), "info")
    return redirect(_owner_page(record))


@bp.route("/admin/certificates/<serial>/revoke", methods=["POST"])
@admin_required
def admin_revoke(serial: str) -> Any:
    s = db_session()
    try:
        record = service.revoke(s, serial, request.form.get("reason", "unspecified"))
    except CaError as exc:
        return _refuse(exc)
    s.commit()
    flash(gettext("Certificate %(serial)s revoked.", serial=record.serial), "info")
    return redirect(_owner_page(record))


@bp.route("/admin/certificates/<serial>/pkcs12", methods=["POST"])
@admin_required
def admin_pkcs12(serial: str) -> Any:
    return _prepare_download(serial, back=None, as_admin=True)


def _owner_page(record: IssuedCertificate) -> str:
    if record.person is not None:
        return url_for("ca.admin_person", username=record.person.username)
    if record.org_unit is not None:
        return url_for("ca.admin_department", code=record.org_unit.code)
    return url_for("ca.admin_index")


# -- the person's own certificates ----------------------------------------------------------


@bp.route("/me/certificates")
@login_required
def mine() -> Any:
    principal = current_principal()
    assert principal is not None
    rows = service.certificates(db_session(), person_id=principal.person_id,
                                kind=ca.Kind.PERSON.value)
    return render_template("ca/mine.html", rows=rows, reasons=REASON_LABELS)


@bp.route("/me/certificates/<serial>/pkcs12", methods=["POST"])
@login_required
def my_pkcs12(serial: str) -> Any:
    return _prepare_download(serial, back=url_for("ca.mine"), as_admin=False)


def _prepare_download(serial: str, back: str | None, *, as_admin: bool) -> Any:
    """Make the PKCS#12 under a fresh password, keep it in this session for one download, and
    show the password once. Only the certificate's own person, or an administrator through the
    admin pages (which apply ``ADMIN_ASSURANCE``), gets a file."""
    principal = current_principal()
    assert principal is not None
    s = db_session()
    try:
        record = service.find(s, serial)
    except CaError as exc:
        return _refuse(exc)
    if record is None:
        abort(404, gettext("No such certificate."))
    if record.person_id != principal.person_id and not as_admin:
        audit(s, "ca.export_pkcs12.refused", record.serial, subject=record.subject_dn)
        s.commit()
        abort(403)
    try:
        data, password = service.export_pkcs12(s, record)
    except CaError as exc:
        return _refuse(exc)
    s.commit()
    token = secrets.token_urlsafe(16)
    session[DOWNLOAD_KEY] = {"token": token, "serial": record.serial,
                             "data": base64.b64encode(data).decode()}
    return render_template("ca/download.html", record=record, password=password,
                           download_url=url_for("ca.download", token=token),
                           back=back or _owner_page(record))


@bp.route("/certificates/download/<token>")
@login_required
def download(token: str) -> Any:
    """The file prepared above, once: a second request (or another session) finds nothing."""
    prepared = session.get(DOWNLOAD_KEY)
    if not prepared or not secrets.compare_digest(str(prepared.get("token", "")), token):
        abort(404, gettext("This download has already been used or has expired."))
    session.pop(DOWNLOAD_KEY, None)
    data = base64.b64decode(prepared["data"])
    return Response(data, mimetype="application/x-pkcs12", headers={
        "Content-Disposition": f'attachment; filename="{prepared["serial"]}.p12"',
        "Cache-Control": "no-store"})
