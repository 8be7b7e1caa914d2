"""个人工作平台 — the portal core: app factory, plugin manager, page aggregator, domain model.

Plugin authors import from :mod:`portal.toolkit`; the app is built by
:func:`portal.app.create_app`.
"""

__version__ = "0.1.0"
