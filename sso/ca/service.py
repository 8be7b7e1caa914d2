"""The company CA with its records: issue, revoke, publish, export, and sign for a department.

The command line and the admin pages call these functions; each one audits what it did in the
caller's transaction, and the caller commits. Problems an operator can fix are ``CaError`` with
a translated message and the HTTP status a page should answer with.
"""

from __future__ import annotations

import re
import secrets
from datetime import UTC, datetime

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from flask import current_app
from sqlalchemy import select
from sqlalchemy.orm import Session

from portal.toolkit import OrgUnit, Person, audit, gettext
from sso.ca import authority as ca
from sso.ca.models import CaAuthority, IssuedCertificate

SERIAL = re.compile(r"^[0-9A-Fa-f:]{1,128}$")
#: Letters and digits that cannot be mistaken for one another when read aloud or copied.
PASSWORD_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnpqrstuvwxyz23456789"


class CaError(Exception):
    """Something the operator asked for cannot be done; ``status`` is the page's answer."""

    def __init__(self, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.message = message
        self.status = status


def _now() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


def _naive(value: datetime) -> datetime:
    return value.astimezone(UTC).replace(tzinfo=None) if value.tzinfo else value


def passphrase() -> bytes:
    """What encrypts keys at rest: ``CA_KEY_PASSWORD``, else ``SECRET_KEY``."""
    settings = current_app.extensions["portal"].settings
    return str(settings["CA_KEY_PASSWORD"] or settings["SECRET_KEY"]).encode()


def normalise_serial(text: str) -> str:
    """Upper-case hexadecimal without leading zeros or colons (``0A:1b`` → ``A1B``)."""
    text = text.strip()
    if not SERIAL.match(text) or not text.replace(":", ""):
        raise CaError(gettext("Not a certificate serial number: %(serial)s", serial=text[:80]))
    return f"{int(text.replace(':', ''), 16):X}"


# -- the authority --------------------------------------------------------------------------


def load_authority(db: Session) -> ca.Authority:
    row = db.scalars(select(CaAuthority).order_by(CaAuthority.id.desc())).first()
    if row is None:
        raise CaError(gettext("The company CA has not been created yet (portal ca init)."), 503)
    return ca.Authority(ca.cert_from_pem(row.cert_pem), ca.key_from_pem(row.key_pem,
                                                                         passphrase()))


def has_authority(db: Session) -> bool:
    return db.scalar(select(CaAuthority.id).limit(1)) is not None


def init_authority(db: Session, common_name: str, organization: str, *,
                   days: int = 3650) -> ca.Authority:
    """Create the CA. Refused when one exists: replacing it would orphan every certificate."""
    if has_authority(db):
        raise CaError(gettext("The company CA already exists."), 409)
    authority = ca.create_authority(common_name, organization, days=days)
    db.add(CaAuthority(cert_pem=ca.cert_to_pem(authority.cert),
                       key_pem=ca.key_to_pem(authority.key, passphrase())))
    audit(db, "ca.init", common_name, actor="cli", organization=organization)
    return authority


# -- issuing and revoking -------------------------------------------------------------------


def _record(db: Session, authority: ca.Authority, kind: ca.Kind, subject: x509.Name, *,
            person: Person | None = None, unit: OrgUnit | None = None,
            days: int | None = None, email: str | None = None,
            now: datetime | None = None) -> IssuedCertificate:
    settings = current_app.extensions["portal"].settings
    days = int(settings["CA_CERT_DAYS"] if days is None else days)
    if not 1 <= days <= 3650:
        raise CaError(gettext("A certificate is valid for 1 to 3650 days."))
    cert, key = ca.issue(authority, subject, kind, days=days, email=email,
                         now=now.replace(tzinfo=UTC) if now else None)
    record = IssuedCertificate(
        serial=f"{cert.serial_number:X}", kind=kind.value,
        person_id=person.id if person else None, org_unit_id=unit.id if unit else None,
        subject_dn=cert.subject.rfc4514_string(),
        not_before=_naive(cert.not_valid_before_utc), not_after=_naive(cert.not_valid_after_utc),
        cert_pem=ca.cert_to_pem(cert), key_pem=ca.key_to_pem(key, passphrase()))
    db.add(record)
    db.flush()
    audit(db, "ca.issue", record.serial, actor="cli", kind=kind.value,
                 subject=record.subject_dn)
    return record


def issue_for_person(db: Session, username: str, *, days: int | None = None,
                     now: datetime | None = None) -> IssuedCertificate:
    person = db.scalars(select(Person).where(Person.username == username)).first()
    if person is None or not person.active:
        raise CaError(gettext("No active person with user name %(name)s.", name=username), 404)
    authority = load_authority(db)
    unit = db.get(OrgUnit, person.org_unit_id) if person.org_unit_id else None
    subject = ca.person_subject(authority, person.username, person.display_name,
                                unit.name if unit else None)
    return _record(db, authority, ca.Kind.PERSON, subject, person=person, days=days,
                   email=person.email, now=now)


def issue_for_department(db: Session, code: str, *, days: int | None = None,
                         now: datetime | None = None) -> IssuedCertificate:
    unit = db.scalars(select(OrgUnit).where(OrgUnit.code == code)).first()
    if unit is None:
        raise CaError(gettext("No department with code %(code)s.", code=code), 404)
    authority = load_authority(db)
    return _record(db, authority, ca.Kind.DEPARTMENT,
                   ca.department_subject(authority, unit.code, unit.name), unit=unit,
                   days=days, now=now)


def department_certificate(db: Session, unit_id: int | None,
                           now: datetime | None = None) -> IssuedCertificate | None:
    """The newest department certificate of *unit_id* that is neither revoked nor expired."""
    if unit_id is None:
        return None
    rows = db.scalars(select(IssuedCertificate).where(
        IssuedCertificate.kind == ca.Kind.DEPARTMENT.value,
        IssuedCertificate.org_unit_id == unit_id,
        IssuedCertificate.revoked_at.is_(None))
        .order_by(IssuedCertificate.not_after.desc(), IssuedCertificate.id.desc()))
    return next((r for r in rows if not r.expired(now)), None)


def find(db: Session, serial: str) -> IssuedCertificate | None:
    return db.scalars(select(IssuedCertificate).where(
        IssuedCertificate.serial == normalise_serial(serial))).first()


def revoke(db: Session, serial: str, reason: str) -> IssuedCertificate:
    if reason not in ca.REASONS:
        raise CaError(gettext("Unknown revocation reason %(reason)s; use one of %(known)s.",
                              reason=reason[:40], known=", ".join(ca.REASONS)))
    record = find(db, serial)
    if record is None:
        raise CaError(gettext("No certificate with serial number %(serial)s.",
                              serial=serial[:80]), 404)
    if record.revoked:
        raise CaError(gettext("Certificate %(serial)s is already revoked.",
                              serial=record.serial), 409)
    record.revoked_at = _now()
    record.revocation_reason = reason
    audit(db, "ca.revoke", record.serial, actor="cli", reason=reason,
                 subject=record.subject_dn)
    return record


def certificates(db: Session, *, person_id: int | None = None, org_unit_id: int | None = None,
                 kind: str | None = None, limit: int = 500) -> list[IssuedCertificate]:
    query = select(IssuedCertificate)
    if person_id is not None:
        query = query.where(IssuedCertificate.person_id == person_id)
    if org_unit_id is not None:
        query = query.where(IssuedCertificate.org_unit_id == org_unit_id)
    if kind is not None:
        query = query.where(IssuedCertificate.kind == kind)
    return list(db.scalars(query.order_by(IssuedCertificate.issued_at.desc(),
                                          IssuedCertificate.id.desc()).limit(limit)))


# -- publishing -----------------------------------------------------------------------------


def crl(db: Session) -> x509.CertificateRevocationList:
    """The current CRL, signed now, listing every revoked certificate."""
    authority = load_authority(db)
    rows = db.execute(select(IssuedCertificate.serial, IssuedCertificate.revoked_at,
                             IssuedCertificate.revocation_reason)
                      .where(IssuedCertificate.revoked_at.is_not(None))).all()
    return ca.build_crl(authority, [(int(r.serial, 16), r.revoked_at, r.revocation_reason)
                                    for r in rows])


def crl_bytes(db: Session, der: bool = False) -> bytes:
    encoding = serialization.Encoding.DER if der else serialization.Encoding.PEM
    return crl(db).public_bytes(encoding)


def one_time_password() -> str:
    """Sixteen characters in four groups, shown once to whoever downloads the PKCS#12."""
    chars = "".join(secrets.choice(PASSWORD_ALPHABET) for _ in range(16))
    return "-".join(chars[i:i + 4] for i in range(0, 16, 4))


def export_pkcs12(db: Session, record: IssuedCertificate) -> tuple[bytes, str]:
    """The person's key and certificate as PKCS#12, under a fresh password (audited)."""
    if record.kind != ca.Kind.PERSON.value:
        raise CaError(gettext("A department's key never leaves the portal."), 403)
    if record.revoked:
        raise CaError(gettext("Certificate %(serial)s is revoked.", serial=record.serial), 409)
    if record.key_pem is None:
        raise CaError(gettext("The portal does not hold the key of this certificate."), 404)
    authority = load_authority(db)
    password = one_time_password()
    data = ca.pkcs12_bundle(ca.cert_from_pem(record.cert_pem),
                            ca.key_from_pem(record.key_pem, passphrase()), authority.cert,
                            password.encode(), record.subject_dn)
    audit(db, "ca.export_pkcs12", record.serial, actor="cli", subject=record.subject_dn)
    return data, password


# -- documents signed by a department (issue 8) ---------------------------------------------


def sign_detached(db: Session, department_cert_id: int, data: bytes) -> bytes:
    """A detached CMS signature of *data* with the key of a department's certificate."""
    record = db.get(IssuedCertificate, department_cert_id)
    if record is None or record.kind != ca.Kind.DEPARTMENT.value:
        raise CaError(gettext("No department certificate %(id)s.", id=department_cert_id), 404)
    if record.revoked or record.expired():
        raise CaError(gettext("Certificate %(serial)s is revoked or expired.",
                              serial=record.serial), 409)
    if record.key_pem is None:
        raise CaError(gettext("The portal does not hold the key of this certificate."), 404)
    signature = ca.sign_detached(ca.cert_from_pem(record.cert_pem),
                                 ca.key_from_pem(record.key_pem, passphrase()), data)
    audit(db, "ca.sign", record.serial, actor="cli", subject=record.subject_dn,
                 bytes=len(data))
    return signature


def verify_detached(db: Session, signature: bytes, data: bytes) -> IssuedCertificate:
    """The department certificate that signed *data*; ``ca.SignatureInvalid`` when the
    signature does not verify, is not by a department of ours, or that certificate is revoked.
    """
    signer = ca.verify_detached(signature, data, load_authority(db).cert)
    record = db.scalars(select(IssuedCertificate).where(
        IssuedCertificate.serial == f"{signer.serial_number:X}")).first()
    if record is None or record.kind != ca.Kind.DEPARTMENT.value:
        raise ca.SignatureInvalid("the signer is not a department certificate of this CA")
    if record.revoked:
        raise ca.SignatureInvalid(f"the signer's certificate {record.serial} is revoked")
    return record
