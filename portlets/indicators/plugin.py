"""Registration of the indicators plugin: 我的指标 and 团队指标 portlets, the 城市驾驶舱 page,
the ``portal indicators recompute`` command, the embedded start-up recompute and the demo's
snapshot history. The indicators themselves come from other plugins (hook
``portal_indicators``)."""

from __future__ import annotations

import logging
from collections.abc import Iterable
from datetime import date, datetime
from pathlib import Path
from typing import Any

import click
from flask import Blueprint, Flask, current_app, render_template, url_for
from flask.cli import with_appcontext
from sqlalchemy import select

from portal.indicators import PERIODS, Period, collect, fmt
from portal.toolkit import (
    CachePolicy,
    OrgUnit,
    PeriodicJob,
    Person,
    Portlet,
    Preference,
    PreferenceSchema,
    RenderContext,
    Size,
    Variance,
    db_session,
    gettext,
    hookimpl,
    lazy_gettext,
    setting,
)
from portlets.indicators import read
from portlets.indicators.scope import Scope, scope_for

HERE = Path(__file__).parent
log = logging.getLogger(__name__)

#: Names of the split of the cases indicator (case types, DOMAIN.md §1).
DIM_LABELS = {
    "NONLOCAL_PURCHASE": lazy_gettext("Non-local purchase"),
    "FAKE": lazy_gettext("Counterfeit"),
    "NO_LICENSE": lazy_gettext("No licence"),
    "SMUGGLED": lazy_gettext("Smuggled"),
    "ILLICIT_CHANNEL": lazy_gettext("Illicit channel"),
    "SALE_TO_MINOR": lazy_gettext("Sale to minors"),
    "LICENSE_TRADING": lazy_gettext("Licence trading"),
    "ONLINE_SALE": lazy_gettext("Online sale"),
    "E_CIG": lazy_gettext("E-cigarettes"),
    "NO_TRANSPORT_PERMIT": lazy_gettext("No transport permit"),
    "OTHER": lazy_gettext("Other"),
}


def subject_of(scope: Scope, person_id: int) -> tuple[str, int]:
    """Whose figures the homepage shows: the city for leaders, the unit for department heads,
    one's own otherwise."""
    if scope.city and scope.city_id is not None:
        return "city", scope.city_id
    if scope.units:
        return "unit", sorted(scope.units)[0]
    return "person", person_id


def render_mine(ctx: RenderContext) -> str:
    s = db_session()
    registry = collect(current_app)
    p = ctx.principal
    scope = scope_for(s, p)
    level, subject = subject_of(scope, p.person_id)
    wanted = [ind.id for ind in registry if level in ind.levels and (
        level != "person" or not ind.person_post or ind.person_post in p.posts)]
    today = date.today()
    figures = read.figures(s, registry, level, subject, today, "month", wanted)
    endpoint = {"city": "cockpit.city", "unit": "cockpit.unit", "person": "cockpit.person"}[level]
    args = {} if level == "city" else {"subject_id": subject}
    links = {f.indicator.id: url_for(endpoint, ind=f.indicator.id, **args) for f in figures}
    if level == "person":
        label = p.display_name
    else:
        unit = s.get(OrgUnit, subject)
        label = unit.name if unit else ""
    return render_template(
        "indicators/mine.html", figures=figures, links=links, subject_label=label,
        period_label=gettext("%(month)s, month to date", month=today.strftime("%Y-%m")),
        cockpit_url=url_for("cockpit.city") if level != "person" else "")


def render_team(ctx: RenderContext) -> str:
    from portlets.indicators.views import Row

    s = db_session()
    registry = collect(current_app)
    scope = scope_for(s, ctx.principal)
    wanted = str(ctx.preferences.get("indicator") or "")
    ind = registry.get(wanted) or next((i for i in registry if "person" in i.levels), None)
    rows: list[Row] = []
    today = date.today()
    unit_url = ""
    if ind is not None:
        people = sorted((scope.people or frozenset()) - {ctx.principal.person_id})
        if scope.city:
            people = []  # a leader's team is the city: the cockpit ranks units
        names = dict(s.execute(select(Person.id, Person.display_name)
                               .where(Person.id.in_(people))).all()) if people else {}
        vals = read.values(s, ind.id, "person", people, "month", Period.of("month", today).start)
        rows = [Row(pid, names.get(pid, str(pid)), v[0], None, None,
                    url_for("cockpit.person", subject_id=pid, ind=ind.id))
                for pid, v in vals.items()]
        rows.sort(key=lambda r: -(r.value or 0) if ind.direction == "higher" else r.value or 0)
        if scope.units and not scope.city:
            unit_url = url_for("cockpit.unit", subject_id=sorted(scope.units)[0], ind=ind.id)
    top = max((r.value or 0 for r in rows), default=0)
    return render_template("indicators/team.html", ind=ind, rows=rows[:20], fmt=fmt, top=top,
                           unit_url=unit_url,
                           period_label=gettext("%(month)s, month to date",
                                                month=today.strftime("%Y-%m")))


