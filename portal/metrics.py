"""Prometheus metrics: request latency, portlet render time and portlet failures.

Under gunicorn with several workers set ``PROMETHEUS_MULTIPROC_DIR`` (``portal serve`` does), so
that ``/metrics`` adds up every worker instead of showing whichever one answered.
"""

from __future__ import annotations

import os

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
    multiprocess,
)

REQUEST_SECONDS = Histogram(
    "portal_request_seconds", "Time to answer an HTTP request", ["endpoint", "method", "status"],
    buckets=(0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5),
)
PORTLET_RENDER_SECONDS = Histogram(
    "portal_portlet_render_seconds", "Time a portlet took to render (cache misses only)",
    ["portlet"], buckets=(0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2, 5),
)
PORTLET_ERRORS = Counter(
    "portal_portlet_errors", "Portlet windows that failed, by kind (error, timeout, unavailable)",
    ["portlet", "kind"],
)


def exposition() -> tuple[bytes, str]:
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)
        return generate_latest(registry), CONTENT_TYPE_LATEST
    return generate_latest(), CONTENT_TYPE_LATEST
