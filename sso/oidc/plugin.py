"""Registration of the OpenID Connect provider: the hooks are its whole contract with the core."""

from __future__ import annotations

import logging
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING

from flask import Blueprint, Flask, has_request_context

from portal.toolkit import Principal, db_session, hookimpl, setting

if TYPE_CHECKING:
    import click

HERE = Path(__file__).parent
log = logging.getLogger(__name__)


@hookimpl
def portal_migrations() -> str:
    return str(HERE / "migrations" / "versions")


@hookimpl
def portal_translations() -> str:
    return str(HERE / "translations")


@hookimpl
def portal_blueprints() -> Iterable[Blueprint]:
    from sso.oidc.views import api, bp

    return [bp, api]


@hookimpl
def portal_startup(app: Flask) -> None:
    from sso.oidc.server import create_server
    from sso.oidc.views import api

    app.extensions["oidc"] = create_server(app)
    # Relying parties authenticate themselves (client secret, bearer token, PKCE), they
    # never hold the portal's CSRF token.
    csrf = app.extensions.get("csrf")
    if csrf is not None:
        csrf.exempt(api)


@hookimpl
def portal_signed_out(principal: Principal, session_id: str) -> None:
    """Single sign-out: the relying parties this session signed in to hear about it."""
    from sso.oidc.logout import end_rp_sessions, session_sid
    from sso.oidc.server import issuer

    if not has_request_context():  # the issuer is the request's base URL unless configured
        log.warning("portal_signed_out outside a request: relying parties not told")
        return
    end_rp_sessions(db_session(), session_sid(session_id), issuer(),
                    float(setting("OIDC_BACKCHANNEL_TIMEOUT")))  # type: ignore[arg-type]


@hookimpl
def portal_cli(cli: click.Group) -> None:
    from sso.oidc.cli import oidc

    cli.add_command(oidc)


@hookimpl
def portal_admin_links() -> Iterable[tuple[str, str, str]]:
    from flask import url_for

    from portal.toolkit import gettext

    return [(gettext("OpenID Connect clients"), url_for("oidc.clients"),
             gettext("the integrated systems (OA, marketing...) that sign in through the "
                     "portal: register, rotate secrets, disable"))]
