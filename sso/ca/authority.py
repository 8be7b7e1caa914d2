"""The company CA's cryptography, with no database: keys, certificates, CRLs, PKCS#12, CMS.

Everything here is a pure function of its arguments (and the clock, which callers may pass), so
the CLI, the admin pages and the tests share it. Keys are EC P-256 (P-384 for the CA): small
enough to travel in a proxy header, and supported by browsers and CMS tools alike.
"""

from __future__ import annotations

import enum
import hashlib
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from ipaddress import ip_address

from asn1crypto import cms as asn1_cms
from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.hazmat.primitives.serialization import pkcs7, pkcs12
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID, ObjectIdentifier

#: id-kp-documentSigning (RFC 9336): what a department certificate is for.
DOCUMENT_SIGNING = ObjectIdentifier("1.3.6.1.5.5.7.3.36")


class Kind(enum.StrEnum):
    """Whom a certificate names. A person signs in with it; a department signs documents."""

    PERSON = "person"
    DEPARTMENT = "department"


class SignatureInvalid(ValueError):
    """A detached signature is malformed, does not match the data, or is not from our CA."""


@dataclass(frozen=True)
class Authority:
    """The CA's certificate and private key."""

    cert: x509.Certificate
    key: ec.EllipticCurvePrivateKey

    @property
    def organization(self) -> str:
        values = self.cert.subject.get_attributes_for_oid(NameOID.ORGANIZATION_NAME)
        return str(values[0].value) if values else ""


def utcnow() -> datetime:
    return datetime.now(UTC)


def create_authority(common_name: str, organization: str, *, days: int = 3650,
                     now: datetime | None = None) -> Authority:
    """A new self-signed CA that may sign end-entity certificates and CRLs only."""
    now = now or utcnow()
    key = ec.generate_private_key(ec.SECP384R1())
    name = x509.Name([x509.NameAttribute(NameOID.ORGANIZATION_NAME, organization),
                      x509.NameAttribute(NameOID.COMMON_NAME, common_name)])
    ski = x509.SubjectKeyIdentifier.from_public_key(key.public_key())
    cert = (x509.CertificateBuilder()
            .subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - timedelta(minutes=5))
            .not_valid_after(now + timedelta(days=days))
            .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
            .add_extension(x509.KeyUsage(digital_signature=False, content_commitment=False,
                                         key_encipherment=False, data_encipherment=False,
                                         key_agreement=False, key_cert_sign=True, crl_sign=True,
                                         encipher_only=False, decipher_only=False),
                           critical=True)
            .add_extension(ski, critical=False)
            .sign(key, hashes.SHA384()))
    return Authority(cert, key)


def person_subject(authority: Authority, username: str, display_name: str,
                   unit: str | None) -> x509.Name:
    """``UID=<user name>,CN=<name>,OU=<org unit>,O=<company>``: the UID is what maps the
    certificate back to a person when the directory is asked."""
    attrs = [x509.NameAttribute(NameOID.ORGANIZATION_NAME, authority.organization)]
    if unit:
        attrs.append(x509.NameAttribute(NameOID.ORGANIZATIONAL_UNIT_NAME, unit))
    attrs += [x509.NameAttribute(NameOID.COMMON_NAME, display_name),
              x509.NameAttribute(NameOID.USER_ID, username)]
    return x509.Name(attrs)


def department_subject(authority: Authority, code: str, name: str) -> x509.Name:
    """``CN=<unit name>,OU=<unit code>,O=<company>``."""
    return x509.Name([x509.NameAttribute(NameOID.ORGANIZATION_NAME, authority.organization),
                      x509.NameAttribute(NameOID.ORGANIZATIONAL_UNIT_NAME, code),
                      x509.NameAttribute(NameOID.COMMON_NAME, name)])


