"""Fixtures for the connectors: a portal with the seeded organisation and the three simulated
source systems seeded from its customers (SQLite files, or PostgreSQL databases)."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import psycopg
import pytest
from flask import Flask

from connectors.registry import sim_urls
from connectors.sim.systems import SimSystems
from connectors.sync.engine import SyncEngine
from tests.conftest import PG_ADMIN, Org, make_app, seed_org


@dataclass
class World:
    app: Flask
    org: Org
    systems: SimSystems

    def engine(self, **kwargs: Any) -> SyncEngine:
        return SyncEngine(self.app, **kwargs)

    def sync(self, *names: str) -> list[Any]:
        with self.app.app_context():
            return SyncEngine(self.app).run_all(list(names) or None)


def _pg_databases(count: int) -> tuple[list[str], list[str]]:
    names = [f"portal_sim_{uuid.uuid4().hex[:10]}" for _ in range(count)]
    with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
        for n in names:
            conn.execute(f'CREATE DATABASE "{n}"')
    base = PG_ADMIN.rsplit("/", 1)[0].replace("postgresql://", "postgresql+psycopg://")
    return names, [f"{base}/{n}" for n in names]


def _drop(names: list[str]) -> None:
    with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
        for n in names:
            conn.execute(f'DROP DATABASE IF EXISTS "{n}" WITH (FORCE)')


def build_world(app: Flask, weeks: int = 2) -> World:
    org = seed_org(app)
    with app.app_context():
        systems = SimSystems(sim_urls(app))
        systems.create()
        systems.seed(app.extensions["portal"].db.session(), weeks=weeks, seed=7)
    return World(app, org, systems)


@pytest.fixture(params=["sqlite", "postgresql"])
def world(request: pytest.FixtureRequest, tmp_path: Any) -> Iterator[World]:
    """The portal and its three sources, on SQLite files or on PostgreSQL databases."""
    extra: dict[str, Any] = {"SIM_DIR": str(tmp_path / "sim")}
    dropped: list[str] = []
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path}/portal.db"
    else:
        url = request.getfixturevalue("pg_url")
        dropped, urls = _pg_databases(3)
        extra["SIM_DATABASES"] = [f"{n}={u}" for n, u in
                                  zip(("monopoly", "marketing", "logistics"), urls, strict=True)]
    app = make_app(url, **extra)
    w = build_world(app)
    yield w
    _shutdown(app, w)
    _drop(dropped)


@pytest.fixture
def sqlite_world(tmp_path: Any) -> Iterator[World]:
    app = make_app(f"sqlite:///{tmp_path}/portal.db", SIM_DIR=str(tmp_path / "sim"))
    w = build_world(app)
    yield w
    _shutdown(app, w)


def _shutdown(app: Flask, w: World) -> None:
    ext = app.extensions.get("connectors", {})
    if "sim_api" in ext:
        ext["sim_api"].stop()
    for conn in ext.get("registry", {}).values():
        conn.close()
    w.systems.dispose()
    app.extensions["portal"].db.engine.dispose()
