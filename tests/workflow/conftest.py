"""Fixtures of the engine tests: apps on both databases with a test plugin that contributes
the definitions in ``definitions/``, and the seeded organisation plus a second dept head."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask

from portal.models import Person, Post, PostAssignment
from portal.plugins import hookimpl
from tests.conftest import Org, make_app, seed_org

HERE = Path(__file__).parent


class DefinitionsPlugin:
    """A real plugin object, registered like any other, bringing the test definitions."""

    def __init__(self, *paths: Path) -> None:
        self.paths = paths

    @hookimpl
    def portal_workflow_definitions(self) -> list[Path]:
        return list(self.paths)


def wf_make_app(url: str, *paths: Path) -> Flask:
    return make_app(url, DEFAULT_LOCALE="en",
                    PLUGINS=[("wf_test", DefinitionsPlugin(*(paths or (HERE / "definitions",))))])


@pytest.fixture(params=["sqlite", "postgresql"])
def wf_app(request: pytest.FixtureRequest, tmp_path: Any) -> Iterator[Flask]:
    url = f"sqlite:///{tmp_path}/portal.db" if request.param == "sqlite" else \
        request.getfixturevalue("pg_url")
    app = wf_make_app(url)
    yield app
    app.extensions["portal"].db.engine.dispose()


@pytest.fixture
def wf_org(wf_app: Flask) -> Org:
    """The shared test organisation, plus ``bm2``: the head of the second county."""
    org = seed_org(wf_app)
    with wf_app.app_context():
        s = wf_app.extensions["portal"].db.session()
        post = s.query(Post).filter_by(code="dept_head").one()
        p = Person(username="bm2", display_name="郑部长", org_unit_id=org.unit_b)
        s.add(p)
        s.flush()
        s.add(PostAssignment(person_id=p.id, post_id=post.id, org_unit_id=org.unit_b,
                             manages=True))
        s.commit()
        org.people["bm2"] = p.id
    return org
