"""Fixtures of the collaboration tests: apps (SQLite and PostgreSQL) with their own attachment
folder and a running simulated SMS gateway, and helpers that act as a signed-in person."""

from __future__ import annotations

import io
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from connectors.sms.gateway import RunningGateway, serve
from portlets.collab.models import WorkItem
from tests.conftest import Auth, Org, make_app, seed_org


@pytest.fixture
def gateway() -> Iterator[RunningGateway]:
    running = serve(0)
    yield running
    running.stop()


def _app(url: str, tmp_path: Path, gateway: RunningGateway, **extra: Any) -> Flask:
    """English pages, so that messages can be asserted (the Chinese ones are checked by the
    catalogue test and shown in the browser test)."""
    extra.setdefault("DEFAULT_LOCALE", "en")
    return make_app(url, COLLAB_ATTACHMENTS_DIR=str(tmp_path / "files"),
                    SMS_GATEWAY_URL=gateway.url, SMS_BACKOFF=0.01, **extra)


@pytest.fixture
def capp(tmp_path: Path, gateway: RunningGateway) -> Iterator[Flask]:
    app = _app(f"sqlite:///{tmp_path}/portal.db", tmp_path, gateway)
    yield app
    app.extensions["portal"].db.engine.dispose()


@pytest.fixture(params=["sqlite", "postgresql"])
def any_app(request: pytest.FixtureRequest, tmp_path: Path,
            gateway: RunningGateway) -> Iterator[Flask]:
    """The same test on the embedded SQLite and on the real PostgreSQL."""
    url = f"sqlite:///{tmp_path}/portal.db" if request.param == "sqlite" else \
        request.getfixturevalue("pg_url")
    app = _app(url, tmp_path, gateway)
    yield app
    app.extensions["portal"].db.engine.dispose()


@pytest.fixture
def pg_app(tmp_path: Path, gateway: RunningGateway, pg_url: str) -> Iterator[Flask]:
    app = _app(pg_url, tmp_path, gateway)
    yield app
    app.extensions["portal"].db.engine.dispose()


@pytest.fixture
def corg(capp: Flask) -> Org:
    return seed_org(capp)


class Actor:
    """A signed-in test client speaking the collaboration pages' forms."""

    def __init__(self, app: Flask, username: str) -> None:
        self.app = app
        self.client: FlaskClient = app.test_client()
        response = Auth(self.client).login(username)
        assert response.status_code == 302, username

    def version(self, item_id: int) -> int:
        with self.app.app_context():
            s = self.app.extensions["portal"].db.session()
            item = s.get(WorkItem, item_id)
            assert item is not None
            return item.version

    def create(self, *, submit: bool = True, files: list[tuple[bytes, str]] | None = None,
               **fields: str) -> Any:
        data: dict[str, Any] = {"type_code": "violation_lead", "subject": "疑似销售非渠道卷烟",
                                "content": "<p>柜台有<b>外省</b>卷烟</p>", "customer": "",
                                "target": "", "action": "submit" if submit else "draft",
                                **fields}
        data["attachments"] = [(io.BytesIO(b), n) for b, n in (files or [])]
        return self.client.post("/collab/new", data=data, content_type="multipart/form-data")

    def act(self, item_id: int, action: str, version: int | None = None,
            files: list[tuple[bytes, str]] | None = None, **fields: str) -> Any:
        data: dict[str, Any] = {"version": str(self.version(item_id) if version is None
                                               else version), **fields}
        data["attachments"] = [(io.BytesIO(b), n) for b, n in (files or [])]
        return self.client.post(f"/collab/items/{item_id}/{action}", data=data,
                                content_type="multipart/form-data")


def item_id_of(response: Any) -> int:
    assert response.status_code == 302, response.get_data(as_text=True)[:2000]
    parts = response.headers["Location"].split("/items/")[1].split("/")
    return int(parts[0])
