"""综合查询: leaders' filters over the items of the units they manage, exports and figures.

The scope is ``access.visible`` (parties in the leader's units, their own items, admins see
all), so a leader can never query past their units. Filters are validated into ``Filters`` first:
a bad date or number is a 400, never a database error.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import Select, String, and_, func, or_, select
from sqlalchemy.orm import Session, aliased

from portal.toolkit import OrgUnit, Person, Principal, gettext, prefix_match
from portlets.collab import access, catalogue
from portlets.collab.errors import Invalid
from portlets.collab.models import WorkItem, WorkParty
from portlets.collab.states import OPEN, State, state_label

PAGE_SIZE = 20
EXPORT_LIMIT = 50_000


@dataclass
class Filters:
    type_code: str = ""
    state: str = ""
    unit_id: int | None = None
    handler: str = ""           # user name or display name of the current holder
    date_from: date | None = None
    date_to: date | None = None
    overdue: bool = False
    rating: str = ""            # a grade, or "fail" / "pass"
    text: str = ""

    @classmethod
    def from_args(cls, args: Any) -> Filters:
        errors: dict[str, str] = {}

        def day(key: str) -> date | None:
            raw = (args.get(key) or "").strip()
            if not raw:
                return None
            try:
                return date.fromisoformat(raw)
            except ValueError:
                errors[key] = gettext("Use the form YYYY-MM-DD.")
                return None

        unit_raw = (args.get("unit") or "").strip()
        if unit_raw and not unit_raw.isdigit():
            errors["unit"] = gettext("Unknown organisation unit.")
        state = (args.get("state") or "").strip()
        if state and state not in {s.value for s in State}:
            errors["state"] = gettext("Unknown status.")
        type_code = (args.get("type") or "").strip()
        if type_code and catalogue.work_type(type_code) is None:
            errors["type"] = gettext("Choose a type.")
        rating = (args.get("rating") or "").strip()
        if rating and rating not in (*catalogue.GRADES, "pass", "fail"):
            errors["rating"] = gettext("Unknown rating.")
        f = cls(type_code=type_code, state=state,
                unit_id=int(unit_raw) if unit_raw.isdigit() else None,
                handler=(args.get("handler") or "").strip()[:64],
                date_from=day("from"), date_to=day("to"),
                overdue=(args.get("overdue") or "") in ("1", "on", "true"), rating=rating,
                text=(args.get("q") or "").strip()[:100])
        if errors:
            raise Invalid(gettext("Please correct the filters."), errors)
        return f


def build(session: Session, principal: Principal, f: Filters,
          now: datetime | None = None) -> Select[Any]:
    """The filtered, scoped query over ``WorkItem`` (newest submission first)."""
    q = select(WorkItem).where(access.visible(session, principal), WorkItem.state != "draft")
    if f.type_code:
        q = q.where(WorkItem.type_code == f.type_code)
    if f.state:
        q = q.where(WorkItem.state == f.state)
    if f.unit_id is not None:
        path = session.scalar(select(OrgUnit.path).where(OrgUnit.id == f.unit_id)) or "-"
        q = q.where(access.involves(prefix_match(WorkParty.unit_path, path)))
    if f.handler:
        people = select(Person.id).where(or_(Person.username == f.handler,
                                             Person.display_name == f.handler))
        q = q.where(WorkItem.handler_person_id.in_(people))
    if f.date_from:
        q = q.where(WorkItem.submitted_at >= datetime.combine(f.date_from, datetime.min.time()))
    if f.date_to:
        q = q.where(WorkItem.submitted_at < datetime.combine(f.date_to + timedelta(days=1),
                                                             datetime.min.time()))
    if f.overdue:
        now = now or datetime.now()
        q = q.where(or_(WorkItem.overdue == 1,
                        and_(WorkItem.state.in_([s.value for s in OPEN]),
                             WorkItem.due_at < now)))
    if f.rating in catalogue.GRADES:
        q = q.where(WorkItem.rating_grade == f.rating)
    elif f.rating == "fail":
        q = q.where(or_(WorkItem.rating_grade == catalogue.FAILING_GRADE,
                        WorkItem.rating_score < catalogue.PASS_SCORE))
    elif f.rating == "pass":
        q = q.where(or_(WorkItem.rating_grade.in_(catalogue.GRADES[:3]),
                        WorkItem.rating_score >= catalogue.PASS_SCORE))
    if f.text:
        like = f"%{f.text.replace('%', '').replace('_', '')}%"
        q = q.where(or_(WorkItem.subject.like(like), WorkItem.content.like(like),
                        WorkItem.result.like(like)))
    return q.order_by(WorkItem.submitted_at.desc(), WorkItem.id.desc())


def page(session: Session, principal: Principal, f: Filters, number: int = 1,
         now: datetime | None = None) -> tuple[list[WorkItem], bool]:
    rows = list(session.scalars(build(session, principal, f, now)
                                .limit(PAGE_SIZE + 1).offset((number - 1) * PAGE_SIZE)))
    return rows[:PAGE_SIZE], len(rows) > PAGE_SIZE


COLUMNS = ("id", "type", "subject", "status", "originator", "handler", "unit", "submitted",
           "due", "finished", "overdue", "rating")


def rows_for_export(session: Session, principal: Principal,
                    f: Filters) -> tuple[list[str], list[list[Any]]]:
    originator, holder = aliased(Person), aliased(Person)
    sub = build(session, principal, f).limit(EXPORT_LIMIT).subquery()
    item = aliased(WorkItem, sub)
    result = session.execute(
        select(item, originator.display_name, holder.display_name, OrgUnit.name)
        .join(originator, originator.id == item.originator_id)
        .outerjoin(holder, holder.id == item.handler_person_id)
        .outerjoin(OrgUnit, OrgUnit.id == item.handler_unit_id)
        .order_by(item.submitted_at.desc(), item.id.desc())).all()
    headers = [gettext("No."), gettext("Type"), gettext("Subject"), gettext("Status"),
               gettext("Originator"), gettext("Handler"), gettext("Unit"),
               gettext("Submitted"), gettext("Due"), gettext("Finished"), gettext("Overdue"),
               gettext("Rating")]
    out = []
    for it, orig_name, holder_name, unit_name in result:
        wt = catalogue.work_type(it.type_code)
        out.append([it.id, wt.name if wt else it.type_code, it.subject, state_label(it.state),
                    orig_name, holder_name or "", unit_name or "", it.submitted_at, it.due_at,
                    it.finished_at, gettext("yes") if it.overdue else "",
                    it.rating_score if it.rating_score is not None else (it.rating_grade or "")])
    return headers, out


def _safe_cell(value: Any) -> Any:
    """Cells starting with = + - @ are formulas to a spreadsheet: neutralise them (CSV/XLSX
    injection), keep numbers and dates as they are."""
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + value
    return value


def to_csv(headers: list[str], rows: list[list[Any]]) -> bytes:
    buf = io.StringIO()
    w = csv.writer(buf)
    w.writerow(headers)
    for r in rows:
        w.writerow([(v.strftime("%Y-%m-%d %H:%M") if isinstance(v, datetime) else
                     _safe_cell(v)) if v is not None else "" for v in r])
    return ("\ufeff" + buf.getvalue()).encode("utf-8")  # BOM: Excel opens it as UTF-8


def to_xlsx(headers: list[str], rows: list[list[Any]]) -> bytes:
    from openpyxl import Workbook
    from openpyxl.styles import Font

    wb = Workbook(write_only=False)
    ws = wb.active
    assert ws is not None
    ws.title = gettext("Work items")[:31]
    ws.append(headers)
    for cell in ws[1]:
        cell.font = Font(bold=True)
    for r in rows:
        ws.append([_safe_cell(v) for v in r])
    for col, width in zip("ABCDEFGHIJKL", (8, 10, 40, 10, 10, 10, 16, 17, 17, 17, 6, 8),
                          strict=True):
        ws.column_dimensions[col].width = width
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def analytics(session: Session, principal: Principal, f: Filters,
              now: datetime | None = None) -> dict[str, Any]:
    """Figures for the charts: volume by type and month, mean handling time (hours) by type,
    overdue rate, mean rating by finishing unit. Aggregated in SQL over the scoped query."""
    now = now or datetime.now()
    sub = build(session, principal, f, now).order_by(None).subquery()
    it = aliased(WorkItem, sub)
    month = func.substr(func.cast(it.submitted_at, String()), 1, 7)
    volume = session.execute(select(it.type_code, month, func.count())
                             .group_by(it.type_code, month).order_by(month)).all()
    months = sorted({m for _t, m, _n in volume if m})
    names = {t.code: t.name for t in catalogue.work_types()}
    series: dict[str, dict[str, int]] = {}
    for code, m, n in volume:
        series.setdefault(names.get(code, code), dict.fromkeys(months, 0))[m] = n
    finished = session.execute(select(it.type_code, it.submitted_at, it.finished_at).where(
        it.finished_at.is_not(None)).limit(20_000)).all()
    durations: dict[str, list[float]] = {}
    for code, start, end in finished:
        if start and end:
            durations.setdefault(names.get(code, code), []).append(
                (end - start).total_seconds() / 3600)
    total, late = session.execute(select(func.count(), func.sum(
        func.coalesce(it.overdue, 0)))).one()
    grade_points = {"优秀": 95, "良好": 85, "合格": 70, "不合格": 40}
    rated = session.execute(select(OrgUnit.name, it.rating_score, it.rating_grade)
                            .join(OrgUnit, OrgUnit.id == it.handler_unit_id)
                            .where(or_(it.rating_score.is_not(None),
                                       it.rating_grade.is_not(None))).limit(20_000)).all()
    by_unit: dict[str, list[int]] = {}
    for unit, score, grade in rated:
        points = score if score is not None else grade_points.get(grade or "")
        if points is not None:
            by_unit.setdefault(unit, []).append(points)
    return {
        "months": months,
        "volume": [{"name": k, "data": [v[m] for m in months]} for k, v in series.items()],
        "handling_hours": [(k, round(sum(v) / len(v), 1)) for k, v in sorted(durations.items())],
        "total": int(total or 0),
        "overdue": int(late or 0),
        "overdue_rate": round(100 * int(late or 0) / int(total), 1) if total else 0.0,
        "ratings": [(k, round(sum(v) / len(v), 1)) for k, v in sorted(by_unit.items())],
    }

