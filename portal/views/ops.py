"""Operations endpoints: ``/healthz`` for load balancers and ``/metrics`` for Prometheus."""

from __future__ import annotations

import logging
from typing import Any

from flask import Blueprint, Response, abort, current_app, jsonify
from sqlalchemy import text

from portal import metrics

log = logging.getLogger(__name__)
bp = Blueprint("ops", __name__)


@bp.route("/healthz")
def healthz() -> Any:
    state = current_app.extensions["portal"]
    checks: dict[str, Any] = {}
    try:
        with state.db.engine.connect() as conn:
            conn.execute(text("SELECT 1"))
        checks["database"] = {"ok": True, "dialect": state.db.engine.dialect.name}
    except Exception as exc:
        log.error("healthz: database check failed: %s", exc)
        checks["database"] = {"ok": False, "error": type(exc).__name__}
    try:
        checks["cache"] = {"ok": state.cache.ping(),
                           "shared": state.cache.shared}
    except Exception as exc:
        log.error("healthz: cache check failed: %s", exc)
        checks["cache"] = {"ok": False, "error": type(exc).__name__}
    checks["plugins"] = {p.name: p.state for p in state.plugins.listing()}
    ok = checks["database"]["ok"] and checks["cache"]["ok"]
    return jsonify(status="ok" if ok else "unavailable", checks=checks), 200 if ok else 503


@bp.route("/metrics")
def prometheus() -> Any:
    if not current_app.extensions["portal"].settings["METRICS_ENABLED"]:
        abort(404)
    body, content_type = metrics.exposition()
    return Response(body, content_type=content_type)
