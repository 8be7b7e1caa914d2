"""``portal sim init|run|serve``: the simulated source systems."""

from __future__ import annotations

import random
import time

import click
from flask import current_app
from flask.cli import with_appcontext

from connectors.registry import sim_urls
from connectors.sim.systems import ChangeStream, SimSystems


@click.group("sim")
def sim_group() -> None:
    """The simulated 专卖, 营销 and 物流 systems (demo and tests)."""


def _systems() -> SimSystems:
    return SimSystems(sim_urls(current_app))


@sim_group.command("init")
@click.option("--weeks", type=click.IntRange(0, 520), default=8, show_default=True,
              help="Weeks of order history to generate.")
@click.option("--seed", default=2026, show_default=True)
@with_appcontext
def sim_init(weeks: int, seed: int) -> None:
    """Create the three systems' databases and seed them from the portal's customers."""
    systems = _systems()
    systems.create()
    if systems.is_seeded():
        raise click.ClickException("the simulated systems are already seeded")
    session = current_app.extensions["portal"].db.session()
    count = systems.seed(session, weeks=weeks, seed=seed)
    if count == 0:
        raise click.ClickException("the portal has no customers: run `portal demo-data` first")
    click.echo(f"seeded 专卖/营销/物流 with {count} customers and {weeks} weeks of orders")


@sim_group.command("run")
@click.option("--rate", type=click.FloatRange(0.1, 100_000), default=5, show_default=True,
              help="Changes per second.")
@click.option("--count", type=click.IntRange(1), default=None, help="Stop after this many.")
@click.option("--seed", type=int, default=None, help="Repeatable stream.")
@with_appcontext
def sim_run(rate: float, count: int | None, seed: int | None) -> None:
    """Produce a realistic stream of changes in the three systems."""
    systems = _systems()
    if not systems.is_seeded():
        raise click.ClickException("the simulated systems are empty: run `portal sim init`")
    stream = ChangeStream(systems, random.Random(seed))
    made, started = 0, time.monotonic()
    try:
        while count is None or made < count:
            step = 1 if rate < 50 else int(rate // 10)
            if count is not None:
                step = min(step, count - made)
            for _kind in stream.run(step):
                made += 1
            delay = started + made / rate - time.monotonic()
            if delay > 0:
                time.sleep(delay)
    except KeyboardInterrupt:
        pass
    click.echo(f"{made} changes in {time.monotonic() - started:.1f} s")


@sim_group.command("serve")
@click.option("--port", type=click.IntRange(0, 65535), default=0, show_default=True,
              help="0: a free port.")
@with_appcontext
def sim_serve(port: int) -> None:
    """Serve the 物流 API; prints its URL (use it in CONNECTOR_URLS as logistics=URL)."""
    from connectors.sim.api import ApiServer

    server = ApiServer(sim_urls(current_app)["logistics"], port=port)
    click.echo(server.url, nl=True)
    try:
        server.server.serve_forever()
    except KeyboardInterrupt:
        server.stop()
