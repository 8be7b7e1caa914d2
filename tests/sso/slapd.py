"""A private slapd loaded with the demo organisation, for the LDAP tests (session-scoped).

The LDIF is generated from the demo organisation (``portal.demo.generate`` into a scratch
SQLite database, then ``sso.ldap.ldif.export_ldif``), so the directory and a database seeded
with the same generator agree on user names, unit codes and posts. The fixture fails, never
skips, when slapd cannot start: CI has it (scripts/install-system.sh).
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from flask import Flask

from portal.demo import generate
from sso.ldap import devserver
from sso.ldap.ldif import DEMO_BASE_DN, READER_RDN, export_ldif
from tests.conftest import make_app

PASSWORD = "Ldap@2026"  # every person's directory password


@dataclass
class DemoDirectory:
    server: devserver.Slapd
    ldif: str
    reader_dn: str
    reader_password: str

    @property
    def base_dn(self) -> str:
        return self.server.base_dn

    def settings(self, url: str | None = None, **extra: Any) -> dict[str, Any]:
        """Portal settings that sign in against this directory (plain ldap:// by default)."""
        return {"LDAP_URL": url or self.server.url, "LDAP_BASE_DN": f"ou=people,{self.base_dn}",
                "LDAP_BIND_DN": self.reader_dn, "LDAP_BIND_PASSWORD": self.reader_password,
                "LDAP_UNITS_DN": f"ou=units,{self.base_dn}", "LDAP_CA_FILE": "",
                "AUTH_BACKENDS": ["ldap"], "LDAP_TIMEOUT": 3.0, "LDAP_CONNECT_TIMEOUT": 2.0,
                **extra}


def demo_org_ldif(folder: Path, reader_password: str) -> str:
    with pytest.MonkeyPatch.context() as env:
        # Session fixtures run before conftest's per-test clean-up of PORTAL_* variables.
        for key in [k for k in os.environ if k.startswith("PORTAL_")]:
            env.delenv(key)
        app = make_app(f"sqlite:///{folder}/demo.db")
    try:
        generate.run(app, seed=2026, customers=10)
        with app.app_context():
            return export_ldif(app.extensions["portal"].db.session(), DEMO_BASE_DN, PASSWORD,
                               reader_password)
    finally:
        app.extensions["portal"].db.engine.dispose()


def org_without_people(app: Flask) -> None:
    """The demo's org units and posts in *app*'s database, and nobody: people come from the
    directory at their first sign-in (or from ``portal ldap sync``)."""
    with app.app_context():
        s = app.extensions["portal"].db.session()
        generate.build_org(s)
        generate.build_posts(s)
        s.commit()


@pytest.fixture(scope="session")
def directory(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DemoDirectory]:
    folder = tmp_path_factory.mktemp("slapd")
    reader_password = secrets.token_urlsafe(12)
    ldif = demo_org_ldif(folder, reader_password)
    try:
        server = devserver.start(folder, DEMO_BASE_DN, f"{READER_RDN},{DEMO_BASE_DN}")
    except devserver.SlapdError as exc:
        pytest.fail(f"cannot start slapd: {exc}")
    try:
        server.add_ldif(ldif)
        yield DemoDirectory(server, ldif, f"{READER_RDN},{DEMO_BASE_DN}", reader_password)
    finally:
        server.stop()
