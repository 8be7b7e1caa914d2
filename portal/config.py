"""Every configuration key the portal reads, declared once, and the layered loader.

Layers, lowest first: the defaults declared here, an optional TOML file (``PORTAL_CONFIG_FILE``),
``PORTAL_*`` environment variables, and finally the mapping passed to ``create_app`` (tests).
A key that is not declared here is an error, so a typo in a deployment fails at start-up.
"""

from __future__ import annotations

import json
import os
import tomllib
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

ENV_PREFIX = "PORTAL_"


class ConfigError(ValueError):
    """A configuration value is unknown or has the wrong type; the message names the key."""


@dataclass(frozen=True)
class Setting:
    key: str
    type: type
    default: Any
    help: str
    secret: bool = False


def _setting(key: str, type_: type, default: Any, help: str, *, secret: bool = False) -> Setting:
    return Setting(key, type_, default, help, secret)


SETTINGS: tuple[Setting, ...] = (
    _setting("SECRET_KEY", str, "dev-only-change-me",
             "Signs session cookies and CSRF tokens.", secret=True),
    _setting("DATABASE_URL", str, "sqlite:///instance/portal.db",
             "SQLAlchemy URL. SQLite is the embedded default; use postgresql+psycopg:// in "
             "production."),
    _setting("REDIS_URL", str, "",
             "Redis for cache and sessions. Empty: in-process cache, sessions in the database."),
    _setting("CACHE_TYPE", str, "auto",
             "Portlet cache: auto (redis when REDIS_URL is set, else simple), simple, redis, "
             "null."),
    _setting("PORTLET_CACHE", bool, True, "Cache rendered portlet fragments."),
    _setting("PORTLET_TIMEOUT", float, 2.0,
             "Seconds a portlet may take to render unless it declares its own timeout."),
    _setting("BREAKER_THRESHOLD", int, 3,
             "Consecutive failures after which a portlet is skipped for a cool-down."),
    _setting("BREAKER_COOLDOWN", float, 30.0, "Seconds a tripped portlet is skipped."),
    _setting("RENDER_THREADS", int, 16, "Threads per worker that render portlet windows."),
    _setting("RENDER_PARALLELISM", int, 4,
             "Threads one page renders its windows on at most (they share the page's queue)."),
    _setting("DISABLED_PLUGINS", list, [], "Entry point names of plugins not to load."),
    _setting("AUTH_BACKENDS", list, ["local"], "Sign-in backends, tried in this order."),
    _setting("DEFAULT_LOCALE", str, "zh_CN", "Language for users who have not chosen one."),
    _setting("LOCALES", list, ["zh_CN", "en"], "Languages users may choose."),
    _setting("LAYOUTS_DIR", str, "layouts", "Folder of post layout files (YAML)."),
    _setting("MAX_CONTENT_LENGTH", int, 16 * 1024 * 1024, "Largest request body in bytes."),
    _setting("SESSION_IDLE_TIMEOUT", int, 1800, "Seconds of inactivity that end a session."),
    _setting("SESSION_ABSOLUTE_TIMEOUT", int, 12 * 3600, "Seconds after sign-in a session ends."),
    _setting("SESSION_COOKIE_SECURE", bool, False, "Send the session cookie over HTTPS only."),
    _setting("METRICS_ENABLED", bool, True, "Serve /metrics in Prometheus format."),
    _setting("DEMO_PASSWORD", str, "Portal@2026", "Password of every demo account.", secret=True),
    _setting("CONNECTOR_MAPPINGS", str, "",
             "Folder of connector mapping files (*.yaml); empty: the built-in ones."),
    _setting("CONNECTOR_URLS", list, [],
             "Source URLs overriding the mapping files' url, as name=url (SQLAlchemy URL or "
             "HTTP base URL)."),
    _setting("SIM_DIR", str, "instance/sim",
             "Folder of the simulated source systems' SQLite databases."),
    _setting("SIM_DATABASES", list, [],
             "Databases of the simulated systems as name=url (monopoly, marketing, "
             "logistics), instead of SQLite files in SIM_DIR."),
    _setting("SYNC_SCHEDULER", bool, False,
             "Run the connectors on their schedules in a thread of the web process (embedded "
             "demo); production runs `portal sync run --loop` or Celery beat instead."),
    _setting("SYNC_ALERT_AFTER", int, 3,
             "Failed runs in a row after which the admins get a notice about a connector."),
)

