"""The plugin API as a product: documented hooks, an installable example, the scaffold, isolation.

The example and the scaffolded distribution are installed into the running virtualenv with pip
and exercised in fresh processes, because entry points are read once per process.
"""

from __future__ import annotations

import importlib.metadata as md
import importlib.util
import inspect
import json
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from flask import Flask

from portal import hookspecs
from portal.app import create_app
from portal.migrate import upgrade
from portal.plugins import PluginStartupError
from portal.scaffold import ScaffoldError, scaffold
from tests.plugins import broken_registration, misspelled

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs" / "plugins.md"
EXAMPLE = ROOT / "examples" / "portal-hello-portlet"


# ---------------------------------------------------------------------------------------------
# Helpers
# ---------------------------------------------------------------------------------------------


def _hook_names() -> list[str]:
    return sorted(
        name
        for name, fn in inspect.getmembers(hookspecs, inspect.isfunction)
        if name.startswith("portal_") and fn.__module__ == hookspecs.__name__
    )


def _clean_env() -> dict[str, str]:
    """The environment for child processes: no developer's PORTAL_* settings."""
    return {k: v for k, v in os.environ.items() if not k.startswith("PORTAL_")}


def _run(args: list[str], cwd: Path, timeout: float = 300) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        args,
        cwd=cwd,
        env=_clean_env(),
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def _build_isolation_flags() -> list[str]:
    """``--no-build-isolation`` when this virtualenv can build an editable wheel by itself.

    setuptools 70.1 and later have ``bdist_wheel`` built in; older ones need the ``wheel``
    package. Without either, pip builds in isolation, fetching setuptools from the index.
    """
    try:
        version = md.version("setuptools")
    except md.PackageNotFoundError:
        return []
    major, minor = (int(part) for part in re.findall(r"\d+", version)[:2])
    if (major, minor) >= (70, 1) or importlib.util.find_spec("wheel") is not None:
        return ["--no-build-isolation"]
    return []