def issue(authority: Authority, subject: x509.Name, kind: Kind, *, days: int,
          email: str | None = None, now: datetime | None = None,
          ) -> tuple[x509.Certificate, ec.EllipticCurvePrivateKey]:
    """A new key pair and its certificate: client authentication for a person, document
    signing (and never client authentication) for a department."""
    now = now or utcnow()
    key = ec.generate_private_key(ec.SECP256R1())
    usage = ([ExtendedKeyUsageOID.CLIENT_AUTH, ExtendedKeyUsageOID.EMAIL_PROTECTION]
             if kind is Kind.PERSON else [DOCUMENT_SIGNING])
    builder = (x509.CertificateBuilder()
               .subject_name(subject).issuer_name(authority.cert.subject)
               .public_key(key.public_key())
               .serial_number(x509.random_serial_number())
               .not_valid_before(now - timedelta(minutes=5))
               .not_valid_after(now + timedelta(days=days))
               .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
               .add_extension(x509.KeyUsage(digital_signature=True,
                                            content_commitment=kind is Kind.DEPARTMENT,
                                            key_encipherment=False, data_encipherment=False,
                                            key_agreement=False, key_cert_sign=False,
                                            crl_sign=False, encipher_only=False,
                                            decipher_only=False), critical=True)
               .add_extension(x509.ExtendedKeyUsage(usage), critical=False)
               .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(
                   authority.key.public_key()), critical=False))
    if email:
        builder = builder.add_extension(x509.SubjectAlternativeName([x509.RFC822Name(email)]),
                                        critical=False)
    return builder.sign(authority.key, hashes.SHA256()), key


def issue_server(authority: Authority, hostnames: Iterable[str], *, days: int = 365,
                 now: datetime | None = None,
                 ) -> tuple[x509.Certificate, ec.EllipticCurvePrivateKey]:
    """A TLS server certificate (for the nginx in front of the portal in demos and tests)."""
    now = now or utcnow()
    names = list(hostnames)
    key = ec.generate_private_key(ec.SECP256R1())
    alt: list[x509.GeneralName] = []
    for name in names:
        try:
            alt.append(x509.IPAddress(ip_address(name)))
        except ValueError:
            alt.append(x509.DNSName(name))
    cert = (x509.CertificateBuilder()
            .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, names[0])]))
            .issuer_name(authority.cert.subject).public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - timedelta(minutes=5))
            .not_valid_after(now + timedelta(days=days))
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]),
                           critical=False)
            .add_extension(x509.SubjectAlternativeName(alt), critical=False)
            .sign(authority.key, hashes.SHA256()))
    return cert, key


def is_issued_by(cert: x509.Certificate, authority_cert: x509.Certificate) -> bool:
    """Was *cert* signed by this CA's key (not merely a look-alike issuer name)?"""
    try:
        cert.verify_directly_issued_by(authority_cert)
    except (ValueError, TypeError, InvalidSignature):
        return False
    return True


def build_crl(authority: Authority, revoked: Iterable[tuple[int, datetime, str | None]], *,
              days: int = 7, now: datetime | None = None) -> x509.CertificateRevocationList:
    """A CRL listing ``(serial, revoked at, reason)``; valid for *days* (nginx refuses every
    client once the CRL it loaded has expired, so publish again well before)."""
    now = now or utcnow()
    builder = (x509.CertificateRevocationListBuilder()
               .issuer_name(authority.cert.subject)
               .last_update(now - timedelta(minutes=5))
               .next_update(now + timedelta(days=days)))
    for serial, at, reason in revoked:
        entry = (x509.RevokedCertificateBuilder().serial_number(serial)
                 .revocation_date(at if at.tzinfo else at.replace(tzinfo=UTC)))
        flag = REASONS.get(reason or "")
        if flag is not None:
            entry = entry.add_extension(x509.CRLReason(flag), critical=False)
        builder = builder.add_revoked_certificate(entry.build())
    return builder.sign(authority.key, hashes.SHA384())


#: Revocation reasons an administrator may choose (RFC 5280 names).
REASONS: dict[str, x509.ReasonFlags] = {
    "unspecified": x509.ReasonFlags.unspecified,
    "keyCompromise": x509.ReasonFlags.key_compromise,
    "affiliationChanged": x509.ReasonFlags.affiliation_changed,
    "superseded": x509.ReasonFlags.superseded,
    "cessationOfOperation": x509.ReasonFlags.cessation_of_operation,
}


def pkcs12_bundle(cert: x509.Certificate, key: ec.EllipticCurvePrivateKey,
                  authority_cert: x509.Certificate, password: bytes, name: str) -> bytes:
    """A PKCS#12 file (key, certificate and the CA) that browsers and Windows import."""
    encryption = (serialization.PrivateFormat.PKCS12.encryption_builder()
                  .kdf_rounds(50000)
                  .key_cert_algorithm(pkcs12.PBES.PBESv2SHA256AndAES256CBC)
                  .hmac_hash(hashes.SHA256())
                  .build(password))
    return pkcs12.serialize_key_and_certificates(name.encode(), key, cert, [authority_cert],
                                                 encryption)


