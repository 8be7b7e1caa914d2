"""Fixtures for the sign-in plugins: a portal with the company CA created, certificates issued
by it, the headers nginx would send for them, (``stack``) a real nginx + gunicorn, and the
private slapd (``directory``, see ``tests/sso/slapd.py``)."""

from __future__ import annotations

import os
import ssl
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import quote

import httpx
import pytest
from flask import Flask
from sqlalchemy import select

from portal.models import AuditEntry
from tests.conftest import ROOT, Runner, make_app, seed_org
from tests.sso import nginx
from tests.sso.slapd import directory

__all__ = ["directory"]


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


@dataclass
class Stack:
    app: Flask  # the same database as gunicorn's, for issuing and reading the audit log
    folder: Path
    https: str
    upstream: str
    certs: dict[str, Issued]

    def client(self, who: str | None = None, **kwargs: object) -> httpx.Client:
        """A browser-like client of nginx, presenting *who*'s certificate (or none)."""
        context = ssl.create_default_context(cafile=str(self.folder / "ca.pem"))
        if who is not None:
            issued = self.certs[who]
            cert, key = self.folder / f"{who}.pem", self.folder / f"{who}.key"
            cert.write_text(issued.cert_pem)
            key.write_text(issued.key_pem)
            context.load_cert_chain(str(cert), str(key))
        return httpx.Client(base_url=self.https, verify=context, timeout=30, **kwargs)  # type: ignore[arg-type]

    def audits(self, action: str) -> list[AuditEntry]:
        with self.app.app_context():
            s = self.app.extensions["portal"].db.session()
            return list(s.scalars(select(AuditEntry).where(AuditEntry.action == action)))


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    yield from running_stack(tmp_path_factory)


def running_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    """Issue the test certificates, start gunicorn and nginx; stop them afterwards. (A plain
    generator, so that test modules elsewhere can make a module fixture of it.)"""
    with pytest.MonkeyPatch.context() as mp:  # module scope: before the autouse cleaner
        for key in [k for k in os.environ if k.startswith("PORTAL_")]:
            mp.delenv(key)
        yield from _stack(tmp_path_factory.mktemp("cert-nginx"))


def _stack(folder: Path) -> Iterator[Stack]:
    from portal.cli import _add_plugin_commands

    _add_plugin_commands()  # `portal ca`, also for test modules outside tests/sso
    db_url = f"sqlite:///{folder}/portal.db"
    settings = {"DATABASE_URL": db_url, "SECRET_KEY": "nginx-test-secret",
                "CERT_TRUSTED_PROXIES": "127.0.0.1", "ADMIN_ASSURANCE": "certificate",
                "LAYOUTS_DIR": str(ROOT / "layouts")}
    app = make_app(db_url, **{**settings, "CERT_TRUSTED_PROXIES": ["127.0.0.1"]})
    seed_org(app)
    runner = Runner(app)
    assert runner.invoke(["ca", "init", "--out", str(folder / "ca.pem")]).exit_code == 0
    assert runner.invoke(["ca", "server-cert", "127.0.0.1", "localhost",
                          "--out-dir", str(folder)]).exit_code == 0
    past = datetime.now(UTC) - timedelta(days=40)
    certs = {
        "zg": issue_cert(app, person="zg"),
        "admin": issue_cert(app, person="admin"),
        "revoked_in_crl": issue_cert(app, person="km"),
        "revoked_later": issue_cert(app, person="sh"),
        "expired": issue_cert(app, person="bm", days=30, now=past),
        "department": issue_cert(app, department="HN"),
    }
    assert runner.invoke(["ca", "revoke", certs["revoked_in_crl"].serial, "--reason",
                          "keyCompromise", "--crl-out", str(folder / "crl.pem")]).exit_code == 0
    with nginx.gunicorn(settings, folder) as upstream, \
            nginx.nginx(folder, upstream.port) as proxy:
        https = f"https://127.0.0.1:{proxy.port}"
        nginx.wait_until_up(upstream.url + "/login")
        # Revoked after nginx loaded its CRL: only the portal's own records know.
        assert runner.invoke(["ca", "revoke", certs["revoked_later"].serial]).exit_code == 0
        yield Stack(app, folder, https, upstream.url, certs)
    app.extensions["portal"].db.engine.dispose()
