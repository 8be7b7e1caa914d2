"""Registration of certificate sign-in: its page, the step-up to the "certificate" level, and
the "证书登录" button on the sign-in page."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from flask import Blueprint, Flask, url_for

from portal.toolkit import gettext, hookimpl
from sso.cert import mapping, proxy

HERE = Path(__file__).parent


@hookimpl
def portal_startup(app: Flask) -> None:
    """Settings this plugin reads are checked at start-up: a typo must not wait for the first
    certificate to show."""
    settings = app.extensions["portal"].settings
    proxy.trusted_networks(settings["CERT_TRUSTED_PROXIES"])
    if settings["CERT_USER_LOOKUP"] not in mapping.LOOKUPS:
        raise ValueError(f"CERT_USER_LOOKUP must be one of {', '.join(mapping.LOOKUPS)}, not "
                         f"{settings['CERT_USER_LOOKUP']!r}")


@hookimpl
def portal_blueprints() -> Iterable[Blueprint]:
    from sso.cert.views import bp

    return [bp]


@hookimpl
def portal_translations() -> str:
    return str(HERE / "translations")


def _url(next_url: str) -> str:
    return url_for("cert.login", next=next_url) if next_url else url_for("cert.login")


@hookimpl
def portal_step_up_url(level: str, next_url: str) -> str | None:
    return _url(next_url) if level == "certificate" else None


@hookimpl
def portal_sign_in_methods(next_url: str) -> Iterable[tuple[str, str]]:
    return [(gettext("Sign in with certificate"), _url(next_url))]
