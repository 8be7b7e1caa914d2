"""The application factory: configuration, plugins, extensions and views, bound to one app."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from babel import Locale
from flask import Flask, g, has_request_context, request, session
from flask_babel import Babel
from flask_wtf.csrf import CSRFProtect

from portal import config as config_mod
from portal import metrics
from portal.aggregator import Aggregator
from portal.assembly import PieceCache
from portal.assurance import check_level
from portal.auth import AuthBackend, Principal
from portal.cache import VERSION_KEY_PREFIX, FragmentCache, cache_config
from portal.db import Database
from portal.layout import PostLayout, load_layouts
from portal.notify import NotificationChannel
from portal.plugins import PluginManager
from portal.portlet import Portlet
from portal.sessions import (
    SESSION_KEY_PREFIX,
    RedisSessionStore,
    ServerSessionInterface,
    SqlSessionStore,
)

log = logging.getLogger(__name__)
HERE = Path(__file__).parent


@dataclass
class PortalState:
    """Everything the portal keeps per app, in ``app.extensions["portal"]``."""

    settings: dict[str, Any]
    origin: dict[str, str]
    db: Database
    plugins: PluginManager
    cache: FragmentCache
    aggregator: Aggregator
    portlets: dict[str, Portlet] = field(default_factory=dict)
    portlet_plugin: dict[str, str] = field(default_factory=dict)
    pieces: PieceCache = field(default_factory=PieceCache)
    plans: dict[Any, Any] = field(default_factory=dict)
    csrf_signed: dict[str, str] = field(default_factory=dict)
    auth_backends: dict[str, AuthBackend] = field(default_factory=dict)
    notification_channels: dict[str, NotificationChannel] = field(default_factory=dict)
    layouts: dict[str, PostLayout] = field(default_factory=dict)
    layout_problems: list[Any] = field(default_factory=list)
    # (stamp, post layouts with the published versions applied): see layout_versions
    published: tuple[Any, dict[str, PostLayout]] | None = None
    translation_dirs: list[str] = field(default_factory=list)
    migration_dirs: list[str] = field(default_factory=list)
    #: Workflow definitions by id (``portal.workflow``), from ``portal_workflow_definitions``.
    workflows: dict[str, Any] = field(default_factory=dict)


class PortalFlask(Flask):
    """Flask, with ``url_for`` and ``ensure_sync`` remembered per process.

    ``ensure_sync`` is asked of every view, hook and template context processor on every call,
    and asks ``inspect.iscoroutinefunction`` each time: about fifty times a homepage rendered
    without the cache. A function's answer does not change, so it is kept.

    A homepage's windows build a few dozen links (to-do items, indicators, notices), and
    Werkzeug builds each from the URL map again: about a twentieth of a page rendered without
    the cache. A relative URL depends only on the endpoint, its values, the blueprint a
    relative endpoint resolves against and the script root, none of which changes the URL map;
    so it is built once. Anchors, methods, schemes, external URLs, values that cannot be a key
    and any app with ``url_defaults`` functions (which may read the request) go to Flask.

    A page renders ten templates (its shell and each window), and Flask runs every template
    context processor again for each, Flask's own twice under a blueprint. They give the same
    values all through a request (the request, the session, ``g``, the principal's template
    globals, functions such as ``csrf_token``), so a request runs them once.
    """

    url_memo_size = 20_000
    sync_memo_size = 2_000

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._url_memo: dict[tuple[Any, ...], str] = {}
        self._sync_memo: dict[Callable[..., Any], Callable[..., Any]] = {}

    def ensure_sync(self, func: Callable[..., Any]) -> Callable[..., Any]:
        try:
            return self._sync_memo[func]
        except KeyError:
            pass
        except TypeError:  # not hashable
            return super().ensure_sync(func)
        sync = super().ensure_sync(func)
        if len(self._sync_memo) >= self.sync_memo_size:
            self._sync_memo.clear()
        self._sync_memo[func] = sync
        return sync

    def update_template_context(self, context: dict[str, Any]) -> None:
        if not has_request_context():
            super().update_template_context(context)
            return
        found: dict[str, Any] | None = g.get("_portal_template_context")
        if found is None:
            found = {}
            super().update_template_context(found)
            g._portal_template_context = found
        # The values given to render_template win over the processors', as in Flask.
        for key, value in found.items():
            if key not in context:
                context[key] = value

    def url_for(self, endpoint: str, *, _anchor: str | None = None,
                _method: str | None = None, _scheme: str | None = None,
                _external: bool | None = None, **values: Any) -> str:
        if _anchor is None and _method is None and _scheme is None and not _external \
                and not self.url_default_functions and has_request_context():
            try:
                key = (endpoint, request.blueprint if endpoint[:1] == "." else None,
                       request.script_root, *sorted(values.items()))
                url = self._url_memo.get(key)
            except TypeError:  # a value that is not hashable (a list of query values)
                key, url = None, None
            if url is not None:
                return url
            url = super().url_for(endpoint, **values)
            if key is not None:
                if len(self._url_memo) >= self.url_memo_size:
                    self._url_memo.clear()
                self._url_memo[key] = url
            return url
        return super().url_for(endpoint, _anchor=_anchor, _method=_method, _scheme=_scheme,
                               _external=_external, **values)


def create_app(config: Mapping[str, Any] | None = None) -> Flask:
    """Build a portal app. *config* overrides every other layer (used by tests).

    Besides declared settings, *config* may hold Flask's own keys (``TESTING``...) and
    ``PLUGINS``: extra plugin objects to register, as ``(name, plugin)`` pairs.
    """
    overrides = dict(config or {})
    settings, origin = config_mod.load(overrides)
    try:
        check_level(settings["ADMIN_ASSURANCE"])
    except ValueError as exc:
        raise config_mod.ConfigError(f"ADMIN_ASSURANCE: {exc}") from None
    app = PortalFlask("portal", root_path=str(HERE), instance_path=str(Path.cwd() / "instance"))
    app.config.update(
        SECRET_KEY=settings["SECRET_KEY"],
        MAX_CONTENT_LENGTH=settings["MAX_CONTENT_LENGTH"],
        SESSION_COOKIE_NAME="portal_session",
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_SECURE=settings["SESSION_COOKIE_SECURE"],
        WTF_CSRF_TIME_LIMIT=None,
        JSON_AS_ASCII=False,
        PORTAL=settings,
    )
    app.config.update({k: v for k, v in overrides.items()
                       if k not in config_mod.SETTINGS_BY_KEY and k != "PLUGINS"})
    app.json.ensure_ascii = False  # type: ignore[attr-defined]

    db = Database(settings["DATABASE_URL"])
    db.init_app(app)
    cache = FragmentCache()
    cache.init_app(app, settings)
    pm = PluginManager()
    state = PortalState(settings=settings, origin=origin, db=db, plugins=pm, cache=cache,
                        aggregator=Aggregator(cache, settings, release=db.remove))
    app.extensions["portal"] = state

    pm.load_entry_points(disabled=settings["DISABLED_PLUGINS"])
    for name, plugin in overrides.get("PLUGINS", ()):
        pm.register(plugin, name)
    from portal import corehooks  # the core's own fallbacks, registered like any plugin

    pm.register(corehooks, "portal.core")
    pm.check()
    _collect_registrations(app, state)
    _register_extensions(app, state)

    from portal.views import register_views

    register_views(app)
    from portal import live

    live.init_app(app)
    _register_blueprints(app, state)
    with app.app_context():  # checking preferences may produce translated messages
        state.layouts, state.layout_problems = load_layouts(settings["LAYOUTS_DIR"],
                                                            state.portlets)
    _install_request_hooks(app)
    pm.collect("portal_startup", app=app)
    return app


def _collect_registrations(app: Flask, state: PortalState) -> None:
    """Ask every plugin what it brings. A plugin that raises in any of these hooks is broken,
    and everything it registered in the others is dropped too: half a plugin is worse than
    none."""
    pm = state.plugins
    portlets = pm.collect_flat("portal_portlets")
    backends = pm.collect_flat("portal_auth_backends", app=app)
    translations = pm.collect("portal_translations")
    migrations = pm.collect("portal_migrations")
    channels = pm.collect_flat("portal_notification_channels", app=app)
    _collect_workflows(state)
    broken = pm.broken()
    for plugin_name, portlet in portlets:
        if plugin_name in broken:
            continue
        if not isinstance(portlet, Portlet):
            log.error("plugin %s returned %r, not a Portlet; ignored", plugin_name, portlet)
            continue
        if portlet.id in state.portlets:
            log.error("portlet id %s of plugin %s is taken by %s; ignored", portlet.id,
                      plugin_name, state.portlet_plugin[portlet.id])
            continue
        state.portlets[portlet.id] = portlet
        state.portlet_plugin[portlet.id] = plugin_name
    for plugin_name, backend in backends:
        if plugin_name in broken:
            continue
        if backend.name in state.auth_backends:
            log.error("auth backend %s of plugin %s is a duplicate; ignored", backend.name,
                      plugin_name)
            continue
        state.auth_backends[backend.name] = backend
    for plugin_name, channel in channels:
        if plugin_name in broken:
            continue
        if not isinstance(channel, NotificationChannel) or \
                channel.name in state.notification_channels:
            log.error("notification channel %r of plugin %s is invalid or a duplicate; ignored",
                      channel, plugin_name)
            continue
        state.notification_channels[channel.name] = channel
    state.translation_dirs += [str(f) for name, f in translations if name not in broken]
    # Migrations of a broken plugin still apply: its tables must not vanish with its code.
    state.migration_dirs += [str(folder) for _name, folder in migrations]


def _collect_workflows(state: PortalState) -> None:
    """Read and check every plugin's workflow definitions; a plugin with a bad file or a
    duplicate id is broken (the error names the file and the step)."""
    from portal.workflow.definition import DefinitionError, load

    pm = state.plugins
    for plugin_name, paths in pm.collect("portal_workflow_definitions"):
        try:
            loaded = load(paths or ())
            for d in loaded:
                if d.id in state.workflows:
                    raise DefinitionError(f"{d.source}: workflow id {d.id} is taken by "
                                          f"{state.workflows[d.id].source}")
        except DefinitionError as exc:
            pm.mark_broken(plugin_name, exc)
            continue
        state.workflows.update({d.id: d for d in loaded})


def _register_blueprints(app: Flask, state: PortalState) -> None:
    """Mount each portlet's blueprint under /p/<id>/, then the plugins' own blueprints; a
    blueprint whose name clashes breaks its plugin, not the start-up."""
    pm = state.plugins
    for portlet_id, portlet in list(state.portlets.items()):
        if portlet.blueprint is None:
            continue
        try:
            app.register_blueprint(portlet.blueprint, url_prefix=f"/p/{portlet_id}")
        except ValueError as exc:
            plugin_name = state.portlet_plugin[portlet_id]
            pm.mark_broken(plugin_name, exc)
            for pid in [p for p, name in state.portlet_plugin.items() if name == plugin_name]:
                state.portlets.pop(pid, None)
    for plugin_name, bp in pm.collect_flat("portal_blueprints", app=app):
        try:
            app.register_blueprint(bp)
        except ValueError as exc:
            pm.mark_broken(plugin_name, exc)


_PARSED_LOCALES: dict[str, Locale] = {}


def _locale() -> Locale:
    """The user's language; parsed Locale objects are kept, since parsing one looks at the
    disk each time."""
    settings = config_mod_settings()
    # Outside a request (start-up, the command line) messages are in the default language.
    wanted = session.get("locale") if has_request_context() else None
    code = str(wanted if wanted in settings["LOCALES"] else settings["DEFAULT_LOCALE"])
    parsed = _PARSED_LOCALES.get(code)
    if parsed is None:
        parsed = _PARSED_LOCALES[code] = Locale.parse(code)
    return parsed


def config_mod_settings() -> dict[str, Any]:
    from flask import current_app

    return current_app.extensions["portal"].settings


def _register_extensions(app: Flask, state: PortalState) -> None:
    # Flask-Babel merges the catalogues in order, later ones winning: the core's comes last so
    # that a plugin translating a common message id ("Name") cannot change the core's pages.
    dirs = [*state.translation_dirs, str(HERE / "translations")]
    app.config["BABEL_TRANSLATION_DIRECTORIES"] = ";".join(dirs)
    app.config["BABEL_DEFAULT_LOCALE"] = state.settings["DEFAULT_LOCALE"]
    Babel(app, locale_selector=_locale)
    from portal.labels import label

    app.jinja_env.filters["label"] = label
    from portal.signin import other_methods

    app.jinja_env.globals["sign_in_methods"] = other_methods
    from portal import i18n, templating

    i18n.install(app)
    templating.install(app)
    CSRFProtect(app)
    from portal import security

    security.install(app, state.settings)
    if state.settings["REDIS_URL"]:
        url = state.settings["REDIS_URL"]
        store: Any = RedisSessionStore(url)
        if state.cache.shared and cache_config(state.settings).get("CACHE_REDIS_URL") == url:
            store.companion = state.cache  # same server and db: one round trip for both
        if state.settings["NEAR_CACHE"]:
            from portal.near import near_copies

            near = near_copies(url, (SESSION_KEY_PREFIX, VERSION_KEY_PREFIX))
            store.near = near
            if store.companion is not None:
                state.cache.keep_counter_copies(near, store.redis)
    else:
        store = SqlSessionStore(state.db)
    app.session_interface = ServerSessionInterface(
        store, state.settings["SESSION_IDLE_TIMEOUT"], state.settings["SESSION_ABSOLUTE_TIMEOUT"]
    )


def _install_request_hooks(app: Flask) -> None:
    @app.before_request
    def _load_principal() -> None:
        g.request_started = time.perf_counter()
        data = session.get("principal")
        g.principal = Principal.from_dict(data) if data else None

    @app.context_processor
    def _template_vars() -> dict[str, Any]:
        # Every template of a request (a page, each portlet's fragment) gets the same values:
        # compute them once per context.
        cached: dict[str, Any] | None = g.get("_portal_template_vars")
        if cached is not None:
            return cached
        from flask_babel import get_locale

        principal = g.get("principal")
        locale = get_locale()
        tag = "zh-CN" if locale is None else "-".join(
            part for part in (locale.language, locale.territory) if part)
        def nav_pages() -> list[Any]:
            """The user's pages for the tab bar, on every page (plugins' own pages too)."""
            if principal is None:
                return []
            pages = g.get("portal_pages")
            if pages is None:
                from portal.db import db_session
                from portal.homepage import user_pages

                pages = g.portal_pages = user_pages(db_session(), principal)
            return list(pages)

        values: dict[str, Any] = {"principal": principal, "current_locale_tag": tag,
                                  "nav_pages": nav_pages}
        pm = app.extensions["portal"].plugins
        for _name, extra in pm.call_safely(
                "portal_template_vars",
                lambda name, exc: log.error("plugin %s: template vars failed: %s", name, exc),
                principal=principal):
            values.update(extra)
        g._portal_template_vars = values
        return values

    @app.teardown_request
    def _dispatch_events(exc: BaseException | None) -> None:
        # Embedded mode: deliver the events this request committed, right after it. With a
        # worker (Celery) configured, the worker's loop calls the same function instead.
        if exc is None and g.get("portal_events_emitted"):
            from portal.events import dispatch_pending

            try:
                dispatch_pending(app)
            except Exception:
                log.exception("dispatching domain events failed; they stay in the outbox")

    @app.after_request
    def _observe(response: Any) -> Any:
        started = g.get("request_started")
        if started is not None:
            metrics.REQUEST_SECONDS.labels(
                request.endpoint or "none", request.method, str(response.status_code)
            ).observe(time.perf_counter() - started)
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("X-Frame-Options", "SAMEORIGIN")
        response.headers.setdefault("Referrer-Policy", "same-origin")
        return response
