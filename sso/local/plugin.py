"""Plugin registration of the local directory backend."""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import select

from portal.toolkit import (
    AuthBackend,
    Identity,
    Person,
    db_session,
    hookimpl,
    verify_password,
)


class LocalDirectory:
    """Checks passwords against the argon2 hashes in the ``person`` table."""

    name = "local"

    def authenticate(self, username: str, password: str) -> Identity | None:
        if not password:  # an empty password never signs anybody in
            return None
        stored = db_session().scalar(
            select(Person.password_hash).where(Person.username == username,
                                               Person.active.is_(True)))
        if verify_password(stored, password):
            return Identity(username=username, backend=self.name)
        return None


@hookimpl
def portal_auth_backends() -> Iterable[AuthBackend]:
    return [LocalDirectory()]
