"""Administration: plugins and their state, portlet health, the three-staff report.

Every page needs the admin role and the sign-in level of the ``ADMIN_ASSURANCE`` setting.
"""

from __future__ import annotations

import logging
from typing import Any

from flask import Blueprint, current_app, render_template

from portal.assurance import admin_required
from portal.db import db_session
from portal.staff import three_staff_report

log = logging.getLogger(__name__)
bp = Blueprint("admin", __name__, url_prefix="/admin")


@bp.route("/")
@admin_required
def index() -> Any:
    state = current_app.extensions["portal"]
    links = [tuple(link) for _name, entries in state.plugins.call_safely(
        "portal_admin_links",
        lambda name, exc: log.error("plugin %s failed in portal_admin_links: %s", name, exc))
        for link in entries]
    return render_template("admin/index.html", layout_problems=state.layout_problems,
                           plugin_links=links)


@bp.route("/plugins")
@admin_required
def plugins() -> Any:
    state = current_app.extensions["portal"]
    return render_template("admin/plugins.html", plugins=state.plugins.listing(),
                           portlets=state.portlets, portlet_plugin=state.portlet_plugin)


@bp.route("/health")
@admin_required
def health() -> Any:
    state = current_app.extensions["portal"]
    return render_template("admin/health.html", rows=state.aggregator.health())


@bp.route("/staff")
@admin_required
def staff() -> Any:
    return render_template("admin/staff.html", problems=three_staff_report(db_session(),
                                                                           limit=500))
