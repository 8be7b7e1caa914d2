"""The city cockpit (城市驾驶舱): indicators by unit with month-on-month and year-on-year, a
drill-down city → unit → person, and the export of each view to Excel. Every view and
export checks the viewer's scope (portlets.indicators.scope) and answers 403 outside it."""

from __future__ import annotations

import io
from dataclasses import dataclass
from datetime import date
from typing import Any

from flask import (
    Blueprint,
    Response,
    abort,
    current_app,
    redirect,
    render_template,
    request,
    url_for,
)
from sqlalchemy import select
from werkzeug.wrappers import Response as BaseResponse

from portal.indicators import Indicator, Period, collect, fmt, shift, unit_rollup
from portal.toolkit import (
    OrgUnit,
    Person,
    Post,
    PostAssignment,
    current_principal,
    db_session,
    gettext,
    login_required,
)
from portlets.indicators import read
from portlets.indicators.scope import Scope, scope_for

bp = Blueprint("cockpit", __name__, url_prefix="/cockpit", template_folder="templates")

KINDS = ("month", "year", "day")
MAX_DAYS_BACK = 366 * 10


@dataclass
class Row:
    """One subject in the drill-down table."""

    id: int
    name: str
    value: float | None
    previous: float | None
    year_ago: float | None
    url: str
    numerator: float | None = None
    denominator: float | None = None


def _params() -> tuple[Indicator, str, date]:
    """The indicator, period kind and date asked for; 404 / 400 with a readable message."""
    registry = collect(current_app)
    inds = list(registry)
    if not inds:
        abort(404, gettext("No indicators are installed."))
    ind_id = request.args.get("ind") or inds[0].id
    ind = registry.get(ind_id)
    if ind is None:
        abort(404, gettext("Unknown indicator: %(id)s", id=ind_id[:40]))
    kind = request.args.get("period") or "month"
    if kind not in KINDS or kind not in ind.periods:
        abort(400, gettext("Unknown period: use day, month or year."))
    raw = request.args.get("date") or ""
    try:
        day = date.fromisoformat(raw) if raw else date.today()
    except ValueError:
        abort(400, gettext("The date must look like 2026-12-04."))
    if not 0 <= (date.today() - day).days <= MAX_DAYS_BACK:
        abort(400, gettext("The date must lie within the last ten years."))
    return ind, kind, day


def _scope() -> Scope:
    return scope_for(db_session(), current_principal())


def _deny() -> None:
    abort(403, gettext("These figures are outside your scope."))


def _rows(ind: Indicator, level: str, subjects: list[tuple[int, str]], kind: str,
          day: date, endpoint: str) -> list[Row]:
    s = db_session()
    period = Period.of(kind, day)
    ids = [sid for sid, _n in subjects]
    now = read.values(s, ind.id, level, ids, kind, period.start)
    prev = read.values(s, ind.id, level, ids, kind, shift(kind, period.start, -1))
    ago = read.values(s, ind.id, level, ids, kind, period.year_ago().start)
    out = []
    for sid, name in subjects:
        cur = now.get(sid)
        out.append(Row(sid, name, cur[0] if cur else None,
                       (prev.get(sid) or (None,))[0], (ago.get(sid) or (None,))[0],
                       url_for(endpoint, subject_id=sid, ind=ind.id, period=kind,
                               date=day.isoformat()),
                       cur[1] if cur else None, cur[2] if cur else None))
    out.sort(key=lambda r: (r.value is None, -(r.value or 0) if ind.direction == "higher"
                            else (r.value or 0)))
    return out


def _units(scope: Scope) -> list[tuple[int, str]]:
    s = db_session()
    _city, rollup = unit_rollup(s)
    ids = sorted(set(rollup.values()) - ({scope.city_id} if scope.city_id else set()))
    if not scope.city:
        ids = [i for i in ids if i in scope.units]
    names = dict(s.execute(select(OrgUnit.id, OrgUnit.name).where(OrgUnit.id.in_(ids))).all())
    return [(i, names.get(i, str(i))) for i in ids]


def _people(unit_id: int, scope: Scope) -> list[tuple[int, str]]:
    s = db_session()
    _city, rollup = unit_rollup(s)
    units = [u for u, top in rollup.items() if top == unit_id]
    rows = s.execute(select(Person.id, Person.display_name).where(
        Person.org_unit_id.in_(units), Person.active.is_(True)).order_by(Person.id)).all()
    return [(pid, name) for pid, name in rows if scope.can_see("person", pid)]


def _posts_of(person_id: int) -> set[str]:
    return set(db_session().scalars(select(Post.code).join(
        PostAssignment, PostAssignment.post_id == Post.id).where(
        PostAssignment.person_id == person_id)))


def _page(level: str, subject_id: int, title: str, crumbs: list[tuple[str, str]],
          rows: list[Row] | None, child_level: str | None) -> str:
    ind, kind, day = _params()
    s = db_session()
    registry = collect(current_app)
    ids = None
    if level == "person":  # a person's own figures: those of the posts they hold
        posts = _posts_of(subject_id)
        ids = [i.id for i in registry if not i.person_post or i.person_post in posts
               or i.id == ind.id]
    figs = read.figures(s, registry, level, subject_id, day, kind, ids)
    chart_rows = rows if rows else _rows(ind, level, [(subject_id, title)], kind, day,
                                         "cockpit.person")
    current = next((f for f in figs if f.indicator.id == ind.id), None)
    period = Period.of(kind, day)
    split = read.dims(s, ind.id, level, subject_id, kind, period.start)
    trend_labels = [shift(kind, period.start, i - read.TREND + 1).isoformat()
                    for i in range(read.TREND)]
    return render_template(
        "indicators/cockpit.html", level=level, subject_id=subject_id, title=title,
        crumbs=crumbs, figures=figs, current=current, ind=ind, kind=kind, day=day,
        rows=rows or [], chart_rows=chart_rows, child_level=child_level, split=split,
        trend_labels=trend_labels,
        indicators=list(registry), fmt=fmt, period=period,
        export_url=url_for("cockpit.export", level=level, subject_id=subject_id, ind=ind.id,
                           period=kind, date=day.isoformat()))


