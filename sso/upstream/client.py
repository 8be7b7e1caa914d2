"""The Authlib clients of the configured providers, one per provider and application.

Authlib does the protocol's bookkeeping: the authorization URL with ``state``, ``nonce`` and the
PKCE (S256) challenge, the per-browser state kept in the session until the callback, the code
exchange with client authentication. The ID token itself is checked by :mod:`sso.upstream.tokens`
(reasons we can show and audit). Discovery documents and key sets are fetched with
``UPSTREAM_OIDC_TIMEOUT`` and cached; a failed fetch is retried at the next sign-in.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from authlib.integrations.flask_client import OAuth
from flask import Flask, current_app

from sso.upstream.providers import Provider

EXTENSION = "sso_upstream"
#: Seconds a discovery document is believed; then it is fetched again (endpoints may move).
METADATA_TTL = 3600.0


class UpstreamUnavailable(RuntimeError):
    """The upstream could not be reached or answered with something that is not OIDC."""


@dataclass
class Upstream:
    """Everything the views need for one application: the providers and their clients."""

    providers: dict[str, Provider]
    clients: dict[str, Any]

    def client(self, name: str) -> Any:
        return self.clients[name]


def install(app: Flask, providers: dict[str, Provider], timeout: float) -> Upstream:
    oauth = OAuth(app)
    clients = {}
    for p in providers.values():
        clients[p.name] = oauth.register(
            f"upstream_{p.name}", client_id=p.client_id, client_secret=p.client_secret,
            server_metadata_url=p.discovery_url,
            client_kwargs={"scope": " ".join(p.scopes), "code_challenge_method": "S256",
                           "default_timeout": timeout,
                           # a public client (no secret) authenticates with PKCE alone
                           **({} if p.client_secret else
                              {"token_endpoint_auth_method": "none"})})
    upstream = Upstream(providers, clients)
    app.extensions[EXTENSION] = upstream
    return upstream


def upstream() -> Upstream | None:
    return current_app.extensions.get(EXTENSION)


def metadata(client: Any, provider: Provider) -> Mapping[str, Any]:
    """The provider's discovery document, checked: it must name the configured issuer (a
    document for another issuer is a misconfiguration or an attack) and the endpoints we use."""
    loaded = client.server_metadata.get("_loaded_at")
    if loaded is not None and time.time() - loaded > METADATA_TTL:
        client.server_metadata.clear()
    try:
        data = client.load_server_metadata()
    except Exception as exc:  # requests' errors, HTTP errors, JSON errors: all "unreachable"
        client.server_metadata.clear()
        raise UpstreamUnavailable(f"discovery {provider.discovery_url}: {exc}") from None
    missing = [k for k in ("issuer", "authorization_endpoint", "token_endpoint", "jwks_uri")
               if not data.get(k)]
    if missing or str(data["issuer"]).rstrip("/") != provider.issuer:
        client.server_metadata.clear()
        raise UpstreamUnavailable(
            f"discovery {provider.discovery_url}: "
            + (f"missing {', '.join(missing)}" if missing
               else f"issuer {data['issuer']!r} is not the configured {provider.issuer!r}"))
    return data


def jwks(client: Any, force: bool) -> Mapping[str, Any]:
    try:
        return client.fetch_jwk_set(force=force)
    except Exception as exc:
        raise UpstreamUnavailable(f"key set: {exc}") from None
