"""The archive's pages: /archive/ (search with filters and paging), one record, and the
archivist's form for a paper record."""

from __future__ import annotations

import re
from typing import Any

from flask import Blueprint, abort, redirect, render_template, request, url_for
from sqlalchemy import select

from portal.toolkit import (
    OrgUnit,
    Principal,
    audit,
    current_principal,
    db_session,
    gettext,
    invalidate,
    login_required,
)
from portlets.archive import access, index, service
from portlets.archive.models import ArchiveAccess, ArchiveRecord

bp = Blueprint("archive", __name__, url_prefix="/archive", template_folder="templates")
PAGE_SIZE = 20
MAX_PAGE = 50
MAX_QUERY = 60
NUMBER = re.compile(r"[0-9]{1,6}")


def _me() -> Principal:
    principal = current_principal()
    assert principal is not None
    return principal


def _number_arg(name: str, low: int, high: int) -> int | None:
    raw = request.args.get(name, "").strip()
    if not raw:
        return None
    if not NUMBER.fullmatch(raw) or not low <= int(raw) <= high:
        abort(400, gettext("Invalid filter: %(name)s.", name=name))
    return int(raw)


@bp.route("/")
@login_required
def index_page() -> Any:
    """Search (``q``) with filters ``year``, ``category``, ``unit`` (issuing unit) and ``page``;
    without ``q`` the newest records. Only records the user may see, ever."""
    principal = _me()
    s = db_session()
    q = " ".join(request.args.get("q", "").split())
    if len(q) > MAX_QUERY:
        abort(400, gettext("Search text may be at most %(n)d characters long.", n=MAX_QUERY))
    year = _number_arg("year", 1949, 9999)
    unit = _number_arg("unit", 1, 10**9)
    page = _number_arg("page", 1, MAX_PAGE) or 1
    category = request.args.get("category", "").strip()
    if category and category not in service.CATEGORIES:
        abort(400, gettext("Unknown category."))
    units = access.visible_units(s, principal)
    where = index.visible_to(units)
    if year:
        where = where & (ArchiveRecord.year == year)
    if category:
        where = where & (ArchiveRecord.category == category)
    if unit:
        where = where & (ArchiveRecord.unit_id == unit)
    result = index.search(s, q, where, limit=PAGE_SIZE, offset=(page - 1) * PAGE_SIZE)
    pages = min(MAX_PAGE, max(1, -(-result.total // PAGE_SIZE)))
    issuers = list(s.execute(select(OrgUnit.id, OrgUnit.name).where(
        OrgUnit.kind.in_(("city", "county"))).order_by(OrgUnit.path)))
    return render_template(
        "archive/index.html", result=result, q=q, year=year, category=category, unit=unit,
        page_no=page, page_count=pages, categories=service.CATEGORIES,
        retentions=service.RETENTIONS, issuers=issuers, snippet=index.snippet,
        may_register=access.may_register(principal))


def _visible_record(record_id: int) -> ArchiveRecord:
    s = db_session()
    record = s.get(ArchiveRecord, record_id)
    if record is None:
        abort(404)
    units = access.visible_units(s, _me())
    if units is not None and not s.scalar(select(ArchiveAccess.unit_id).where(
            ArchiveAccess.record_id == record_id, ArchiveAccess.unit_id.in_(units)).limit(1)):
        abort(403, gettext("This record is not shared with your unit."))
    return record


@bp.route("/<int:record_id>")
@login_required
def show(record_id: int) -> Any:
    record = _visible_record(record_id)
    shared = list(db_session().scalars(select(OrgUnit.name).join(
        ArchiveAccess, ArchiveAccess.unit_id == OrgUnit.id).where(
        ArchiveAccess.record_id == record.id).order_by(OrgUnit.path)))
    return render_template("archive/record.html", r=record, shared=shared,
                           categories=service.CATEGORIES, retentions=service.RETENTIONS,
                           sources=service.SOURCES)


@bp.route("/new", methods=["GET", "POST"])
@login_required
def new() -> Any:
    """Register a paper record: archivists only; 422 with the reasons on bad input, 409 when
    the number is already archived for that year; nothing is saved then."""
    principal = _me()
    if not access.may_register(principal):
        abort(403, gettext("Only archivists may register records."))
    s = db_session()
    units = list(s.execute(select(OrgUnit.id, OrgUnit.name).order_by(OrgUnit.path)))
    form: dict[str, Any] = {"year": "", "category": "document", "retention": "30y",
                            "unit_id": principal.org_unit_id or "", "unit_ids": []}
    errors: dict[str, str] = {}
    status = 200
    if request.method == "POST":
        form = request.form.to_dict()
        form["unit_ids"] = request.form.getlist("unit_ids")
        try:
            data = service.parse(s, form)
            service.check_unique(s, data)
        except service.Duplicate as exc:
            errors, status = exc.errors, 409
        except service.Invalid as exc:
            errors, status = exc.errors, 422
        else:
            record = service.add(s, data, created_by=principal.person_id)
            audit(s, "archive.register", f"archive_record:{record.id}",
                  title=record.title, number=record.number)
            s.commit()
            invalidate("archive")
            return redirect(url_for("archive.show", record_id=record.id))
    return render_template("archive/new.html", form=form, errors=errors, units=units,
                           categories=service.CATEGORIES,
                           retentions=service.RETENTIONS), status
