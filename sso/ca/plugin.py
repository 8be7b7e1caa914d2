"""Registration of the company CA: its tables, pages, ``portal ca`` commands and catalogue."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Any

import click
from flask import Blueprint, url_for

from portal.toolkit import gettext, hookimpl
from sso.ca import service

HERE = Path(__file__).parent


@hookimpl
def portal_migrations() -> str:
    return str(HERE / "migrations" / "versions")


@hookimpl
def portal_translations() -> str:
    return str(HERE / "translations")


@hookimpl
def portal_blueprints() -> Iterable[Blueprint]:
    from sso.ca.views import bp

    return [bp]


@hookimpl
def portal_admin_links() -> Iterable[tuple[str, str, str]]:
    return [(gettext("Certificates"), url_for("ca.admin_index"),
             gettext("company CA: issue, revoke and download certificates of persons and "
                     "departments"))]


@hookimpl
def portal_cli(cli: click.Group) -> None:
    from sso.ca.cli import ca_group

    cli.add_command(ca_group)


@hookimpl
def portal_demo_data(session: Any) -> None:
    """The demo gets its own CA, so that ``portal ca issue`` works right away."""
    if not service.has_authority(session):
        service.init_authority(session, "个人工作平台演示 CA", "嘉兴市烟草公司")
