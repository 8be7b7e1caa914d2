"""The workflow engine: YAML definitions contributed by plugins, instances and tasks in SQL.

Plugins use it through ``portal.toolkit`` (``workflow_start``, ``workflow_act``...) or this
package's names; see docs/workflow.md.
"""

from __future__ import annotations

from portal.workflow.definition import (
    END,
    Assignee,
    Definition,
    DefinitionError,
    Step,
    Transition,
)
from portal.workflow.engine import (
    APPROVE,
    EVENT_TYPE,
    REJECT,
    act,
    can_withdraw,
    definition,
    definitions,
    history,
    instance_for,
    open_task_for,
    open_tasks,
    return_target,
    start,
    tasks,
    withdraw,
)
from portal.workflow.errors import (
    InvalidAction,
    NotYourTurn,
    StaleVersion,
    UnknownInstance,
    WorkflowError,
)
from portal.workflow.models import WorkflowHistory, WorkflowInstance, WorkflowTask

Instance = WorkflowInstance
Task = WorkflowTask
History = WorkflowHistory

__all__ = [
    "APPROVE", "END", "EVENT_TYPE", "REJECT", "Assignee", "Definition", "DefinitionError",
    "History", "Instance", "InvalidAction", "NotYourTurn", "StaleVersion", "Step", "Task",
    "Transition", "UnknownInstance", "WorkflowError", "WorkflowHistory", "WorkflowInstance",
    "WorkflowTask", "act", "can_withdraw", "definition", "definitions", "history",
    "instance_for", "open_task_for", "open_tasks", "return_target", "start", "tasks",
    "withdraw",
]
