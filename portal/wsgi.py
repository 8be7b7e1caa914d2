"""The WSGI entry point for gunicorn: ``gunicorn portal.wsgi:app``."""

import gc

from portal.app import create_app

app = create_app()
# Everything built so far (modules, plugins, templates, the URL map) lives as long as the
# worker: move it out of the collector's sight. A full collection then walks only what
# requests left behind; before, each took 110–160 ms of a warm worker and was its slowest
# response (docs/performance.md).
gc.collect()
gc.freeze()
