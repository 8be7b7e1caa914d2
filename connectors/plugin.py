"""Registration of the connectors plugin: the three sources, the sync engine's commands and
scheduler, the exchange monitoring pages (信息交换平台)."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Any

import click
from flask import Blueprint, Flask

from portal.toolkit import hookimpl

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
def portal_startup(app: Flask) -> None:
    """The embedded demo syncs in a thread of the web process (setting ``SYNC_SCHEDULER``)."""
    if app.extensions["portal"].settings["SYNC_SCHEDULER"] and not app.testing:
        from connectors.sync.scheduler import ThreadScheduler

        ThreadScheduler(app).start()
from connectors.indicators import portal_demo_data, portal_indicator_jobs, portal_indicators  # noqa: E402,F401  (issue 9)
