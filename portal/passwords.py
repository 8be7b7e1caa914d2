"""Password hashing for the local user directory (argon2id, parameters from argon2-cffi)."""

from __future__ import annotations

import contextlib

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

_hasher = PasswordHasher()


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(stored_hash: str | None, password: str) -> bool:
    """True when *password* matches. An empty password never matches.

    Without a stored hash the password is still checked against a dummy hash, so that the time
    of a failed sign-in does not tell whether the user exists.
    """
    if not password:
        return False
    if not stored_hash:
        with contextlib.suppress(VerificationError, InvalidHashError):
            _hasher.verify(DUMMY_HASH, password)
        return False
    try:
        return _hasher.verify(stored_hash, password)
    except (VerificationError, InvalidHashError):
        return False


#: Verifying against this when the user does not exist keeps the time of a failed sign-in the
#: same for known and unknown usernames.
DUMMY_HASH = _hasher.hash("not-a-real-password")
