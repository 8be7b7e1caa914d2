"""The public surface for plugin authors. Import from here, not from the core's modules.

Everything a department's plugin needs: the hook marker, the portlet contract, the current user,
the shared domain model (read it; write it only through its own services), database sessions,
cache invalidation, domain events, audit and i18n helpers. What is not exported here may change
without notice.
"""

from __future__ import annotations

from flask import current_app
from flask_babel import ngettext

from portal.access import current_principal, login_required, role_required
from portal.auth import AuthBackend, DirectoryUnavailable, Identity, Principal
from portal.bulk import insert_rows, update_rows
from portal.db import Model, after_commit, db_session
from portal.events import DomainEvent, dispatch_pending, emit, emit_many
from portal.i18n import gettext, lazy_gettext
from portal.jobs import PeriodicJob
from portal.live import LiveBadge, LiveMessage, publish, publish_after_commit
from portal.models import Customer, OrgUnit, Person, Post, PostAssignment
from portal.notify import (
    Notification,
    NotificationChannel,
    channel_names,
    notification_for,
    notify,
    notify_many,
)
from portal.passwords import hash_password, verify_password
from portal.people import (
    customer_scope,
    people_in_units,
    people_with_posts,
    principal_for,
    subtree_ids,
)
from portal.plugins import hookimpl
from portal.portlet import (
    CachePolicy,
    Mode,
    Portlet,
    Preference,
    PreferenceSchema,
    RenderContext,
    Size,
    Variance,
    WindowState,
)
from portal.query import prefix_match
from portal.query import run as run_prepared
from portal.search import SearchResult, excerpt
from portal.signin import sign_out
from portal.todo import TodoItem, TodoSummary, todo_items, todo_summary

__all__ = [
    "AuthBackend",
    "CachePolicy",
    "Customer",
    "DirectoryUnavailable",
    "DomainEvent",
    "Identity",
    "LiveBadge",
    "LiveMessage",
    "Mode",
    "Model",
    "Notification",
    "NotificationChannel",
    "OrgUnit",
    "PeriodicJob",
    "Person",
    "Portlet",
    "Post",
    "PostAssignment",
    "Preference",
    "PreferenceSchema",
    "Principal",
    "RenderContext",
    "SearchResult",
    "Size",
    "TodoItem",
    "TodoSummary",
    "Variance",
    "WindowState",
    "after_commit",
    "audit",
    "channel_names",
    "current_principal",
    "customer_scope",
    "db_session",
    "dispatch_pending",
    "emit",
    "emit_many",
    "excerpt",
    "gettext",
    "hash_password",
    "hookimpl",
    "insert_rows",
    "invalidate",
    "lazy_gettext",
    "login_required",
    "ngettext",
    "notification_for",
    "notify",
    "notify_many",
    "people_in_units",
    "people_with_posts",
    "prefix_match",
    "principal_for",
    "publish",
    "publish_after_commit",
    "role_required",
    "run_prepared",
    "setting",
    "sign_out",
    "subtree_ids",
    "todo_items",
    "todo_summary",
    "update_rows",
    "verify_password",
]

from portal.audit import record as audit


def invalidate(portlet_id: str, *, user: int | None = None, post: str | None = None,
               org: int | None = None) -> None:
    """Make cached windows of *portlet_id* stale: everyone's, or one user's, post's or org's."""
    current_app.extensions["portal"].cache.invalidate(portlet_id, user=user, post=post, org=org)


def setting(key: str) -> object:
    """The value of a declared portal setting (see ``portal config``)."""
    return current_app.extensions["portal"].settings[key]


# Sign-in levels and the one place that starts a session, for sign-in plugins (issue 5).
from portal.assurance import admin_required, assurance_required  # noqa: E402
from portal.signin import person_for, sign_in  # noqa: E402
from portal.views import error_page  # noqa: E402
from portal.views.auth import safe_next  # noqa: E402

__all__ += ["admin_required", "assurance_required", "error_page", "person_for", "safe_next",
            "sign_in"]

# The unified calendar (issue 8).
from portal.calendar import CalendarEvent, calendar_events  # noqa: E402

__all__ += ["CalendarEvent", "calendar_events"]

# Office automation (issue 8): the workflow engine and document signatures.
from portal.signing import SignatureInfo, SignatureInvalid, SigningError  # noqa: E402
from portal.signing import sign as sign_document  # noqa: E402
from portal.signing import verify as verify_signature  # noqa: E402
from portal.workflow import (  # noqa: E402
    InvalidAction,
    NotYourTurn,
    StaleVersion,
    WorkflowError,
    WorkflowHistory,
    WorkflowInstance,
    WorkflowTask,
)
from portal.workflow import act as workflow_act  # noqa: E402
from portal.workflow import can_withdraw as workflow_can_withdraw  # noqa: E402
from portal.workflow import history as workflow_history  # noqa: E402
from portal.workflow import instance_for as workflow_instance_for  # noqa: E402
from portal.workflow import open_task_for as workflow_open_task_for  # noqa: E402
from portal.workflow import open_tasks as workflow_open_tasks  # noqa: E402
from portal.workflow import start as workflow_start  # noqa: E402
from portal.workflow import tasks as workflow_tasks  # noqa: E402
from portal.workflow import withdraw as workflow_withdraw  # noqa: E402

__all__ += ["InvalidAction", "NotYourTurn", "SignatureInfo", "SignatureInvalid",
            "SigningError", "StaleVersion", "WorkflowError", "WorkflowHistory",
            "WorkflowInstance", "WorkflowTask", "sign_document", "verify_signature",
            "workflow_act", "workflow_can_withdraw", "workflow_history",
            "workflow_instance_for", "workflow_open_task_for", "workflow_open_tasks",
            "workflow_start", "workflow_tasks", "workflow_withdraw"]

# Indicators (issue 9): the contract a plugin declares its key figures with.
from portal.indicators import HIGHER, LOWER, Indicator, Period, Value  # noqa: E402

__all__ += ["HIGHER", "LOWER", "Indicator", "Period", "Value"]
