"""Registration of the connectors plugin: the three sources, the sync engine's commands and
scheduler, the exchange monitoring pages (信息交换平台)."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Any

import click
from flask import Blueprint, Flask

from portal.toolkit import PeriodicJob, Principal, TodoItem, db_session, hookimpl, setting

HERE = Path(__file__).parent


@hookimpl
def portal_connectors(app: Flask) -> Iterable[Any]:
    from connectors.registry import build

    return build(app)


@hookimpl
def portal_migrations() -> str:
    return str(HERE / "migrations" / "versions")


@hookimpl
def portal_translations() -> str:
    return str(HERE / "translations")


@hookimpl
def portal_cli(cli: click.Group) -> None:
    from connectors.sim.cli import sim_group
    from connectors.sync.cli import sync_group

    cli.add_command(sim_group)
    cli.add_command(sync_group)


@hookimpl
def portal_blueprints() -> Iterable[Blueprint]:
    from connectors.exchange.views import bp

    return [bp]


@hookimpl
def portal_periodic_jobs() -> Iterable[PeriodicJob]:
    """With ``SYNC_SCHEDULER`` the worker pulls each source at its mapping's interval."""
    if not setting("SYNC_SCHEDULER"):
        return []
    from flask import current_app

    from connectors.sync.scheduler import periodic_jobs

    return periodic_jobs(current_app._get_current_object())  # type: ignore[attr-defined]


@hookimpl
def portal_admin_links() -> Iterable[tuple[str, str, str]]:
    from flask import url_for

    from portal.toolkit import gettext

    return [(gettext("Data exchange"), url_for("exchange.index"),
             gettext("connectors to 专卖, 营销 and 物流: runs, lag, quarantined rows, "
                     "reconciliation"))]


@hookimpl
def portal_todo_items(principal: Principal) -> Iterable[TodoItem]:
    """Failing sources and freshly quarantined rows, for admins (see ``connectors.alerts``)."""
    from connectors.alerts import alerts

    return alerts(db_session(), principal)


# Indicators, integrity stars and their demo records (issue 9) live in their own module.
from connectors.indicators import (  # noqa: E402,F401
    portal_demo_data,
    portal_indicator_jobs,
    portal_indicators,
)