@bp.get("/")
@login_required
def city() -> str | BaseResponse:
    scope = _scope()
    if not scope.city:
        if scope.units:  # a department head starts at their own unit
            return redirect(url_for("cockpit.unit", subject_id=sorted(scope.units)[0],
                                    **request.args))
        _deny()
    ind, kind, day = _params()
    if scope.city_id is None:
        abort(404, gettext("The organisation has no single city unit."))
    name = db_session().get(OrgUnit, scope.city_id)
    rows = _rows(ind, "unit", _units(scope), kind, day, "cockpit.unit")
    return _page("city", scope.city_id, name.name if name else "", [], rows, "unit")


@bp.get("/unit/<int:subject_id>")
@login_required
def unit(subject_id: int) -> str:
    scope = _scope()
    unit_row = db_session().get(OrgUnit, subject_id)
    if unit_row is None:
        abort(404, gettext("No such unit."))
    if not scope.can_see("unit", subject_id):
        _deny()
    ind, kind, day = _params()
    rows = _rows(ind, "person", _people(subject_id, scope), kind, day, "cockpit.person")
    crumbs = [(gettext("City"), url_for("cockpit.city", **request.args))] if scope.city else []
    return _page("unit", subject_id, unit_row.name, crumbs, rows, "person")


@bp.get("/person/<int:subject_id>")
@login_required
def person(subject_id: int) -> str:
    scope = _scope()
    who = db_session().get(Person, subject_id)
    if who is None:
        abort(404, gettext("No such person."))
    if not scope.can_see("person", subject_id):
        _deny()
    crumbs = []
    if scope.city:
        crumbs.append((gettext("City"), url_for("cockpit.city", **request.args)))
    _city, rollup = unit_rollup(db_session())
    top = rollup.get(who.org_unit_id or 0)
    if top is not None and scope.can_see("unit", top):
        top_unit = db_session().get(OrgUnit, top)
        crumbs.append((top_unit.name if top_unit else str(top),
                       url_for("cockpit.unit", subject_id=top, **request.args)))
    return _page("person", subject_id, who.display_name, crumbs, None, None)


@bp.get("/export/<level>/<int:subject_id>.xlsx")
@login_required
def export(level: str, subject_id: int) -> Response:
    """The view as a workbook: the subject's figures, and the drill-down rows."""
    from openpyxl import Workbook

    if level not in ("city", "unit", "person"):
        abort(404, gettext("No such level."))
    scope = _scope()
    if not scope.can_see(level, subject_id) or (level == "city" and not scope.city):
        _deny()
    ind, kind, day = _params()
    s = db_session()
    registry = collect(current_app)
    wb = Workbook()
    ws = wb.active
    ws.title = gettext("Figures")[:31]
    ws.append([gettext("Indicator"), gettext("Unit"), gettext("Value"), gettext("Target"),
               gettext("Previous period"), gettext("Same period last year"), gettext("Status")])
    for f in read.figures(s, registry, level, subject_id, day, kind):
        ws.append([str(f.indicator.name), str(f.indicator.unit), f.value, f.target,
                   f.previous, f.year_ago,
                   gettext("unavailable") if f.unavailable else f.status])
    if level in ("city", "unit"):
        if level == "city":
            rows = _rows(ind, "unit", _units(scope), kind, day, "cockpit.unit")
        else:
            rows = _rows(ind, "person", _people(subject_id, scope), kind, day,
                         "cockpit.person")
        sheet = wb.create_sheet(str(ind.name)[:31])
        sheet.append([gettext("Name"), gettext("Value"), gettext("Numerator"),
                      gettext("Denominator"), gettext("Previous period"),
                      gettext("Same period last year")])
        for r in rows:
            sheet.append([r.name, r.value, r.numerator, r.denominator, r.previous, r.year_ago])
    buf = io.BytesIO()
    wb.save(buf)
    name = f"indicators-{level}-{subject_id}-{kind}-{day.isoformat()}.xlsx"
    return Response(buf.getvalue(), headers={
        "Content-Disposition": f'attachment; filename="{name}"'},
        mimetype="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")


def chart_data(rows: list[Row], ind: Indicator) -> dict[str, Any]:
    """What the bar chart needs (names, values, previous, year ago, drill URLs)."""
    scale = 100.0 if ind.unit == "%" else 1.0

    def sc(v: float | None) -> float | None:
        return round(v * scale, 2) if v is not None else None

    return {"names": [r.name for r in rows], "value": [sc(r.value) for r in rows],
            "previous": [sc(r.previous) for r in rows],
            "year_ago": [sc(r.year_ago) for r in rows], "urls": [r.url for r in rows]}


@bp.app_template_global("indicator_chart_data")
def _chart_data_global(rows: list[Row], ind: Indicator) -> dict[str, Any]:
    return chart_data(rows, ind)