SETTINGS_BY_KEY: dict[str, Setting] = {s.key: s for s in SETTINGS}


def _parse_bool(raw: str) -> bool:
    value = raw.strip().lower()
    if value in {"1", "true", "yes", "on"}:
        return True
    if value in {"0", "false", "no", "off", ""}:
        return False
    raise ValueError(f"not a boolean: {raw!r}")


def _parse_list(raw: str) -> list[str]:
    raw = raw.strip()
    if raw.startswith("["):
        value = json.loads(raw)
        if not isinstance(value, list):
            raise ValueError("expected a JSON list")
        return [str(v) for v in value]
    return [part.strip() for part in raw.split(",") if part.strip()]


_PARSERS: dict[type, Callable[[str], Any]] = {
    bool: _parse_bool,
    int: int,
    float: float,
    str: str,
    list: _parse_list,
}


def coerce(setting: Setting, value: Any) -> Any:
    """Turn *value* (a string from the environment or a TOML value) into the declared type."""
    try:
        if isinstance(value, str) and setting.type is not str:
            return _PARSERS[setting.type](value)
        if setting.type is float and isinstance(value, int) and not isinstance(value, bool):
            return float(value)
        if setting.type is list and isinstance(value, (list, tuple)):
            return [str(v) for v in value]
        if isinstance(value, setting.type) and not (
            setting.type is int and isinstance(value, bool)
        ):
            return value
    except (ValueError, json.JSONDecodeError) as exc:
        raise ConfigError(f"{setting.key}: {exc}") from None
    raise ConfigError(
        f"{setting.key}: expected {setting.type.__name__}, got {type(value).__name__} {value!r}"
    )


def load(
    overrides: Mapping[str, Any] | None = None, environ: Mapping[str, str] | None = None
) -> tuple[dict[str, Any], dict[str, str]]:
    """Return the effective configuration and, for each key, the layer it came from."""
    environ = os.environ if environ is None else environ
    values = {s.key: s.default for s in SETTINGS}
    origin = {s.key: "default" for s in SETTINGS}

    def apply(layer: str, mapping: Mapping[str, Any], *, strict: bool) -> None:
        for key, raw in mapping.items():
            setting = SETTINGS_BY_KEY.get(key)
            if setting is None:
                if strict:
                    raise ConfigError(f"{key}: unknown configuration key (from {layer})")
                continue
            values[key] = coerce(setting, raw)
            origin[key] = layer

    path = environ.get(ENV_PREFIX + "CONFIG_FILE")
    if path:
        try:
            with open(path, "rb") as fh:
                data = tomllib.load(fh)
        except OSError as exc:
            raise ConfigError(f"CONFIG_FILE: cannot read {path}: {exc.strerror}") from None
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError(f"CONFIG_FILE: {path} is not valid TOML: {exc}") from None
        apply(f"file {path}", {k.upper(): v for k, v in data.items()}, strict=True)

    env = {
        k[len(ENV_PREFIX):]: v
        for k, v in environ.items()
        if k.startswith(ENV_PREFIX) and k != ENV_PREFIX + "CONFIG_FILE"
    }
    apply("environment", env, strict=True)
    if overrides:
        # Tests may pass Flask's own keys (TESTING, WTF_CSRF_ENABLED...) next to ours.
        for key, value in overrides.items():
            if key in SETTINGS_BY_KEY:
                apply("create_app()", {key: value}, strict=True)
    return values, origin


def masked(key: str, value: Any) -> Any:
    """The value as ``portal config`` shows it: secrets and URL passwords hidden."""
    setting = SETTINGS_BY_KEY.get(key)
    if setting is not None and setting.secret:
        return "********" if value else ""
    if isinstance(value, str) and "://" in value and "@" in value:
        scheme, rest = value.split("://", 1)
        creds, host = rest.rsplit("@", 1)
        if ":" in creds:
            return f"{scheme}://{creds.split(':', 1)[0]}:********@{host}"
    return value
