"""物流 (logistics) over HTTP/JSON, the way its vendor exposes it: camelCase resources paged by
a version cursor (``?after=<version>&limit=<n>`` → ``{"items": [...], "next": ...}``).

``serve()`` starts it on a free port in a thread; ``app.config["SIM_FAULT"] = "down"`` makes it
answer 503 (tests of a source that is down).
"""

from __future__ import annotations

import threading
from typing import Any

from flask import Flask, abort, jsonify, request
from sqlalchemy import Engine, create_engine, func, select
from werkzeug.serving import BaseWSGIServer, make_server

from connectors.sim.schemas import wl_delivery, wl_route, wl_stop

MAX_LIMIT = 1000


def create_api(engine: Engine) -> Flask:
    app = Flask("logistics_sim")
    app.config["SIM_FAULT"] = None
    stops = (select(wl_stop, wl_route.c.deliverymanNo)
             .join(wl_route, wl_route.c.routeId == wl_stop.c.routeId))

    @app.before_request
    def _fault() -> None:
        if app.config["SIM_FAULT"] == "down":
            abort(503)

    def _page(query: Any, version: Any) -> Any:
        try:
            after = int(request.args.get("after", "0"))
            limit = min(MAX_LIMIT, max(1, int(request.args.get("limit", "100"))))
        except ValueError:
            abort(400)
        with engine.connect() as conn:
            rows = [dict(r._mapping) for r in conn.execute(
                query.where(version > after).order_by(version).limit(limit))]
        nxt = rows[-1]["version"] if len(rows) == limit else None
        return jsonify(items=rows, next=nxt)

    @app.get("/api/v1/stops")
    def stops_page() -> Any:
        codes = request.args.get("custCode")
        if codes is not None:
            with engine.connect() as conn:
                rows = conn.execute(stops.where(wl_stop.c.custCode.in_(codes.split(",")[:500])))
                return jsonify(items=[dict(r._mapping) for r in rows], next=None)
        return _page(stops, wl_stop.c.version)

    @app.get("/api/v1/deliveries")
    def deliveries_page() -> Any:
        return _page(select(wl_delivery), wl_delivery.c.version)

    @app.get("/api/v1/stops/head")
    def stops_head() -> Any:
        with engine.connect() as conn:
            return jsonify(head=conn.scalar(select(func.max(wl_stop.c.version))) or 0)

    @app.get("/api/v1/deliveries/head")
    def deliveries_head() -> Any:
        with engine.connect() as conn:
            return jsonify(head=conn.scalar(select(func.max(wl_delivery.c.version))) or 0)

    return app


class ApiServer:
    """The API on 127.0.0.1 and a free port, served by a daemon thread."""

    def __init__(self, db_url: str, host: str = "127.0.0.1", port: int = 0) -> None:
        kwargs = {"connect_args": {"timeout": 30}} if db_url.startswith("sqlite") else {}
        self.engine = create_engine(db_url, **kwargs)
        self.app = create_api(self.engine)
        self.server: BaseWSGIServer = make_server(host, port, self.app, threaded=True)
        self.url = f"http://{host}:{self.server.server_port}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True,
                                       name="logistics-sim-api")

    def start(self) -> ApiServer:
        self.thread.start()
        return self

    def stop(self) -> None:
        self.server.shutdown()
        self.engine.dispose()
