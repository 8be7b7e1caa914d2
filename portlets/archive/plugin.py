"""Registration of the archive plugin (档案): the 档案检索 portlet, the /archive/ pages, the
``document.archived`` event, the unified search, bulk import, demo data. The hooks are the whole
contract with the core."""

from __future__ import annotations

import logging
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import click
from flask import Blueprint, render_template, url_for
from flask.cli import with_appcontext
from sqlalchemy import select

from portal.toolkit import (
    CachePolicy,
    DomainEvent,
    OrgUnit,
    Portlet,
    Principal,
    RenderContext,
    SearchResult,
    Size,
    Variance,
    db_session,
    hookimpl,
    invalidate,
    lazy_gettext,
)
from portlets.archive import access, index, service
from portlets.archive.models import ArchiveRecord
from portlets.archive.views import bp

HERE = Path(__file__).parent
EVENT = "document.archived"
RECENT = 6
SEARCH_HITS = 20
log = logging.getLogger(__name__)


def render(ctx: RenderContext) -> str:
    s = db_session()
    where = index.visible_to(access.visible_units(s, ctx.principal))
    rows = list(s.scalars(select(ArchiveRecord).where(where)
                          .order_by(ArchiveRecord.id.desc()).limit(RECENT)))
    return render_template("archive/portlet.html", rows=rows, categories=service.CATEGORIES)


PORTLET = Portlet(
    id="archive",
    title=lazy_gettext("Archive search"),
    description=lazy_gettext("Search the archived documents of your unit, in Chinese full text."),
    category="work",
    render=render,
    default_size=Size(6, 4),
    min_size=Size(4, 3),
    # What a person may see depends on their unit; new records bump the version (events).
    cache=CachePolicy(ttl=300, vary=Variance.USER),
    icon="▦",
)


@hookimpl
def portal_portlets() -> Iterable[Portlet]:
    return [PORTLET]


@hookimpl
def portal_blueprints() -> Iterable[Blueprint]:
    return [bp]


@hookimpl
def portal_migrations() -> str:
    return str(HERE / "migrations" / "versions")


@hookimpl
def portal_translations() -> str:
    return str(HERE / "translations")


@hookimpl
def portal_handle_event(event: DomainEvent) -> None:
    """A finished document arrives (from 发文/收文 or any plugin): archive it once, however
    often the event is delivered. A payload that can never make a record is logged, not
    retried. Runs in the dispatcher's transaction: flush, never commit."""
    if event.type != EVENT:
        return
    try:
        service.from_event(db_session(), event.id, event.payload)
    except service.Invalid as exc:  # checked before anything is written
        log.error("event %s #%s cannot be archived: %s", EVENT, event.id, exc)
        return
    invalidate(PORTLET.id)


@hookimpl
def portal_search(principal: Principal, query: str) -> Iterable[SearchResult]:
    s = db_session()
    where = index.visible_to(access.visible_units(s, principal))
    page = index.search(s, query, where, limit=SEARCH_HITS)
    source = str(lazy_gettext("Archives"))
    return [SearchResult(source=source, title=f"{h.record.title}",
                         url=url_for("archive.show", record_id=h.record.id),
                         snippet=index.snippet(f"{h.record.number} {h.record.body}", page.words),
                         when=h.record.created_at, score=h.rank)
            for h in page.hits]


@click.group("archive")
def archive_cli() -> None:
    """The archive (档案)."""


@archive_cli.command("import")
@click.argument("file", type=click.Path(path_type=Path))
@with_appcontext
def import_command(file: Path) -> None:
    """Load records from FILE (.csv with a header row, or .json: a list of objects) with the
    fields title, number, year, category, retention, unit_id (id or code), issuer, body, url,
    unit_ids (ids or codes split by ';'). All rows or none."""
    from portlets.archive.bulk import ImportFailed, import_rows, read_rows

    s = db_session()
    try:
        count = import_rows(s, read_rows(file))
    except ImportFailed as exc:
        s.rollback()
        for line in exc.problems:
            click.echo(line, err=True)
        raise click.exceptions.Exit(1) from exc
    s.commit()
    invalidate(PORTLET.id)
    click.echo(f"imported {count} records")


@archive_cli.command("reindex")
@with_appcontext
def reindex_command() -> None:
    """Rebuild the full-text index of every record (after a change of the dictionary)."""
    s = db_session()
    count = 0
    for record in s.scalars(select(ArchiveRecord).order_by(ArchiveRecord.id)).yield_per(500):
        index.write(s, record)
        count += 1
    s.commit()
    click.echo(f"reindexed {count} records")


@hookimpl
def portal_cli(cli: click.Group) -> None:
    cli.add_command(archive_cli)


@hookimpl
def portal_demo_data(session: Any, seed: int) -> None:
    """Three hundred archived documents: most shared with the city bureau (seen everywhere),
    some only with one county."""
    from portlets.archive.demo import generate

    if session.scalar(select(ArchiveRecord.id).limit(1)) is not None:
        return
    city = session.scalar(select(OrgUnit.id).where(OrgUnit.kind == "city").order_by(OrgUnit.id))
    counties = list(session.scalars(select(OrgUnit.id).where(OrgUnit.kind == "county")))
    if city is None:
        return
    for n, row in enumerate(generate(300, seed=seed + 303)):
        shared = [counties[n % len(counties)]] if counties and n % 4 == 0 else [city]
        data = service.parse(session, {**row, "unit_id": city, "unit_ids": shared})
        service.add(session, data)
    session.flush()
