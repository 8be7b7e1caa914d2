"""Who is signed in (``Principal``) and the contract sign-in backends implement.

Backends live in ``sso/`` as plugins; the core only knows this protocol, so LDAP, certificates
or an upstream OpenID Connect provider plug in without the core importing them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Protocol, runtime_checkable

if TYPE_CHECKING:
    from portal.models import Person


@dataclass(frozen=True)
class Principal:
    """The signed-in person as every request sees it, kept in the session so that a page
    needs no database query to know who is asking."""

    person_id: int
    username: str
    display_name: str
    org_unit_id: int | None
    posts: tuple[str, ...] = ()
    roles: tuple[str, ...] = ()
    locale: str | None = None
    auth_method: str = "password"
    managed_units: tuple[int, ...] = field(default=())

    @property
    def is_admin(self) -> bool:
        return "admin" in self.roles

    def to_dict(self) -> dict[str, object]:
        return {
            "person_id": self.person_id,
            "username": self.username,
            "display_name": self.display_name,
            "org_unit_id": self.org_unit_id,
            "posts": list(self.posts),
            "roles": list(self.roles),
            "locale": self.locale,
            "auth_method": self.auth_method,
            "managed_units": list(self.managed_units),
        }

    @classmethod
    def from_dict(cls, data: dict[str, object]) -> Principal:
        return cls(
            person_id=int(data["person_id"]),  # type: ignore[call-overload]
            username=str(data["username"]),
            display_name=str(data["display_name"]),
            org_unit_id=data.get("org_unit_id"),  # type: ignore[arg-type]
            posts=tuple(data.get("posts") or ()),  # type: ignore[arg-type]
            roles=tuple(data.get("roles") or ()),  # type: ignore[arg-type]
            locale=data.get("locale"),  # type: ignore[arg-type]
            auth_method=str(data.get("auth_method") or "password"),
            managed_units=tuple(data.get("managed_units") or ()),  # type: ignore[arg-type]
        )


class DirectoryUnavailable(RuntimeError):
    """The backend could not ask its directory (down, timed out). Never a wrong password."""


@dataclass(frozen=True)
class Identity:
    """What a backend vouches for: the username of a person the portal knows (or provisions)."""

    username: str
    backend: str
    attributes: dict[str, object] = field(default_factory=dict)
    #: The person's row when the backend has just loaded (or provisioned) them in the
    #: request's database session: ``person_for`` then takes it instead of querying again.
    #: (Holding the row matters: the session's identity map keeps unchanged rows only weakly.)
    person: Person | None = field(default=None, compare=False, repr=False)


@runtime_checkable
class AuthBackend(Protocol):
    """A way of checking a password. ``authenticate`` returns ``None`` for wrong credentials and
    raises ``DirectoryUnavailable`` when it cannot tell."""

    name: str

    def authenticate(self, username: str, password: str) -> Identity | None: ...
