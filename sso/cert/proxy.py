"""What the TLS proxy (nginx) says about the client certificate, believed only from the proxy.

nginx verifies the certificate against the company CA and its CRL and passes the outcome in
request headers. Anybody can send such headers, so they count only on a connection from an
address in ``CERT_TRUSTED_PROXIES``; from anywhere else they are ignored (and audited as a
forgery), exactly as if no certificate had been shown.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from ipaddress import IPv4Network, IPv6Network, ip_address, ip_network
from urllib.parse import unquote

from cryptography import x509
from flask import Request

VERIFY = "X-SSL-Client-Verify"  # $ssl_client_verify: SUCCESS, NONE or FAILED:<reason>
SUBJECT = "X-SSL-Client-S-DN"  # $ssl_client_s_dn
SERIAL = "X-SSL-Client-Serial"  # $ssl_client_serial (hexadecimal)
CERT = "X-SSL-Client-Cert"  # $ssl_client_escaped_cert (URL-encoded PEM)
#: The longest value each header may have; a certificate of this CA is about 1,600 bytes.
LIMITS = {VERIFY: 200, SUBJECT: 1024, SERIAL: 128, CERT: 8192}


class Refused(Exception):
    """A certificate sign-in that must not happen. ``reason`` is a stable code for the audit
    log and for choosing the message; ``status`` the HTTP answer."""

    def __init__(self, reason: str, status: int = 403, detail: str = "") -> None:
        super().__init__(reason)
        self.reason = reason
        self.status = status
        self.detail = detail


@dataclass(frozen=True)
class Presented:
    """A certificate the proxy verified and passed on."""

    cert: x509.Certificate
    serial: str
    subject_dn: str


def trusted_networks(entries: Iterable[str]) -> list[IPv4Network | IPv6Network]:
    """Parse ``CERT_TRUSTED_PROXIES``; a bad entry is a configuration error."""
    networks = []
    for entry in entries:
        try:
            networks.append(ip_network(entry.strip(), strict=False))
        except ValueError:
            raise ValueError(f"CERT_TRUSTED_PROXIES: not an address or network: {entry!r}") \
                from None
    return networks


def is_trusted(address: str | None, networks: list[IPv4Network | IPv6Network]) -> bool:
    if not address:
        return False
    try:
        ip = ip_address(address)
    except ValueError:
        return False
    return any(ip in net for net in networks)


def sent_headers(request: Request) -> list[str]:
    """Which of the certificate headers this request carries."""
    return [name for name in LIMITS if name in request.headers]


def read(request: Request) -> Presented | None:
    """The certificate the (trusted) proxy verified, ``None`` when none was shown, or
    ``Refused`` for a certificate the proxy rejected and for headers that make no sense.

    Call it only for requests from a trusted proxy.
    """
    for name, limit in LIMITS.items():
        if len(request.headers.get(name, "")) > limit:
            raise Refused("too_long", 400, name)
    verify = request.headers.get(VERIFY, "").strip()
    if verify in ("", "NONE"):
        return None
    if verify.startswith("FAILED"):
        text = verify.partition(":")[2].lower()
        if "expired" in text or "not yet valid" in text:
            raise Refused("expired", 403, verify)
        if "revoked" in text:
            raise Refused("revoked", 403, verify)
        if "purpose" in text:  # no clientAuth usage: a department's document-signing key
            raise Refused("purpose", 403, verify)
        raise Refused("failed", 403, verify)
    if verify != "SUCCESS":
        raise Refused("malformed", 400, f"{VERIFY}: {verify[:60]}")
    pem = unquote(request.headers.get(CERT, ""))
    if not pem.strip():
        raise Refused("malformed", 400, f"{CERT} missing")
    try:
        cert = x509.load_pem_x509_certificate(pem.encode())
    except ValueError as exc:
        raise Refused("malformed", 400, f"{CERT}: {exc}") from None
    serial_header = request.headers.get(SERIAL, "").strip()
    try:
        matches = int(serial_header, 16) == cert.serial_number
    except ValueError:
        matches = False
    if not matches:
        raise Refused("malformed", 400, f"{SERIAL} does not match the certificate")
    return Presented(cert=cert, serial=f"{cert.serial_number:X}",
                     subject_dn=cert.subject.rfc4514_string())
