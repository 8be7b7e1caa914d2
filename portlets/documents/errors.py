"""Errors of the documents plugin, each with the HTTP status the pages answer."""

from __future__ import annotations


class DocumentError(Exception):
    status = 400

    def __init__(self, message: str, errors: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.errors = errors or {}


class Invalid(DocumentError):
    status = 422


class Forbidden(DocumentError):
    status = 403


class NotFound(DocumentError):
    status = 404


class Conflict(DocumentError):
    """A duplicate number, or a state somebody else changed."""

    status = 409
