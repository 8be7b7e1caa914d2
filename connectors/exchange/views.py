"""信息交换平台 (exchange monitoring) for admins: connector status, daily exchange summaries,
quarantined rows, and reconciliation by sample."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any

from flask import Blueprint, abort, current_app, render_template, request
from sqlalchemy import select

from connectors.exchange.reconcile import reconcile, sample_ids
from connectors.labels import FIELD_LABELS, SOURCE_LABELS
from connectors.models import ConnectorState, ExchangeDay, ExchangeLog, Watermark
from connectors.sync.engine import connectors
from portal.toolkit import db_session, gettext, role_required

bp = Blueprint("exchange", __name__, url_prefix="/exchange", template_folder="templates")
DAYS = 14
LOG_ROWS = 50
MAX_SAMPLE = 200


def status_rows() -> list[dict[str, Any]]:
    s = db_session()
    states = {st.source: st for st in s.scalars(select(ConnectorState))}
    marks: dict[str, list[Watermark]] = {}
    for wm in s.scalars(select(Watermark).order_by(Watermark.stream)):
        marks.setdefault(wm.source, []).append(wm)
    rows = []
    for name, conn in connectors(current_app).items():
        st = states.get(name)
        health = "unknown" if st is None or st.last_run_at is None else (
            "ok" if not st.failures else "failing")
        rows.append({"name": name, "title": SOURCE_LABELS.get(name, conn.spec.title),
                     "type": conn.spec.type, "schedule": conn.spec.schedule_seconds,
                     "state": st, "health": health, "watermarks": marks.get(name, [])})
    return rows


@bp.route("/")
@role_required("admin")
def index() -> Any:
    s = db_session()
    since = date.today() - timedelta(days=DAYS - 1)
    days = list(s.scalars(select(ExchangeDay).where(ExchangeDay.day >= since)
                          .order_by(ExchangeDay.day.desc(), ExchangeDay.source)))
    log = list(s.scalars(select(ExchangeLog).order_by(ExchangeLog.id.desc()).limit(LOG_ROWS)))
    return render_template("exchange/index.html", rows=status_rows(), days=days, log=log,
                           sources=SOURCE_LABELS, now=datetime.now())


@bp.route("/reconcile", methods=["GET", "POST"])
@role_required("admin")
def reconcile_view() -> Any:
    result = None
    n = 20
    if request.method == "POST":
        raw = request.form.get("n", "")
        if not raw.isdigit() or not 1 <= int(raw) <= MAX_SAMPLE:
            abort(400, gettext("The sample size must be a whole number from 1 to %(max)d.",
                               max=MAX_SAMPLE))
        n = int(raw)
        s = db_session()
        result = reconcile(s, connectors(current_app), sample_ids(s, n))
    return render_template("exchange/reconcile.html", result=result, n=n,
                           max_sample=MAX_SAMPLE, sources=SOURCE_LABELS, fields=FIELD_LABELS)
