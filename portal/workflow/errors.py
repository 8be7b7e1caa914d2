"""What the engine refuses, each with the HTTP status a page answers and a translated message."""

from __future__ import annotations


class WorkflowError(Exception):
    """Base of every refusal; ``status`` is the HTTP answer, ``message`` is for the person."""

    status = 400

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class NotYourTurn(WorkflowError):
    """The actor holds no open task of this instance (or is not the initiator, for withdraw)."""

    status = 403


class UnknownInstance(WorkflowError):
    status = 404


class StaleVersion(WorkflowError):
    """The instance changed since the actor's page was rendered."""

    status = 409


class InvalidAction(WorkflowError):
    """The action does not exist on this step, the instance is finished, nobody can be
    assigned to the next step, or the data does not fit."""

    status = 422
