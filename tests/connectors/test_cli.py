"""``portal sim`` and ``portal sync`` from the command line."""

from __future__ import annotations

import json

from sqlalchemy import func, select

from connectors.models import LicenseEvent
from tests.conftest import make_app, seed_org


class Runner:
    """Our groups as ``portal_cli`` adds them to ``portal`` (``portal sim ...``)."""

    def __init__(self, app):
        self.app = app

    def invoke(self, args):
        from click import Group
        from click.testing import CliRunner
        from flask.cli import ScriptInfo

        from connectors.plugin import portal_cli

        cli = Group("portal")
        portal_cli(cli=cli)
        return CliRunner().invoke(cli, args, obj=ScriptInfo(create_app=lambda: self.app))


def test_sim_and_sync_commands(tmp_path):
    app = make_app(f"sqlite:///{tmp_path}/portal.db", SIM_DIR=str(tmp_path / "sim"))
    runner = Runner(app)
    empty = runner.invoke(["sim", "run", "--count", "5"])
    assert empty.exit_code == 1 and "portal sim init" in empty.output
    seed_org(app)
    result = runner.invoke(["sim", "init", "--weeks", "1"])
    assert result.exit_code == 0, result.output
    assert "6 customers" in result.output
    assert runner.invoke(["sim", "init"]).exit_code == 1  # already seeded
    result = runner.invoke(["sim", "run", "--count", "60", "--rate", "1000", "--seed", "4"])
    assert result.exit_code == 0 and "60 changes" in result.output

    result = runner.invoke(["sync", "run"])
    assert result.exit_code == 0, result.output
    assert {line.split()[0] for line in result.output.splitlines()} == {
        "logistics", "marketing", "monopoly", "licences"}
    status = json.loads(runner.invoke(["sync", "status", "--json"]).output)
    assert {s["source"]: s["health"] for s in status} == {
        "logistics": "ok", "marketing": "ok", "monopoly": "ok"}
    with app.app_context():
        s = app.extensions["portal"].db.session()
        before = s.scalar(select(func.count()).select_from(LicenseEvent))
    result = runner.invoke(["sync", "backfill", "monopoly", "--from", "0"])
    assert result.exit_code == 0, result.output
    with app.app_context():
        s = app.extensions["portal"].db.session()
        assert s.scalar(select(func.count()).select_from(LicenseEvent)) == before

    bad = runner.invoke(["sync", "run", "nowhere"])
    assert bad.exit_code == 2 and "unknown source nowhere" in bad.output
    bad = runner.invoke(["sync", "backfill", "monopoly", "--stream", "x"])
    assert bad.exit_code == 2 and "has no stream x" in bad.output
    ext = app.extensions.get("connectors", {})
    if "sim_api" in ext:
        ext["sim_api"].stop()
    app.extensions["portal"].db.engine.dispose()
