"""Alembic, driven from the app: the core's migrations plus every plugin's own."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from flask import Flask

HERE = Path(__file__).parent


def alembic_config(app: Flask) -> Config:
    state = app.extensions["portal"]
    cfg = Config()
    cfg.set_main_option("script_location", str(HERE / "migrations"))
    locations = [str(HERE / "migrations" / "versions"), *state.migration_dirs]
    cfg.set_main_option("version_locations", " ".join(locations))
    cfg.set_main_option("path_separator", "space")
    cfg.attributes["engine"] = state.db.engine
    return cfg


def upgrade(app: Flask, revision: str = "heads") -> None:
    command.upgrade(alembic_config(app), revision)


def current_heads(app: Flask) -> set[str]:
    from alembic.runtime.migration import MigrationContext

    with app.extensions["portal"].db.engine.connect() as conn:
        return set(MigrationContext.configure(conn).get_current_heads())


def pending(app: Flask) -> bool:
    """True when the database is behind the migration scripts."""
    from alembic.script import ScriptDirectory

    script = ScriptDirectory.from_config(alembic_config(app))
    return set(script.get_heads()) != current_heads(app)
