"""Fixtures for the sign-in plugins: a portal with the company CA created."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

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
