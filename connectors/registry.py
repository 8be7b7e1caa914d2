"""Building the configured connectors: mapping files + settings → connector objects."""

from __future__ import annotations

import threading
from dataclasses import replace
from typing import Any

from flask import Flask

from connectors.base import Connector
from connectors.mapping import SourceSpec, load_sources
from connectors.rest import RestConnector
from connectors.sim.systems import default_urls
from connectors.sql import SqlConnector

_lock = threading.Lock()


def pairs(values: list[str]) -> dict[str, str]:
    """``["monopoly=postgresql://...", ...]`` → ``{"monopoly": "postgresql://..."}``."""
    out = {}
    for item in values:
        name, sep, url = item.partition("=")
        if not sep or not name.strip() or not url.strip():
            raise ValueError(f"expected name=url, got {item!r}")
        out[name.strip()] = url.strip()
    return out


def settings(app: Flask) -> dict[str, Any]:
    return app.extensions["portal"].settings


def sim_urls(app: Flask) -> dict[str, str]:
    s = settings(app)
    return default_urls(s["SIM_DIR"], pairs(s["SIM_DATABASES"]))


def sim_api_url(app: Flask) -> str:
    """The simulated 物流 API of this process, started on a free port on first use."""
    from connectors.sim.api import ApiServer

    ext = app.extensions.setdefault("connectors", {})
    with _lock:
        if "sim_api" not in ext:
            ext["sim_api"] = ApiServer(sim_urls(app)["logistics"]).start()
    return str(ext["sim_api"].url)


def build(app: Flask) -> list[Connector]:
    s = settings(app)
    specs = load_sources(s["CONNECTOR_MAPPINGS"] or None, pairs(s["CONNECTOR_URLS"]))
    return [_connector(app, spec) for spec in specs]


def _connector(app: Flask, spec: SourceSpec) -> Connector:
    if spec.url.startswith("sim:"):
        system = spec.url[4:]
        if spec.type == "sql":
            return SqlConnector(replace(spec, url=sim_urls(app)[system]))
        return RestConnector(spec, base_url=lambda: sim_api_url(app))
    if spec.type == "sql":
        return SqlConnector(spec)
    return RestConnector(spec)
