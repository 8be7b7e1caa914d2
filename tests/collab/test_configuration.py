"""The configurable parts: a catalogue file replacing the built-in types, the attachment
storage interface and its local-folder default."""

from __future__ import annotations

from pathlib import Path

import pytest
from flask import Flask

from portlets.collab import catalogue
from portlets.collab.catalogue import CatalogueError, _parse
from portlets.collab.storage import LocalFolderStorage, storage
from tests.collab.conftest import Actor, _app, item_id_of
from tests.conftest import seed_org

CATALOGUE = """
- code: route_change
  name: 线路调整
  time_limit_hours: 4
  rating: score
  ladder: [unit, "org:JX"]
"""


def test_catalogue_file_replaces_the_built_in_types(tmp_path: Path, gateway) -> None:  # type: ignore[no-untyped-def]
    path = tmp_path / "types.yaml"
    path.write_text(CATALOGUE, encoding="utf-8")
    app = _app(f"sqlite:///{tmp_path}/p.db", tmp_path, gateway, COLLAB_CATALOGUE=str(path))
    try:
        org = seed_org(app)
        with app.app_context():
            assert [t.code for t in catalogue.work_types()] == ["route_change"]
            assert catalogue.work_type("route_change").ladder == ("unit", "org:JX")  # type: ignore[union-attr]
        zg = Actor(app, "zg")
        assert "线路调整" in zg.client.get("/collab/new").get_data(as_text=True)
        assert zg.create(type_code="violation_lead",
                         target=f"person:{org.people['km']}").status_code == 400
        assert item_id_of(zg.create(type_code="route_change",
                                    target=f"person:{org.people['km']}"))
    finally:
        app.extensions["portal"].db.engine.dispose()


def test_a_bad_catalogue_file_marks_the_plugin_broken_at_start_up(tmp_path: Path,
                                                                 gateway) -> None:  # type: ignore[no-untyped-def]
    path = tmp_path / "types.yaml"
    path.write_text("- {code: x, name: y, time_limit_hours: -1}", encoding="utf-8")
    app = _app(f"sqlite:///{tmp_path}/p.db", tmp_path, gateway, COLLAB_CATALOGUE=str(path))
    try:
        listing = {p.name: p for p in app.extensions["portal"].plugins.listing()}
        assert listing["collab"].state == "broken"
        assert "types.yaml" in listing["collab"].error
    finally:
        app.extensions["portal"].db.engine.dispose()


@pytest.mark.parametrize("text, message", [
    ("{}", "non-empty list"),
    ("- {code: x, name: y}", "entry 1"),
    ("- {code: x, name: y, time_limit_hours: 0}", "bad rating, time limit or ladder"),
    ("- {code: x, name: y, time_limit_hours: 2, rating: stars}", "bad rating"),
    ("- {code: x, name: y, time_limit_hours: 2, ladder: [moon]}", "ladder"),
])
def test_bad_catalogue_entries_name_the_problem(text: str, message: str) -> None:
    import yaml

    with pytest.raises(CatalogueError, match=message):
        _parse(yaml.safe_load(text), "types.yaml")


def test_local_folder_storage_round_trip_and_safe_keys(tmp_path: Path) -> None:
    box = LocalFolderStorage(tmp_path)
    key = box.save(b"hello")
    with box.open(key) as fh:
        assert fh.read() == b"hello"
    for bad in ("", "../etc/passwd", "a/b", ".hidden"):
        with pytest.raises(FileNotFoundError):
            box.open(bad)
    box.delete(key)
    box.delete(key)  # gone already: no error
    with pytest.raises(FileNotFoundError):
        box.open(key)
    assert not list(tmp_path.rglob("*.part"))


class MemoryStorage:
    """A storage a deployment could plug in: named as module:Class in COLLAB_STORAGE."""

    files: dict[str, bytes] = {}

    def __init__(self, folder: str) -> None:
        self.folder = folder

    def save(self, data: bytes) -> str:
        key = f"k{len(self.files)}"
        self.files[key] = data
        return key

    def open(self, key: str):  # type: ignore[no-untyped-def]
        import io

        return io.BytesIO(self.files[key])

    def delete(self, key: str) -> None:
        self.files.pop(key, None)


def test_storage_is_pluggable(capp: Flask) -> None:
    capp.extensions["portal"].settings["COLLAB_STORAGE"] = f"{__name__}:MemoryStorage"
    with capp.app_context():
        box = storage()
        assert isinstance(box, MemoryStorage)
        assert box.open(box.save(b"x")).read() == b"x"