PORTLETS = (
    Portlet(id="indicators_mine", title=lazy_gettext("My indicators"),
            description=lazy_gettext("Your key figures against target, with their trend: "
                                     "your own, your unit's or the city's."),
            category="work", render=render_mine, default_size=Size(6, 4), min_size=Size(3, 3),
            cache=CachePolicy(ttl=300, vary=Variance.USER), timeout=1.5, icon="◎"),
    Portlet(id="indicators_team", title=lazy_gettext("Team indicators"),
            description=lazy_gettext("The people of the units you manage, ranked by one "
                                     "indicator."),
            category="work", render=render_team,
            posts=frozenset({"dept_head", "leader", "admin"}), default_size=Size(6, 4),
            min_size=Size(3, 3), cache=CachePolicy(ttl=300, vary=Variance.USER), timeout=1.5,
            icon="☰",
            preferences=PreferenceSchema((
                Preference("indicator", "str", "plan_completion",
                           lazy_gettext("Indicator to rank by (its id)"), max_length=40),))),
)


@hookimpl
def portal_portlets() -> Iterable[Portlet]:
    return PORTLETS


@hookimpl
def portal_blueprints() -> Iterable[Blueprint]:
    from portlets.indicators.views import bp

    return [bp]


@hookimpl
def portal_migrations() -> str:
    return str(HERE / "migrations" / "versions")


@hookimpl
def portal_translations() -> str:
    return str(HERE / "translations")


@hookimpl
def portal_startup(app: Flask) -> None:
    app.add_template_filter(lambda d: str(DIM_LABELS.get(d, d)), "indicator_dim")


@hookimpl
def portal_periodic_jobs() -> Iterable[PeriodicJob]:
    """Today's snapshots and stars every ``INDICATORS_RECOMPUTE_SECONDS`` (0: only by
    ``portal indicators recompute``), in the worker or the embedded outbox thread."""
    every = float(setting("INDICATORS_RECOMPUTE_SECONDS"))  # type: ignore[arg-type]
    if every <= 0:
        return []
    return [PeriodicJob("indicators.recompute", every, _recompute_today,
                        "today's indicator snapshots and integrity stars")]


def _recompute_today() -> None:
    """Today's figures, and a year of history the first time (an empty snapshot table)."""
    from portlets.indicators.models import Snapshot
    from portlets.indicators.recompute import recompute

    s = db_session()
    first = s.scalar(select(Snapshot.id).limit(1)) is None
    result = recompute(current_app._get_current_object(),  # type: ignore[attr-defined]
                       s, date.today(), back=12 if first else 0)
    log.info("indicators recomputed: %s snapshots", result.rows)


@click.group("indicators")
def indicators_cli() -> None:
    """Indicators (指标): recompute the snapshots, list the indicators."""


@indicators_cli.command("recompute")
@click.option("--date", "day_raw", default="", help="The day to compute for (YYYY-MM-DD); "
              "default today.")
@click.option("--period", "periods", multiple=True, type=click.Choice(PERIODS),
              help="Only these period kinds (repeatable); default day, month and year.")
@click.option("--back", default=0, show_default=True, type=click.IntRange(0, 120),
              help="Also recompute this many earlier periods of each kind.")
@click.option("--indicator", "only", default="", help="Only this indicator id.")
@with_appcontext
def recompute_command(day_raw: str, periods: tuple[str, ...], back: int, only: str) -> None:
    """Compute the indicators into snapshots (run daily from cron or the worker), and the
    integrity stars. Exit code 1 when an indicator failed."""
    from portal.toolkit import dispatch_pending
    from portlets.indicators.recompute import recompute

    try:
        day = date.fromisoformat(day_raw) if day_raw else date.today()
    except ValueError:
        raise click.BadParameter("use YYYY-MM-DD, e.g. 2026-12-04", param_hint="--date") from None
    if only and collect(current_app).get(only) is None:
        raise click.BadParameter(f"no indicator {only!r}; see `portal indicators list`",
                                 param_hint="--indicator")
    started = datetime.now()
    result = recompute(current_app, db_session(), day, tuple(periods) or PERIODS, back,
                       only or None)
    dispatch_pending(current_app)  # star changes are notices: deliver them now
    seconds = (datetime.now() - started).total_seconds()
    click.echo(f"{result.rows} snapshots in {result.periods} periods, {seconds:.1f}s")
    for name, error in result.failed.items():
        click.echo(f"failed: {name}: {error}", err=True)
    if result.failed:
        raise SystemExit(1)


@indicators_cli.command("list")
@with_appcontext
def list_command() -> None:
    """Every indicator, its unit, levels, periods and owner."""
    registry = collect(current_app)
    for ind in registry:
        click.echo(f"{ind.id:18} {ind.unit:6} {','.join(ind.levels):16} "
                   f"{','.join(ind.periods):15} {registry.owners[ind.id]}  {ind.name}")
    for key, reason in registry.unavailable.items():
        click.echo(f"unavailable: {key}: {reason}", err=True)


@hookimpl
def portal_cli(cli: click.Group) -> None:
    cli.add_command(indicators_cli)


@hookimpl(trylast=True)
def portal_demo_data(app: Flask, session: Any, seed: int) -> None:
    """A year of monthly snapshots (and this month's days) from the other plugins' demo
    records, so the demo's homepages show trends at once. ``trylast``: after the connectors'
    and the collaboration's demo data."""
    from portlets.indicators.recompute import recompute

    session.flush()
    recompute(app, session, date.today(), ("month", "year"), back=12, commit=False)
    recompute(app, session, date.today(), ("day",), back=6, commit=False, jobs=False)