def _pip(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return _run([sys.executable, "-m", "pip", "--disable-pip-version-check", *args], cwd=cwd)


@contextmanager
def _installed(path: Path, distribution: str, cwd: Path) -> Iterator[None]:
    """``pip install -e path`` into the running virtualenv, uninstalled afterwards."""
    try:
        done = _pip("install", "--no-deps", *_build_isolation_flags(), "-e", str(path), cwd=cwd)
        assert done.returncode == 0, f"pip install failed:\n{done.stdout}\n{done.stderr}"
        yield
    finally:
        _pip("uninstall", "-y", distribution, cwd=cwd)


def _portal_command() -> str:
    sibling = Path(sys.executable).with_name("portal")
    found = str(sibling) if sibling.exists() else shutil.which("portal")
    assert found, "the `portal` command is not installed (pip install -e .)"
    return found


@contextmanager
def _app(tmp_path: Path, *, migrate: bool = False, **extra: Any) -> Iterator[Flask]:
    tmp_path.mkdir(parents=True, exist_ok=True)
    app = create_app(
        {
            "DATABASE_URL": f"sqlite:///{tmp_path}/portal.db",
            "TESTING": True,
            "SECRET_KEY": "test-secret",
            **extra,
        }
    )
    try:
        if migrate:
            with app.app_context():
                upgrade(app)
        yield app
    finally:
        app.extensions["portal"].db.engine.dispose()


# ---------------------------------------------------------------------------------------------
# Documentation
# ---------------------------------------------------------------------------------------------


def test_docs() -> None:
    """Every hook in portal.hookspecs has its own ``### <hook>`` section in docs/plugins.md."""
    hooks = _hook_names()
    assert "portal_portlets" in hooks and len(hooks) >= 10
    headings = set(re.findall(r"^### (\S+)\s*$", DOCS.read_text(encoding="utf-8"), re.M))
    undocumented = [name for name in hooks if name not in headings]
    assert not undocumented, f"hooks without a '### name' section in {DOCS}: {undocumented}"


# ---------------------------------------------------------------------------------------------
# The example distribution, installed like a department's own
# ---------------------------------------------------------------------------------------------

HOMEPAGE_SCRIPT = r"""
import json, sys
from pathlib import Path

from portal.app import create_app
from portal.migrate import upgrade
from portal.models import OrgUnit, Person, Post, PostAssignment
from portal.passwords import hash_password

tmp = Path(sys.argv[1])
app = create_app({"DATABASE_URL": f"sqlite:///{tmp}/hello.db", "TESTING": True,
                  "SECRET_KEY": "t", "WTF_CSRF_ENABLED": False,
                  "LAYOUTS_DIR": str(tmp / "no-layouts")})
state = app.extensions["portal"]
with app.app_context():
    upgrade(app)
    s = state.db.session()
    unit = OrgUnit(code="T", name="测试市局", kind="city")
    s.add(unit)
    s.flush()
    unit.path = f"/{unit.id}/"
    post = Post(code="tester", name="测试岗", name_en="Tester", roles=["staff"])
    person = Person(username="hello_user", display_name="测试员甲", org_unit_id=unit.id,
                    password_hash=hash_password("pw-123456"))
    s.add_all([post, person])
    s.flush()
    s.add(PostAssignment(person_id=person.id, post_id=post.id, org_unit_id=unit.id))
    s.commit()
client = app.test_client()
login = client.post("/login", data={"username": "hello_user", "password": "pw-123456"})
page = client.get("/")
html = page.get_data(as_text=True)
info = {p.name: p.as_dict() for p in state.plugins.listing()}.get("hello")
portlet = state.portlets.get("hello")
print(json.dumps({
    "login": login.status_code,
    "status": page.status_code,
    "registered": "hello" in state.portlets,
    "plugin": info,
    "category": portlet.category if portlet else None,
    "greeting": "你好, 测试员甲!" in html,
}, ensure_ascii=False))
state.db.engine.dispose()
"""


@pytest.mark.slow
def test_example_distribution(tmp_path: Path) -> None:
    # A copy, so that building it leaves nothing (egg-info) in the repository.
    source = tmp_path / "portal-hello-portlet"
    shutil.copytree(
        EXAMPLE,
        source,
        ignore=shutil.ignore_patterns("*.egg-info", "__pycache__", ".*_cache", "build"),
    )
    script = tmp_path / "homepage.py"
    script.write_text(HOMEPAGE_SCRIPT, encoding="utf-8")
    with _installed(source, "portal-hello-portlet", cwd=tmp_path):
        done = _run([sys.executable, str(script), str(tmp_path)], cwd=tmp_path, timeout=120)
        assert done.returncode == 0, done.stderr
        result = json.loads(done.stdout.strip().splitlines()[-1])
        # The example's own tests pass against the installed package too.
        own = _run(
            [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider"],
            cwd=source,
            timeout=120,
        )
    assert result["registered"], result
    assert result["plugin"]["state"] == "active"
    assert result["plugin"]["distribution"] == "portal-hello-portlet"
    assert result["plugin"]["version"] == "0.1.0"
    assert result["plugin"]["hooks"] == ["portal_portlets"]
    assert result["category"] == "information"
    assert result["login"] == 302
    assert result["status"] == 200
    assert result["greeting"], "the hello window's greeting is not on the homepage"
    assert own.returncode == 0, own.stdout + own.stderr


# ---------------------------------------------------------------------------------------------
# portal new-portlet
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["Bad-Name", "x", "9lives", "_x", "a" * 31, "weather-map", ""])
def test_scaffold_rejects_invalid_names(tmp_path: Path, name: str) -> None:
    with pytest.raises(ScaffoldError, match="invalid portlet name"):
        scaffold(name, tmp_path)
    assert list(tmp_path.iterdir()) == []


def test_scaffold_refuses_installed_plugin_name(tmp_path: Path) -> None:
    with pytest.raises(ScaffoldError, match="already installed"):
        scaffold("sso_local", tmp_path)
    assert list(tmp_path.iterdir()) == []


def test_scaffold_layout(tmp_path: Path) -> None:
    folder = scaffold("sales_report", tmp_path / "new")
    assert folder == tmp_path / "new" / "portal-sales_report-portlet"
    package = folder / "portal_sales_report_portlet"
    for relative in ("pyproject.toml", "README.md", "tests/test_sales_report.py"):
        assert (folder / relative).is_file(), relative
    assert (package / "plugin.py").is_file()
    assert (package / "templates" / "sales_report" / "portlet.html").is_file()
    pyproject = (folder / "pyproject.toml").read_text(encoding="utf-8")
    assert (
        '[project.entry-points.portal]\nsales_report = "portal_sales_report_portlet.plugin"'
        in pyproject
    )
    compile((package / "plugin.py").read_text(encoding="utf-8"), "plugin.py", "exec")
    with pytest.raises(ScaffoldError, match="already exists"):
        scaffold("sales_report", tmp_path / "new")


@pytest.mark.slow
def test_new_portlet_scaffold(tmp_path: Path) -> None:
    portal = _portal_command()
    cwd, out = tmp_path / "cwd", tmp_path / "out"
    cwd.mkdir()
    _pip("uninstall", "-y", "portal-weather-portlet", cwd=cwd)  # left over by a crashed run

    bad = _run([portal, "new-portlet", "Bad-Name", "--dir", str(out)], cwd=cwd)
    assert bad.returncode != 0
    assert "invalid portlet name 'Bad-Name'" in bad.stderr
    assert not out.exists()

    made = _run([portal, "new-portlet", "weather", "--dir", str(out)], cwd=cwd)
    assert made.returncode == 0, made.stderr
    folder = out / "portal-weather-portlet"
    assert folder.is_dir()
    assert str(folder) in made.stdout
    assert [p.name for p in out.iterdir()] == ["portal-weather-portlet"]

    again = _run([portal, "new-portlet", "weather", "--dir", str(out)], cwd=cwd)
    assert again.returncode != 0
    assert "already exists" in again.stderr

    with _installed(folder, "portal-weather-portlet", cwd=cwd):
        tested = _run(
            [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider"],
            cwd=folder,
            timeout=120,
        )
    assert tested.returncode == 0, tested.stdout + tested.stderr
    assert "2 passed" in tested.stdout


# ---------------------------------------------------------------------------------------------
# Isolation and disabling
# ---------------------------------------------------------------------------------------------


def test_broken_plugin_is_isolated(tmp_path: Path) -> None:
    from click.testing import CliRunner
    from flask.cli import ScriptInfo

    from portal.cli import cli

    broken_registration.STARTED.clear()
    plugins = [("broken_registration", broken_registration)]
    with _app(tmp_path, migrate=True, PLUGINS=plugins) as app:
        state = app.extensions["portal"]
        info = {p.name: p for p in state.plugins.listing()}["broken_registration"]
        assert info.state == "broken"
        assert "RuntimeError: registration failed on purpose" in info.error
        # Left out before start-up finished: its other hooks are not called any more.
        assert broken_registration.STARTED == []
        assert state.plugins.pm.get_plugin("broken_registration") is None
        # The rest of the portal works.
        assert "local" in state.auth_backends
        assert app.test_client().get("/login").status_code == 200

        shown = CliRunner().invoke(
            cli, ["plugins", "--json"], obj=ScriptInfo(create_app=lambda: app)
        )
        assert shown.exit_code == 0, shown.output
        rows = {row["name"]: row for row in json.loads(shown.output)}
        assert rows["broken_registration"]["state"] == "broken"
        assert "registration failed on purpose" in rows["broken_registration"]["error"]


def test_misspelled_hook_stops_startup(tmp_path: Path) -> None:
    with pytest.raises(PluginStartupError) as caught:
        create_app(
            {
                "DATABASE_URL": f"sqlite:///{tmp_path}/portal.db",
                "TESTING": True,
                "SECRET_KEY": "test-secret",
                "PLUGINS": [("misspelled", misspelled)],
            }
        )
    assert "portal_portletz" in str(caught.value)
    assert "misspelled" in str(caught.value)


def _portlets_of(app: Flask, plugin: str) -> set[str]:
    return {pid for pid, name in app.extensions["portal"].portlet_plugin.items() if name == plugin}


def test_disabled_plugin(tmp_path: Path) -> None:
    with _app(tmp_path / "enabled") as app:
        listing = {p.name: p for p in app.extensions["portal"].plugins.listing()}
        today = listing.get("today")
        if today is not None and today.state == "active" and _portlets_of(app, "today"):
            target = "today"
        else:  # the today portlet is not there (yet): the local directory is always there
            target = "sso_local"
        assert listing[target].state == "active"
        portlets = _portlets_of(app, target)
        backends = set(app.extensions["portal"].auth_backends)

    with _app(tmp_path / "disabled", DISABLED_PLUGINS=[target]) as app:
        state = app.extensions["portal"]
        info = {p.name: p for p in state.plugins.listing()}[target]
        assert info.state == "disabled"
        assert info.hooks == []
        assert not (portlets & set(state.portlets))
        assert not _portlets_of(app, target)
        if target == "sso_local":
            assert "local" in backends
            assert "local" not in state.auth_backends
        else:
            assert portlets
