"""``portal sync run|backfill|status``."""

from __future__ import annotations

import json
import sys
import time
from datetime import datetime
from typing import Any

import click
from flask import current_app
from flask.cli import with_appcontext
from sqlalchemy import select

from connectors.models import ConnectorState, Watermark
from connectors.sync.engine import RunResult, SyncEngine, connectors


@click.group("sync")
def sync_group() -> None:
    """Pull changes from the source systems (专卖, 营销, 物流) into the portal."""


def _names(given: tuple[str, ...]) -> list[str]:
    known = list(connectors(current_app))
    unknown = [n for n in given if n not in known]
    if unknown:
        raise click.BadParameter(f"unknown source {', '.join(unknown)}; known: "
                                 f"{', '.join(known)}", param_hint="SOURCE")
    return list(given) or known


def _echo(r: RunResult) -> None:
    state = "ok" if r.ok else f"FAILED: {r.error}"
    click.echo(f"{r.source:<10} read {r.read:>6}  changed {r.changed:>6}  quarantined "
               f"{r.quarantined:>4}  events {r.events:>5}  backlog {r.backlog:>6}  {state}")


@sync_group.command("run")
@click.argument("sources", nargs=-1)
@click.option("--loop", is_flag=True, help="Keep running each source on its schedule.")
@click.option("--batch-size", type=click.IntRange(1, 10_000), default=None,
              help="Rows per transaction (default: the mapping's batch_size).")
@click.option("--max-batches", type=click.IntRange(1), default=None,
              help="Stop each stream after this many batches.")
@with_appcontext
def sync_run(sources: tuple[str, ...], loop: bool, batch_size: int | None,
             max_batches: int | None) -> None:
    """Sync SOURCES (default: all) up to their current head; exit 1 if one failed."""
    names = _names(sources)
    engine = SyncEngine(current_app, batch_size=batch_size)
    if loop:
        from connectors.sync.scheduler import ThreadScheduler

        scheduler = ThreadScheduler(current_app).start()
        try:
            while scheduler.thread.is_alive():
                time.sleep(1)
        except KeyboardInterrupt:
            scheduler.stop()
        return
    results = [engine.run_source(n, max_batches=max_batches) for n in names]
    if not sources:
        click.echo(f"licences entering their last 30 days: {engine.remind_expiring()} told")
    for r in results:
        _echo(r)
    if not all(r.ok for r in results):
        sys.exit(1)


@sync_group.command("backfill")
@click.argument("source")
@click.option("--stream", default=None, help="Only this stream of the source.")
@click.option("--from", "position", type=click.IntRange(0), default=0, show_default=True,
              help="Change position to read again from.")
@with_appcontext
def sync_backfill(source: str, stream: str | None, position: int) -> None:
    """Read SOURCE again from a position. Idempotent: what was applied is not applied twice."""
    _names((source,))
    conn = connectors(current_app)[source]
    if stream is not None and stream not in [s.name for s in conn.spec.streams]:
        raise click.BadParameter(f"{source} has no stream {stream}", param_hint="--stream")
    engine = SyncEngine(current_app)
    engine.reset(source, stream, position)
    result = engine.run_source(source)
    _echo(result)
    if not result.ok:
        sys.exit(1)


@sync_group.command("status")
@click.option("--json", "as_json", is_flag=True)
@with_appcontext
def sync_status(as_json: bool) -> None:
    """Last run, failures, lag and watermarks of every source."""
    s = current_app.extensions["portal"].db.session()
    states = {st.source: st for st in s.scalars(select(ConnectorState))}
    marks: dict[str, dict[str, str]] = {}
    for wm in s.scalars(select(Watermark)):
        marks.setdefault(wm.source, {})[wm.stream] = wm.position
    rows: list[dict[str, Any]] = []
    for name in connectors(current_app):
        st = states.get(name)
        rows.append({"source": name,
                     "health": "never run" if st is None else (
                         "ok" if not st.failures else "failing"),
                     "last_run": _iso(st.last_run_at if st else None),
                     "last_success": _iso(st.last_success_at if st else None),
                     "failures": st.failures if st else 0,
                     "lag_seconds": st.lag_seconds if st else None,
                     "last_error": st.last_error if st else None,
                     "watermarks": marks.get(name, {})})
    if as_json:
        click.echo(json.dumps(rows, ensure_ascii=False, indent=2))
        return
    for r in rows:
        click.echo(f"{r['source']:<10} {r['health']:<9} last run {r['last_run'] or '—'}  "
                   f"failures {r['failures']}  watermarks "
                   f"{', '.join(f'{k}={v}' for k, v in r['watermarks'].items()) or '—'}")
        if r["last_error"]:
            click.echo(f"{'':<10} last error: {r['last_error']}")


def _iso(value: datetime | None) -> str | None:
    return value.isoformat(timespec="seconds") if value else None
