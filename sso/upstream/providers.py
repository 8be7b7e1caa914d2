"""Which upstream OpenID Connect providers the portal trusts, read from one YAML file.

The file (setting ``UPSTREAM_OIDC_PROVIDERS``) lists providers by a short name; the name is in
the URLs (``/login/upstream/<name>``) and in the audit log. A provider's client secret may be in
the file or, better, in the masked ``UPSTREAM_OIDC_SECRETS`` setting (``name=secret``), so the
file can live in version control. Mistakes are reported at start-up with the provider and key::

    providers:
      province:
        label: {zh_CN: 使用省局统一身份登录, en: Sign in with the provincial identity platform}
        issuer: https://idp.example/realms/tobacco
        client_id: jx-portal
        scopes: [openid, profile, email, phone]
        provision: true          # create people the portal does not know yet
        rp_logout: true          # signing out also ends the upstream session
        claims: {username: preferred_username, unit_code: org_unit.code}
        posts:
          - {post: inspector, attribute: posts.code, equals: inspector}
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from sso.provisioning import ProvisioningError, ProvisioningRules

#: Claim names for the provisioning rules' attributes unless the file says otherwise: what the
#: standard claims and the portal's own provider (sso/oidc) send.
DEFAULT_CLAIMS: dict[str, str] = {
    "username": "preferred_username", "display_name": "name", "fallback_name": "nickname",
    "email": "email", "mobile": "phone_number", "unit_code": "org_unit.code",
    "unit_name": "org_unit.name", "groups": "groups",
}
KEYS = {"label", "issuer", "discovery_url", "client_id", "client_secret", "scopes", "provision",
        "rp_logout", "claims", "posts"}
NAME_CHARS = set("abcdefghijklmnopqrstuvwxyz0123456789-_")


class ProviderError(ValueError):
    """The providers file is missing, not YAML, or a provider is incomplete; says which."""


@dataclass(frozen=True)
class Provider:
    """One upstream identity provider and how its people become portal people."""

    name: str
    labels: Mapping[str, str]
    issuer: str
    discovery_url: str
    client_id: str
    client_secret: str | None
    scopes: tuple[str, ...]
    provision: bool
    rp_logout: bool
    rules: ProvisioningRules

    def label(self, locale: str) -> str:
        """The button text in *locale* (``zh_CN``, ``zh_Hans_CN``, ``en``): the exact one, else
        one of the same language, else the first one given."""
        if locale in self.labels:
            return self.labels[locale]
        language = locale.replace("-", "_").split("_")[0]
        for key, text in self.labels.items():
            if key.replace("-", "_").split("_")[0] == language:
                return text
        return next(iter(self.labels.values()))


def load(path: str | Path, secrets: list[str] | None = None) -> dict[str, Provider]:
    """The providers of the file at *path*, by name; *secrets* are ``name=secret`` entries."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as exc:
        raise ProviderError(f"cannot read {path}: {exc.strerror}") from None
    try:
        data = yaml.safe_load(text) or {}
    except yaml.YAMLError as exc:
        raise ProviderError(f"{path} is not valid YAML: {exc}") from None
    try:
        return from_mapping(data, secrets)
    except ProviderError as exc:
        raise ProviderError(f"{path}: {exc}") from None


def from_mapping(data: Any, secrets: list[str] | None = None) -> dict[str, Provider]:
    if not isinstance(data, Mapping) or not isinstance(data.get("providers"), Mapping):
        raise ProviderError("expected a mapping 'providers: {name: {...}}'")
    by_name: dict[str, str] = {}
    for entry in secrets or []:
        name, sep, secret = entry.partition("=")
        if not sep:
            raise ProviderError("UPSTREAM_OIDC_SECRETS entries are name=secret")
        by_name[name.strip()] = secret
    unknown_secrets = set(by_name) - set(data["providers"])
    if unknown_secrets:
        raise ProviderError(f"UPSTREAM_OIDC_SECRETS names unknown provider(s): "
                            f"{', '.join(sorted(unknown_secrets))}")
    return {str(name): _provider(str(name), raw, by_name.get(str(name)))
            for name, raw in data["providers"].items()}


def _provider(name: str, raw: Any, secret: str | None) -> Provider:
    if not name or set(name) - NAME_CHARS or len(name) > 32:
        raise ProviderError(f"provider name {name!r}: use 1-32 of a-z 0-9 - _")
    if not isinstance(raw, Mapping):
        raise ProviderError(f"provider {name}: expected a mapping")
    unknown = set(raw) - KEYS
    if unknown:
        raise ProviderError(f"provider {name}: unknown key(s) {', '.join(sorted(unknown))}")
    issuer = str(raw.get("issuer") or "").rstrip("/")
    if not issuer.startswith(("https://", "http://")):
        raise ProviderError(f"provider {name}: 'issuer' must be an http(s) URL")
    if not raw.get("client_id"):
        raise ProviderError(f"provider {name}: 'client_id' is required")
    label = raw.get("label") or name
    labels = {str(k): str(v) for k, v in label.items()} if isinstance(label, Mapping) \
        else {"zh_CN": str(label)}
    scopes = raw.get("scopes") or ["openid", "profile", "email", "phone"]
    scopes = scopes.split() if isinstance(scopes, str) else [str(s) for s in scopes]
    if "openid" not in scopes:
        raise ProviderError(f"provider {name}: 'scopes' must include openid")
    claims = raw.get("claims") or {}
    if not isinstance(claims, Mapping):
        raise ProviderError(f"provider {name}: 'claims' must be a mapping")
    try:
        rules = ProvisioningRules.from_mapping({
            "attributes": {**DEFAULT_CLAIMS, **{str(k): str(v) for k, v in claims.items()}},
            "posts": raw.get("posts") or []})
    except ProvisioningError as exc:
        raise ProviderError(f"provider {name}: {exc}") from None
    return Provider(
        name=name, labels=labels, issuer=issuer,
        discovery_url=str(raw.get("discovery_url")
                          or issuer + "/.well-known/openid-configuration"),
        client_id=str(raw["client_id"]),
        client_secret=secret if secret is not None else (
            str(raw["client_secret"]) if raw.get("client_secret") else None),
        scopes=tuple(scopes), provision=bool(raw.get("provision", False)),
        rp_logout=bool(raw.get("rp_logout", True)), rules=rules)
