"""Errors of the office-affairs service, each with the HTTP status the views answer."""

from __future__ import annotations


class AffairsError(Exception):
    status = 400

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class Invalid(AffairsError):
    """A form that cannot be saved (end before start, unknown room...)."""

    status = 422


class Forbidden(AffairsError):
    status = 403


class NotFound(AffairsError):
    status = 404


class Conflict(AffairsError):
    """An overlapping booking, a vehicle already out, or a form older than the record."""

    status = 409
