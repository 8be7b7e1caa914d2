"""Checking an upstream ID token before it signs anybody in, and reading its claims.

An ID token is the only thing the upstream says about who signed in; everything here is what
OpenID Connect Core 1.0 §3.1.3.7 asks a relying party to check: signed by a key the issuer
publishes (RS/ES/PS algorithms only, never ``none`` or a shared secret), issued by the expected
issuer, for this client (``aud``, and ``azp`` when there are several audiences), not expired,
and carrying the nonce this browser's sign-in started with (so a token cannot be replayed into
another sign-in).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from typing import Any

from joserfc import jwt
from joserfc.errors import (
    BadSignatureError,
    ExpiredTokenError,
    InvalidClaimError,
    JoseError,
    MissingClaimError,
)
from joserfc.jwk import KeySet
from joserfc.jwt import JWTClaimsRegistry

ALGORITHMS = ["RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512"]
LEEWAY = 60
MAX_TOKEN = 16384


class InvalidIdToken(ValueError):
    """The ID token must not be believed. *reason* is a short code for the audit log and the
    error page: signature, issuer, audience, expired, nonce, malformed."""

    def __init__(self, reason: str, detail: str = "") -> None:
        super().__init__(f"{reason}: {detail}" if detail else reason)
        self.reason = reason
        self.detail = detail


def validate_id_token(raw: str, *, issuer: str, client_id: str, nonce: str,
                      keys: Callable[[bool], Mapping[str, Any]],
                      now: int | None = None) -> dict[str, Any]:
    """The claims of *raw* once every check passed, else :class:`InvalidIdToken`.

    *keys(force)* returns the issuer's JWKS; it is called again with ``force=True`` once when
    no published key verifies the token, since the issuer may have rotated its keys since the
    set was cached.
    """
    if not raw or len(raw) > MAX_TOKEN or raw.count(".") != 2:
        raise InvalidIdToken("malformed", "not a signed JWT")
    token = _decode(raw, keys(False), retry=lambda: keys(True))
    claims = dict(token.claims)
    registry = JWTClaimsRegistry(
        now=now if now is not None else int(time.time()), leeway=LEEWAY,
        iss={"essential": True, "value": issuer}, sub={"essential": True},
        aud={"essential": True, "value": client_id}, exp={"essential": True},
        iat={"essential": True}, nonce={"essential": True, "value": nonce})
    try:
        registry.validate(claims)
    except ExpiredTokenError:
        raise InvalidIdToken("expired", f"exp={claims.get('exp')}") from None
    except (InvalidClaimError, MissingClaimError) as exc:
        claim = getattr(exc, "claim", "") or ""
        reason = {"iss": "issuer", "aud": "audience", "nonce": "nonce"}.get(claim, "malformed")
        raise InvalidIdToken(reason, str(exc)) from None
    except JoseError as exc:
        raise InvalidIdToken("malformed", str(exc)) from None
    audiences = claims["aud"] if isinstance(claims["aud"], list) else [claims["aud"]]
    if len(audiences) > 1 and claims.get("azp") != client_id:
        raise InvalidIdToken("audience", "several audiences and azp is not this client")
    return claims


def _decode(raw: str, jwks: Mapping[str, Any], retry: Callable[[], Mapping[str, Any]]) -> Any:
    for attempt in (0, 1):
        try:
            keyset = KeySet.import_key_set(dict(jwks))  # type: ignore[arg-type]
            return jwt.decode(raw, keyset, algorithms=ALGORITHMS)
        except BadSignatureError:
            reason = "signature"
        except (JoseError, ValueError, KeyError, TypeError) as exc:
            # An unknown kid, an algorithm we refuse, garbage in a segment...
            reason = "signature" if "key" in str(exc).lower() else "malformed"
            if attempt == 0 and reason == "signature":
                jwks = retry()
                continue
            raise InvalidIdToken(reason, str(exc)[:200]) from None
        if attempt == 0:
            jwks = retry()
            continue
        raise InvalidIdToken(reason, "no published key verifies the signature")
    raise AssertionError("unreachable")


def flatten(claims: Mapping[str, Any]) -> dict[str, list[str]]:
    """Claims as the provisioning rules read attributes: nested objects become dotted names
    (``org_unit.code``), lists of objects a list per key (``posts.code``); other values text.
    Anything not scalar below that is left out (it names nothing the rules can use)."""
    out: dict[str, list[str]] = {}

    def put(name: str, value: Any) -> None:
        if value is None:
            return
        if isinstance(value, bool):
            out.setdefault(name, []).append("true" if value else "false")
        elif isinstance(value, (str, int, float)):
            out.setdefault(name, []).append(str(value))
        elif isinstance(value, Mapping):
            for key, inner in value.items():
                if not isinstance(inner, (Mapping, list)):
                    put(f"{name}.{key}", inner)
        elif isinstance(value, list):
            for item in value:
                if not isinstance(item, list):  # objects become dotted names, scalars text
                    put(name, item)

    for key, value in claims.items():
        put(str(key), value)
    return out
