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
    _setting("NEAR_CACHE", bool, True,
             "Keep each process's copy of sessions and cache version counters read from Redis, "
             "dropped when Redis reports a change (CLIENT TRACKING, Redis 6+): most requests "
             "then make no Redis round trip. Turn off for a proxy that refuses tracking."),
    _setting("PORTLET_TIMEOUT", float, 2.0,
             "Seconds a portlet may take to render unless it declares its own timeout."),
    _setting("PORTLET_TIMEOUT_SCALE", float, 1.0,
             "Multiplies every portlet's render timeout, its own or PORTLET_TIMEOUT: more than "
             "1 on a machine known to be slow (the test suite uses 10)."),
    _setting("BREAKER_THRESHOLD", int, 3,
             "Consecutive failures after which a portlet is skipped for a cool-down."),
    _setting("BREAKER_COOLDOWN", float, 30.0, "Seconds a tripped portlet is skipped."),
    _setting("RENDER_THREADS", int, 16, "Threads per worker that render portlet windows."),
    _setting("RENDER_PARALLELISM", int, 4,
             "Threads one page renders its windows on at most (they share the page's queue)."),
    _setting("RENDER_STAGGER", float, 0.02,
             "Seconds a window may wait (on a remote system, a lock) on a page's render thread "
             "before the page takes another thread for its other windows; 0 starts "
             "RENDER_PARALLELISM threads at once."),
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
    # Sign-in protection (portal.security).
    _setting("LOGIN_MAX_FAILURES_PER_ACCOUNT", int, 5,
             "Failed sign-ins of one account within LOGIN_LOCKOUT_SECONDS before it is locked."),
    _setting("LOGIN_MAX_FAILURES_PER_ADDRESS", int, 30,
             "Failed sign-ins from one address within LOGIN_LOCKOUT_SECONDS before it is locked."),
    _setting("LOGIN_LOCKOUT_SECONDS", int, 900,
             "Window of the failure counters, and how long a lockout lasts at most."),
    _setting("CONTENT_SECURITY_POLICY", str,
             "default-src 'self'; script-src 'self' 'unsafe-inline'; "
             "style-src 'self' 'unsafe-inline'; img-src 'self' data:; font-src 'self'; "
             "connect-src 'self'; object-src 'none'; base-uri 'self'; frame-ancestors 'self'",
             "Content-Security-Policy header of every response; empty: none. Inline scripts "
             "are allowed because portlet fragments carry their own."),
    # LDAP directory (sso/ldap): used when "ldap" is in AUTH_BACKENDS.
    _setting("LDAP_URL", str, "",
             "ldap://host:389 or ldaps://host:636; several separated by spaces (tried in turn)."),
    _setting("LDAP_STARTTLS", bool, False, "Upgrade ldap:// connections with StartTLS."),
    _setting("LDAP_CA_FILE", str, "",
             "PEM file of the CA that signed the directory's certificate (LDAPS/StartTLS)."),
    _setting("LDAP_BIND_DN", str, "", "Service account that searches for people."),
    _setting("LDAP_BIND_PASSWORD", str, "", "Password of LDAP_BIND_DN.", secret=True),
    _setting("LDAP_BASE_DN", str, "", "Where people are searched (subtree)."),
    _setting("LDAP_USER_FILTER", str, "(objectClass=inetOrgPerson)",
             "Filter every person entry matches; the user name test is added to it."),
    _setting("LDAP_USERNAME_ATTRIBUTE", str, "uid", "Attribute holding the user name."),
    _setting("LDAP_UNITS_DN", str, "",
             "Subtree of organizational units mirroring the org tree, read by `portal ldap "
             "sync`; empty: units are only matched by code, never created."),
    _setting("LDAP_RULES_FILE", str, "",
             "YAML file of attribute names and group/attribute -> post rules; empty: the "
             "built-in sso/ldap/rules.yaml (the demo directory's groups)."),
    _setting("LDAP_TIMEOUT", float, 5.0, "Seconds an LDAP operation may take."),
    _setting("LDAP_CONNECT_TIMEOUT", float, 3.0, "Seconds to open a connection to the directory."),
    _setting("LDAP_POOL_SIZE", int, 8, "Idle connections kept per worker process and purpose."),
    _setting("CA_KEY_PASSWORD", str, "",
             "Encrypts the company CA's private key and the keys it issued, at rest. Empty: "
             "SECRET_KEY is used; set it in production and keep it when SECRET_KEY rotates.",
             secret=True),
    _setting("CA_CERT_DAYS", int, 365, "Days a certificate issued by the company CA is valid."),
    _setting("CERT_TRUSTED_PROXIES", list, [],
             "Addresses or networks (127.0.0.1, 10.0.0.0/24) of the TLS proxies whose client "
             "certificate headers are believed. From any other address they are ignored and "
             "audit-logged as forged."),
    _setting("CERT_USER_LOOKUP", str, "issued",
             "How a client certificate finds its person: issued (the subject recorded when the "
             "company CA issued it) or directory (its UID is looked up as a user name)."),
    _setting("ADMIN_ASSURANCE", str, "password",
             "Sign-in level the admin pages need: password, or certificate in production."),
    _setting("OIDC_ISSUER", str, "",
             "OpenID Connect issuer URL (the portal's public base URL). Empty: the URL the "
             "request came in on."),
    _setting("OIDC_CODE_TTL", int, 120, "Seconds an OpenID Connect authorization code lives."),
    _setting("OIDC_ID_TOKEN_TTL", int, 600, "Seconds an ID token is valid."),
    _setting("OIDC_ACCESS_TOKEN_TTL", int, 600, "Seconds an OpenID Connect access token is valid."),
    _setting("OIDC_REFRESH_TOKEN_TTL", int, 12 * 3600,
             "Seconds a refresh token is valid (each is used once: rotation)."),
    _setting("OIDC_BACKCHANNEL_TIMEOUT", float, 3.0,
             "Seconds to wait for a relying party to accept a back-channel logout."),
    # Upstream OpenID Connect providers (sso/upstream): the portal as a relying party.
    _setting("UPSTREAM_OIDC_PROVIDERS", str, "",
             "YAML file of the upstream OpenID Connect providers people may sign in with "
             "(issuer, client id, scopes, label, claim mapping, provisioning); empty: none. "
             "See docs/sso-upstream.md."),
    _setting("UPSTREAM_OIDC_SECRETS", list, [],
             "Client secrets of the upstream providers as name=secret (kept out of the file).",
             secret=True),
    _setting("UPSTREAM_OIDC_BASE_URL", str, "",
             "This portal's public base URL (https://portal.example) for the callback and "
             "post-logout URLs registered at the upstream providers; empty: the URL the "
             "request came in on."),
    _setting("UPSTREAM_OIDC_TIMEOUT", float, 5.0,
             "Seconds a request to an upstream provider (discovery, token, keys) may take."),
    _setting("LIVE_ENABLED", bool, True,
             "Push live updates (new notices...) to open pages: Server-Sent Events, polling as "
             "the fallback."),
    _setting("LIVE_HEARTBEAT", float, 15.0,
             "Seconds between keep-alive comments on an idle event stream."),
    _setting("LIVE_STREAM_LIFETIME", float, 300.0,
             "Seconds after which an event stream ends; the browser reconnects and resumes."),
    _setting("LIVE_STREAMS_PER_USER", int, 6,
             "Open event streams one person may hold per web process (browser tabs)."),
    _setting("LIVE_STREAMS_PER_PROCESS", int, 64,
             "Open event streams per web process; `portal serve` adds this many threads to each "
             "worker so that streams never take the threads pages need."),
    _setting("LIVE_BACKLOG", int, 10000,
             "Live messages kept for pages that reconnect (Redis stream or in-process log)."),
    _setting("LIVE_POLL_INTERVAL", float, 5.0,
             "Seconds between checks of a page that cannot keep an event stream open."),
    _setting("CELERY_BROKER_URL", str, "",
             "Broker of the Celery workers (portal.celery_app); empty: REDIS_URL.",
             secret=True),
    _setting("OUTBOX_POLL_INTERVAL", float, 0.2,
             "Seconds `portal worker` waits between looks at the outbox when it is idle."),
    # Collaboration (portlets/collab) and its notification channels (connectors/sms, mail).
    _setting("COLLAB_CATALOGUE", str, "",
             "YAML file of work item types (time limit, rating, escalation ladder); empty: the "
             "built-in catalogue."),
    _setting("COLLAB_ATTACHMENTS_DIR", str, "instance/collab-files",
             "Folder of work item attachments (local-folder storage)."),
    _setting("COLLAB_STORAGE", str, "",
             "Attachment storage class as module:Class taking the folder; empty: local folder."),
    _setting("COLLAB_MAX_ATTACHMENT_BYTES", int, 5 * 1024 * 1024,
             "Largest attachment of a work item, in bytes (413 above)."),
    _setting("COLLAB_MAX_ATTACHMENTS", int, 10, "Most attachments added in one step."),
    _setting("COLLAB_ATTACHMENT_TYPES", list,
             ["pdf", "png", "jpg", "jpeg", "gif", "txt", "csv", "doc", "docx", "xls", "xlsx"],
             "File name extensions allowed for attachments."),
    _setting("COLLAB_WORKING_HOURS", list, ["08:30-12:00", "13:30-17:30"],
             "Working periods of a working day (Monday to Friday) for deadlines."),
    _setting("COLLAB_HOLIDAYS", list, [], "Dates (YYYY-MM-DD) that are not working days."),
    _setting("COLLAB_REMINDER_HOURS", float, 2.0,
             "Working hours before a deadline when the holder is reminded."),
    _setting("COLLAB_TICK_SECONDS", float, 300.0,
             "Seconds between two runs of the deadline clock (reminders, escalation) in the "
             "worker."),
    _setting("COLLAB_CHANNELS", list, ["portal", "sms", "email"],
             "Channels a hand-over is announced on (those registered by a plugin)."),
    _setting("SMS_GATEWAY_URL", str, "",
             "SendSms endpoint of the SMS gateway; empty: SMS are recorded as not sent."),
    _setting("SMS_ACCESS_KEY", str, "", "Access key sent to the SMS gateway.", secret=True),
    _setting("SMS_SIGN_NAME", str, "嘉兴烟草", "Approved SMS signature (SignName)."),
    _setting("SMS_TEMPLATE_CODE", str, "SMS_PORTAL_NOTICE", "Approved SMS template code."),
    _setting("SMS_RETRIES", int, 3, "Further attempts after a failed SMS request."),
    _setting("SMS_BACKOFF", float, 0.5,
             "Seconds before the first SMS retry; doubled for each further one."),
    _setting("SMS_RESEND_SECONDS", float, 300.0,
             "Seconds between two offers of failed texts to the gateway (job sms.resend)."),
    _setting("SMS_RESEND_ATTEMPTS", int, 12,
             "Gateway requests after which a failed text is given up."),
    _setting("SMS_RESEND_HOURS", float, 24.0,
             "Age after which a failed text is not sent any more."),
    _setting("SMS_TIMEOUT", float, 3.0, "Seconds an SMS request may take."),
    _setting("MAIL_SMTP_HOST", str, "", "SMTP server for e-mail notices; empty: not sent."),
    _setting("MAIL_SMTP_PORT", int, 25, "SMTP port."),
    _setting("MAIL_FROM", str, "portal@jxtobacco.example", "Sender address of e-mail notices."),
    _setting("MAIL_TIMEOUT", float, 5.0, "Seconds an SMTP conversation may take."),
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
             "Sync each connector on its schedule as a periodic job of the worker (portal "
             "worker, the embedded outbox thread, or Celery beat); or run `portal sync run "
             "--loop` as a process of its own."),
    _setting("SYNC_ALERT_AFTER", int, 3,
             "Failed runs in a row after which the admins get a notice about a connector."),
    _setting("INDICATORS_RECOMPUTE_SECONDS", float, 3600.0,
             "Seconds between two recomputations of today's indicator snapshots and integrity "
             "stars by the worker (job indicators.recompute); 0: only `portal indicators "
             "recompute` (cron)."),
    _setting("STARS_CREDIT_BASE", list, ["AAA=5", "AA=4", "A=3", "B=2", "C=1", "D=1"],
             "Integrity stars: the starting stars for each credit level (level=stars)."),
    _setting("STARS_CASE_DAYS", int, 365,
             "Integrity stars: cases filed within this many days count against the retailer."),
    _setting("STARS_CASE_PENALTY", int, 1, "Integrity stars: stars taken off per such case."),
    _setting("STARS_NO_ORDER_DAYS", int, 28,
             "Integrity stars: a retailer with no order for this many days loses stars."),
    _setting("STARS_NO_ORDER_PENALTY", int, 1,
             "Integrity stars: stars taken off for no order in STARS_NO_ORDER_DAYS."),
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
