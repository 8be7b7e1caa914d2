"""From a verified client certificate to the person it signs in, or why it signs nobody in.

The proxy has checked the chain and its CRL; this module checks again what the portal knows
better or more recently: the certificate is from *our* CA, not expired, not revoked in our own
records (a revocation counts at once, before nginx reloads the CRL), and a person's, not a
department's (a department certificate signs documents, it never signs in).

How a certificate finds its person is the ``CERT_USER_LOOKUP`` setting: ``issued`` (the record
made when the company CA issued it) or ``directory`` (its ``UID`` is a user name; the person is
looked up, or provisioned, by ``lookup_directory``).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

from cryptography import x509
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID
from sqlalchemy import select
from sqlalchemy.orm import Session

from portal.toolkit import Identity, Person, person_for, setting
from sso.ca import authority as ca
from sso.ca import service
from sso.ca.models import IssuedCertificate
from sso.cert.proxy import Refused

LOOKUPS = ("issued", "directory")

#: The seam for the directory: given the identity a certificate vouches for, return the active
#: person (provisioning them first, if the directory plugin does that) or ``None``. The default
#: asks the portal's own person table; an LDAP deployment plugs its provisioning in here.
lookup_directory: Callable[[Session, Identity], Person | None] = person_for


def _uid(cert: x509.Certificate) -> str | None:
    values = cert.subject.get_attributes_for_oid(NameOID.USER_ID)
    return str(values[0].value) if values else None


def _check_usage(cert: x509.Certificate) -> None:
    try:
        usage = cert.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
    except x509.ExtensionNotFound:
        return
    if ExtendedKeyUsageOID.CLIENT_AUTH not in usage:
        raise Refused("department" if ca.DOCUMENT_SIGNING in usage else "unknown")


def person_for_certificate(db: Session, cert: x509.Certificate,
                           now: datetime | None = None) -> tuple[Person, IssuedCertificate | None]:
    """The active person *cert* signs in, with our record of it if there is one."""
    try:
        authority = service.load_authority(db)
    except service.CaError:
        raise Refused("no_ca", 503) from None
    if not ca.is_issued_by(cert, authority.cert):
        raise Refused("unknown")
    now = now or datetime.now(UTC)
    if not cert.not_valid_before_utc <= now <= cert.not_valid_after_utc:
        raise Refused("expired")
    record = db.scalars(select(IssuedCertificate).where(
        IssuedCertificate.serial == f"{cert.serial_number:X}")).first()
    if record is not None:
        if record.revoked:
            raise Refused("revoked")
        if record.kind != ca.Kind.PERSON.value:
            raise Refused("department")
        if record.subject_dn != cert.subject.rfc4514_string():
            raise Refused("unknown")
    _check_usage(cert)

    mode = str(setting("CERT_USER_LOOKUP"))
    person: Person | None
    if mode == "directory":
        uid = _uid(cert)
        if not uid:
            raise Refused("unknown")
        person = lookup_directory(db, Identity(
            username=uid, backend="certificate",
            attributes={"subject": cert.subject.rfc4514_string(),
                        "serial": f"{cert.serial_number:X}"}))
    else:
        if record is None:
            raise Refused("unknown")
        person = db.get(Person, record.person_id) if record.person_id else None
    if person is None or not person.active:
        raise Refused("no_person")
    return person, record
