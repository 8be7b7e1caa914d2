"""Errors of the collaboration service, each with the HTTP status the views answer."""

from __future__ import annotations


class CollabError(Exception):
    status = 400

    def __init__(self, message: str, errors: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.errors = errors or {}


class Invalid(CollabError):
    status = 400


class Forbidden(CollabError):
    status = 403


class NotFound(CollabError):
    status = 404


class Conflict(CollabError):
    """Illegal transition, stale version, or a race lost to somebody else."""

    status = 409


class TooLarge(CollabError):
    status = 413
