"""Errors of the approvals service, each with the HTTP status the views answer."""

from __future__ import annotations


class ApprovalError(Exception):
    status = 400

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class Invalid(ApprovalError):
    """A form that cannot be saved (end before start, no amount, nobody to approve...)."""

    status = 422


class Forbidden(ApprovalError):
    status = 403


class NotFound(ApprovalError):
    status = 404


class Conflict(ApprovalError):
    """A request that moved on, or a form older than the request."""

    status = 409
