"""The ``portal`` command: configuration, plugins, database, demo data, scaffolding, serving."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Any

import click
from flask import current_app
from flask.cli import FlaskGroup, with_appcontext

from portal.config import SETTINGS, ConfigError, masked


def _create_app() -> Any:
    from portal.app import create_app

    try:
        return create_app()
    except ConfigError as exc:
        raise click.ClickException(f"configuration error: {exc}") from None


cli = FlaskGroup(create_app=_create_app, add_default_commands=True, load_dotenv=False,
                 help="个人工作平台 — the portal's command line.")


@cli.command("config")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@with_appcontext
def config_cmd(as_json: bool) -> None:
    """List every setting with its current value (secrets masked) and where it came from."""
    state = current_app.extensions["portal"]
    rows = [{"key": s.key, "value": masked(s.key, state.settings[s.key]),
             "type": s.type.__name__, "from": state.origin[s.key], "help": s.help}
            for s in SETTINGS]
    if as_json:
        click.echo(json.dumps(rows, ensure_ascii=False, indent=2))
        return
    for r in rows:
        click.echo(f"PORTAL_{r['key']} = {r['value']!r}  [{r['type']}, {r['from']}]")
        click.echo(f"    {r['help']}")


@cli.command("plugins")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@with_appcontext
def plugins_cmd(as_json: bool) -> None:
    """List plugins: name, version, hooks and state (active, disabled, broken)."""
    listing = current_app.extensions["portal"].plugins.listing()
    if as_json:
        click.echo(json.dumps([p.as_dict() for p in listing], ensure_ascii=False, indent=2))
        return
    for p in listing:
        click.echo(f"{p.name:<20} {p.version or '-':<10} {p.state:<9} {', '.join(p.hooks)}")
        if p.error:
            click.echo(f"{'':<20} error: {p.error}")


@cli.group("db")
def db_group() -> None:
    """Database schema (Alembic migrations of the core and of every plugin)."""


@db_group.command("upgrade")
@with_appcontext
def db_upgrade() -> None:
    """Apply every pending migration."""
    from portal.migrate import upgrade

    upgrade(current_app)
    click.echo("database is up to date")


@cli.command("demo-data")
@click.option("--seed", default=2026, show_default=True, help="Same seed, same data.")
@click.option("--customers", default=20000, show_default=True, help="How many retailers.")
@click.option("--if-empty", is_flag=True, help="Do nothing when people already exist.")
@with_appcontext
def demo_data(seed: int, customers: int, if_empty: bool) -> None:
    """Generate the Jiaxing-like demo organisation, staff, customers and notices."""
    from portal.demo.generate import run

    if customers < 10:
        raise click.BadParameter("at least 10 customers", param_hint="--customers")
    summary = run(current_app, seed=seed, customers=customers, if_empty=if_empty)
    click.echo(summary)


@cli.group("layouts")
def layouts_group() -> None:
    """Post layouts (layouts/*.yaml)."""


@layouts_group.command("validate")
@click.argument("folder", required=False, type=click.Path(file_okay=False))
@with_appcontext
def layouts_validate(folder: str | None) -> None:
    """Check every layout file against the installed portlets; exit 1 on any problem."""
    from portal.layout import load_layouts

    state = current_app.extensions["portal"]
    target = folder or state.settings["LAYOUTS_DIR"]
    if not Path(target).is_dir():
        raise click.ClickException(f"no such folder: {target}")
    layouts, problems = load_layouts(target, state.portlets)
    for problem in problems:
        click.echo(str(problem))
    click.echo(f"{len(layouts)} layout(s) valid, {len(problems)} problem(s)")
    if problems:
        sys.exit(1)


@layouts_group.command("export")
@click.option("--post", "posts", multiple=True, help="Only these posts (repeatable).")
@click.option("--out", "folder", required=True, type=click.Path(file_okay=False),
              help="Folder to write <post>.yaml files into (created).")
@with_appcontext
def layouts_export(posts: tuple[str, ...], folder: str) -> None:
    """Write the layout each post's users get now (newest version, else the file) as YAML."""
    from portal.db import db_session
    from portal.layout import dump_yaml, to_document
    from portal.layout_versions import effective_layouts

    layouts = effective_layouts(db_session())
    unknown = sorted(set(posts) - layouts.keys())
    if unknown:
        raise click.ClickException(f"no layout for post(s): {', '.join(unknown)}")
    target = Path(folder)
    target.mkdir(parents=True, exist_ok=True)
    for code in sorted(posts or layouts):
        layout = layouts[code]
        origin = f"version {layout.version}" if layout.version else "its layout file"
        path = target / f"{code}.yaml"
        path.write_text(f"# {code} — exported from {origin}\n"
                        + dump_yaml(to_document(layout)), encoding="utf-8")
        click.echo(f"{path}  ({origin})")


@layouts_group.command("import")
@click.argument("paths", nargs=-1, type=click.Path(exists=True))
@click.option("--author", default="cli", show_default=True)
@with_appcontext
def layouts_import(paths: tuple[str, ...], author: str) -> None:
    """Publish layout files whose content is new as the next version of their post.

    Without PATHS, every file in LAYOUTS_DIR. All files are checked first: if one has a
    problem nothing is published and the exit code is 1.
    """
    from portal.db import db_session
    from portal.layout_versions import announce, import_files

    state = current_app.extensions["portal"]
    files: list[Path] = []
    for item in paths or (state.settings["LAYOUTS_DIR"],):
        path = Path(item)
        files += sorted(path.glob("*.yaml")) if path.is_dir() else [path]
    if not files:
        raise click.ClickException("no layout files to import")
    s = db_session()
    result = import_files(s, files, state.portlets, author)
    for problem in result.problems:
        click.echo(str(problem), err=True)
    if result.problems:
        s.rollback()
        click.echo(f"nothing published: {len(result.problems)} problem(s)", err=True)
        sys.exit(1)
    s.commit()
    if result.published:
        announce()
    for row in result.published:
        click.echo(f"{row.post}: published version {row.version}")
    click.echo(f"{len(result.published)} published, {len(result.unchanged)} unchanged")


@cli.command("staff-report")
@click.option("--limit", default=50, show_default=True)
@with_appcontext
def staff_report(limit: int) -> None:
    """Customers whose three staff break the rule; exit code 1 when there are any."""
    from portal.db import db_session
    from portal.staff import three_staff_report

    problems = three_staff_report(db_session())
    for p in problems[:limit]:
        click.echo(f"{p.license_no}  {p.name}  {p.role}: {p.problem}")
    click.echo(f"{len(problems)} problem(s)")
    if problems:
        sys.exit(1)


@cli.command("set-password")
@click.argument("username")
@click.password_option()
@with_appcontext
def set_password(username: str, password: str) -> None:
    """Set a local-directory password."""
    from sqlalchemy import select

    from portal.db import db_session
    from portal.models import Person
    from portal.passwords import hash_password

    s = db_session()
    person = s.scalars(select(Person).where(Person.username == username)).first()
    if person is None:
        raise click.ClickException(f"no such user: {username}")
    if len(password) < 8:
        raise click.ClickException("the password must have at least 8 characters")
    person.password_hash = hash_password(password)
    s.commit()
    click.echo(f"password of {username} changed")


@cli.command("new-portlet", with_appcontext=False)
@click.argument("name")
@click.option("--dir", "target", default=".", show_default=True, type=click.Path(),
              help="Where to create the package folder.")
def new_portlet(name: str, target: str) -> None:
    """Scaffold a portlet plugin distribution NAME with its test."""
    from portal.scaffold import ScaffoldError, scaffold

    try:
        path = scaffold(name, Path(target))
    except ScaffoldError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(f"created {path}; install it with: pip install -e {path}")


@cli.command("serve", with_appcontext=False,
             context_settings={"ignore_unknown_options": True})
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=lambda: int(os.environ.get("PORT", "5000")), type=int,
              show_default="5000 or $PORT")
@click.option("--workers", type=int, default=None,
              help="Worker processes (default: 2 × cores with Redis, 1 without).")
@click.option("--threads", type=int, default=8, show_default=True)
@click.argument("gunicorn_args", nargs=-1, type=click.UNPROCESSED)
def serve(host: str, port: int, workers: int | None, threads: int,
          gunicorn_args: tuple[str, ...]) -> None:
    """Run the portal under gunicorn (gthread workers; --threads for pages, plus
    LIVE_STREAMS_PER_PROCESS for live event streams)."""
    import tempfile

    from portal.config import load

    settings, _origin = load()
    if workers is None:
        # Without Redis the cache and breakers live in the process: keep one process (with
        # threads) so that invalidations reach every request.
        workers = 2 * (os.cpu_count() or 1) if settings["REDIS_URL"] else 1
    if settings["LIVE_ENABLED"]:
        # An open event stream holds a thread: give streams their own, so pages keep *threads*.
        threads += settings["LIVE_STREAMS_PER_PROCESS"]
    os.environ.setdefault("PROMETHEUS_MULTIPROC_DIR", tempfile.mkdtemp(prefix="portal-prom-"))
    args = [sys.executable, "-m", "gunicorn", "--bind", f"{host}:{port}", "--workers", str(workers),
            "--worker-class", "gthread", "--threads", str(threads), "--access-logfile", "-",
            "--timeout", "60", "--graceful-timeout", "20",
            "--config", "python:portal.gunicorn_conf", *gunicorn_args, "portal.wsgi:app"]
    click.echo(" ".join(args))
    os.execv(args[0], args)


@cli.command("worker")
@click.option("--once", is_flag=True, help="One round: deliver what is pending, then exit.")
@click.option("--interval", type=click.FloatRange(min=0.01, max=60), default=None,
              help="Seconds between looks at an idle outbox (default OUTBOX_POLL_INTERVAL).")
@click.option("--batch", type=click.IntRange(min=1, max=1000), default=50, show_default=True,
              help="Events delivered per transaction.")
@with_appcontext
def worker_cmd(once: bool, interval: float | None, batch: int) -> None:
    """Deliver domain events written by other processes (sync workers...) within a second.

    Stops cleanly on SIGTERM or Ctrl-C, after the event in hand.
    """
    import signal
    import threading

    from portal import worker

    app = current_app._get_current_object()  # type: ignore[attr-defined]
    if not app.extensions["portal"].settings["REDIS_URL"]:
        click.echo("warning: without REDIS_URL, open pages do not hear of what this worker "
                   "delivers; in the embedded mode `portal serve` runs the outbox itself",
                   err=True)
    stop = threading.Event()
    if not once:
        for sig in (signal.SIGTERM, signal.SIGINT):
            signal.signal(sig, lambda _signum, _frame: stop.set())
        click.echo("outbox worker started; stop with Ctrl-C or SIGTERM")
    try:
        total = worker.run(app, stop, interval=interval, once=once, batch=batch)
    except Exception as exc:
        raise click.ClickException(f"the outbox could not be dispatched: {exc}") from None
    click.echo(f"{total} event(s) delivered")


def _add_plugin_commands() -> None:
    """Plugins may add commands (``portal_cli``); loading a plugin has no side effects."""
    from portal.plugins import PluginManager

    pm = PluginManager()
    try:
        pm.load_entry_points(disabled=os.environ.get("PORTAL_DISABLED_PLUGINS", "").split(","))
    except Exception as exc:  # never let a plugin break the command line itself
        click.echo(f"warning: plugins not loaded: {exc}", err=True)
        return
    pm.collect("portal_cli", cli=cli)


def main() -> None:
    _add_plugin_commands()
    cli.main(prog_name="portal")
