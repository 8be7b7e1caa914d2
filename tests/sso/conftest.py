"""Fixtures for the sign-in plugins: a portal with the company CA created."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import quote

import pytest
from flask import Flask

from tests.conftest import Org, Runner, make_app, seed_org


@pytest.fixture(scope="session", autouse=True)
def _plugin_commands() -> None:
    """``portal ca`` is a plugin's command: add plugin commands as ``portal`` (main) does."""
    from portal.cli import _add_plugin_commands

    _add_plugin_commands()


@pytest.fixture
def ca_app(tmp_path: Any) -> Iterator[Flask]:
    """A portal on SQLite with a seeded organisation and its company CA."""
    app = make_app(f"sqlite:///{tmp_path}/portal.db", CERT_TRUSTED_PROXIES=["127.0.0.1"])
    seed_org(app)
    result = Runner(app).invoke(["ca", "init"])
    assert result.exit_code == 0, result.output
    yield app
    app.extensions["portal"].db.engine.dispose()


@pytest.fixture
def ca_org(ca_app: Flask) -> Org:
    with ca_app.app_context():
        from sqlalchemy import select

        from portal.models import OrgUnit, Person

        s = ca_app.extensions["portal"].db.session()
        people = {p.username: p.id for p in s.scalars(select(Person))}
        units = {u.code: u.id for u in s.scalars(select(OrgUnit))}
        return Org(units["JX"], units["HN"], units["TX"], people, [])


@dataclass(frozen=True)
class Issued:
    """A certificate as a test holds it: its record's id and serial, PEM cert and plain key."""

    id: int
    serial: str
    cert_pem: str
    key_pem: str


def issue_cert(app: Flask, *, person: str | None = None, department: str | None = None,
               days: int | None = None, now: datetime | None = None) -> Issued:
    """Issue through the CA service (``now`` in the past makes an expired certificate)."""
    from cryptography.hazmat.primitives import serialization

    from sso.ca import authority as ca
    from sso.ca import service

    with app.test_request_context():
        s = app.extensions["portal"].db.session()
        if person:
            record = service.issue_for_person(s, person, days=days, now=now)
        else:
            record = service.issue_for_department(s, str(department), days=days, now=now)
        s.commit()
        key = ca.key_from_pem(record.key_pem or "", service.passphrase())
        plain = key.private_bytes(serialization.Encoding.PEM,
                                  serialization.PrivateFormat.PKCS8,
                                  serialization.NoEncryption()).decode()
        return Issued(record.id, record.serial, record.cert_pem, plain)


def proxy_headers(cert_pem: str, *, verify: str = "SUCCESS",
                  serial: str | None = None) -> dict[str, str]:
    """The headers nginx sets for a client certificate (as ``$ssl_client_*`` gives them)."""
    from cryptography import x509

    cert = x509.load_pem_x509_certificate(cert_pem.encode())
    # nginx escapes every byte of non-ASCII UTF-8 (RFC 2253 with ESC_MSB): 张 → \E5\BC\A0
    dn = "".join(c if ord(c) < 128 else "".join(f"\\{b:02X}" for b in c.encode())
                 for c in cert.subject.rfc4514_string())
    return {"X-SSL-Client-Verify": verify,
            "X-SSL-Client-S-DN": dn,
            "X-SSL-Client-Serial": serial or f"{cert.serial_number:X}",
            "X-SSL-Client-Cert": quote(cert_pem, safe="")}
