"""Registration of upstream OpenID Connect sign-in: the providers file is read at start-up,
each provider gets a button on the sign-in page ("使用省局统一身份登录")."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from flask import Blueprint, Flask, url_for
from flask_babel import get_locale

from portal.toolkit import hookimpl
from sso.upstream import client, providers

HERE = Path(__file__).parent


@hookimpl
def portal_startup(app: Flask) -> None:
    """A typo in the providers file stops the start, naming the provider and key; without the
    setting the plugin offers nothing."""
    settings = app.extensions["portal"].settings
    path = settings["UPSTREAM_OIDC_PROVIDERS"]
    if not path:
        return
    found = providers.load(path, settings["UPSTREAM_OIDC_SECRETS"])
    client.install(app, found, float(settings["UPSTREAM_OIDC_TIMEOUT"]))


@hookimpl
def portal_blueprints() -> Iterable[Blueprint]:
    from sso.upstream.views import bp

    return [bp]


@hookimpl
def portal_translations() -> str:
    return str(HERE / "translations")


@hookimpl
def portal_sign_in_methods(next_url: str) -> Iterable[tuple[str, str]]:
    state = client.upstream()
    if state is None:
        return []
    locale = str(get_locale() or "zh_CN")
    return [(p.label(locale), url_for("upstream.login", name=p.name, next=next_url)
             if next_url else url_for("upstream.login", name=p.name))
            for p in state.providers.values()]
