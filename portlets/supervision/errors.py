"""Errors of the supervision service, each with the HTTP status the views answer."""

from __future__ import annotations


class SupervisionError(Exception):
    status = 400

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class Invalid(SupervisionError):
    """A form that cannot be saved (no title, a deadline in the past...)."""

    status = 422


class Forbidden(SupervisionError):
    status = 403


class NotFound(SupervisionError):
    status = 404


class Conflict(SupervisionError):
    """A task that moved on, or a form older than the task."""

    status = 409
