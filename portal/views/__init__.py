"""The core's pages: sign-in, the homepage and its windows, administration, operations."""

from __future__ import annotations

import logging
from typing import Any

from flask import Flask, jsonify, render_template, request
from flask_babel import gettext as _
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException

from portal.views import account, admin, arrange, auth, find, layout_admin, live, ops, pages

log = logging.getLogger(__name__)


def register_views(app: Flask) -> None:
    for bp in (auth.bp, pages.bp, arrange.bp, admin.bp, layout_admin.bp, ops.bp, account.bp,
               live.bp, find.bp):
        app.register_blueprint(bp)

    @app.errorhandler(CSRFError)
    def _csrf(exc: CSRFError) -> Any:
        return error_page(400, _("Your form has expired or did not come from this portal. "
                                  "Please reload the page and try again."))

    @app.errorhandler(HTTPException)
    def _http(exc: HTTPException) -> Any:
        messages = {
            400: _("The request could not be understood."),
            403: _("You do not have permission to see this."),
            404: _("The page you asked for does not exist."),
            405: _("This action is not allowed here."),
            409: _("Someone changed this in the meantime. Reload and try again."),
            413: _("The upload is too large."),
        }
        code = exc.code or 500
        # A view's own abort(403, "...") message is shown as is; werkzeug's generic English
        # descriptions are replaced by translated ones.
        custom = exc.description and exc.description != type(exc).description
        text = exc.description if custom else messages.get(code, exc.description or "")
        return error_page(code, str(text))

    @app.errorhandler(Exception)
    def _unexpected(exc: Exception) -> Any:
        log.exception("unhandled error on %s %s", request.method, request.path)
        return error_page(500, _("Something went wrong on our side. It has been logged."))


def error_page(code: int, message: str) -> Any:
    """The portal's error answer for *code*: JSON for a client that asks for it, else the
    error page; plugins return it from their own error handlers (``toolkit.error_page``)."""
    wants_json = request.accept_mimetypes.best == "application/json" or request.is_json
    if wants_json:
        return jsonify(error=message, status=code), code
    return render_template("errors/error.html", code=code, message=message), code