def key_to_pem(key: ec.EllipticCurvePrivateKey, passphrase: bytes) -> str:
    """The private key as encrypted PKCS#8 PEM, for keeping at rest."""
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.BestAvailableEncryption(passphrase)).decode()


def key_from_pem(pem: str, passphrase: bytes) -> ec.EllipticCurvePrivateKey:
    key = serialization.load_pem_private_key(pem.encode(), passphrase)
    if not isinstance(key, ec.EllipticCurvePrivateKey):
        raise ValueError("not an EC private key")
    return key


def cert_to_pem(cert: x509.Certificate) -> str:
    return cert.public_bytes(serialization.Encoding.PEM).decode()


def cert_from_pem(pem: str | bytes) -> x509.Certificate:
    return x509.load_pem_x509_certificate(pem.encode() if isinstance(pem, str) else pem)


# -- detached CMS signatures (PKCS#7), for documents signed by a department -------------------


def sign_detached(cert: x509.Certificate, key: ec.EllipticCurvePrivateKey, data: bytes) -> bytes:
    """A detached CMS SignedData (DER) over *data*, carrying the signer's certificate."""
    return (pkcs7.PKCS7SignatureBuilder().set_data(data)
            .add_signer(cert, key, hashes.SHA256())
            .sign(serialization.Encoding.DER, [pkcs7.PKCS7Options.DetachedSignature,
                                               pkcs7.PKCS7Options.Binary]))


def verify_detached(signature: bytes, data: bytes,
                    authority_cert: x509.Certificate) -> x509.Certificate:
    """Return the signer's certificate when *signature* is a valid detached CMS signature of
    *data* by a certificate this CA issued; raise ``SignatureInvalid`` otherwise.

    ``cryptography`` can write CMS but not verify it, so the structure is read with
    ``asn1crypto`` and every check (digest, signature, issuer) is done here explicitly.
    """
    try:
        info = asn1_cms.ContentInfo.load(signature)
        if info["content_type"].native != "signed_data":
            raise SignatureInvalid("not a CMS signed-data structure")
        signed = info["content"]
        if signed["encap_content_info"]["content"].native is not None:
            raise SignatureInvalid("the signature is not detached")
        signers = list(signed["signer_infos"])
        if len(signers) != 1:
            raise SignatureInvalid("expected exactly one signer")
        signer = signers[0]
        sid = signer["sid"]
        if sid.name != "issuer_and_serial_number":
            raise SignatureInvalid("signer not identified by issuer and serial number")
        wanted_serial = sid.chosen["serial_number"].native
        cert = None
        for choice in signed["certificates"] or []:
            candidate = x509.load_der_x509_certificate(choice.chosen.dump())
            if candidate.serial_number == wanted_serial:
                cert = candidate
        if cert is None:
            raise SignatureInvalid("the signer's certificate is not in the signature")
        digest_name = signer["digest_algorithm"]["algorithm"].native
        if digest_name != "sha256":
            raise SignatureInvalid(f"unsupported digest {digest_name}")
        attrs = signer["signed_attrs"]
        if not attrs:
            raise SignatureInvalid("no signed attributes")
        digests = [a["values"][0].native for a in attrs if a["type"].native == "message_digest"]
        if digests != [hashlib.sha256(data).digest()]:
            raise SignatureInvalid("the document does not match the signature")
        signed_bytes = attrs.untag().dump(force=True)  # signed as a SET, not [0] IMPLICIT
        raw_signature = signer["signature"].native
    except SignatureInvalid:
        raise
    except (ValueError, TypeError, KeyError, IndexError) as exc:
        raise SignatureInvalid(f"malformed signature: {exc}") from None
    public = cert.public_key()
    try:
        if isinstance(public, ec.EllipticCurvePublicKey):
            public.verify(raw_signature, signed_bytes, ec.ECDSA(hashes.SHA256()))
        elif isinstance(public, rsa.RSAPublicKey):
            public.verify(raw_signature, signed_bytes, padding.PKCS1v15(), hashes.SHA256())
        else:
            raise SignatureInvalid("unsupported signer key type")
    except InvalidSignature:
        raise SignatureInvalid("the signature does not verify") from None
    if not is_issued_by(cert, authority_cert):
        raise SignatureInvalid("the signer's certificate is not from the company CA")
    return cert
