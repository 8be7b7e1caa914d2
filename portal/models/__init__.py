"""The domain model every plugin shares: organisation, people, posts, retail customers."""

from portal.models.audit import AuditEntry
from portal.models.customers import CUSTOMER_STATUSES, STAFF_ROLES, Customer
from portal.models.events import OutboxDelivery, OutboxEvent
from portal.models.org import ORG_KINDS, OrgUnit, Person, Post, PostAssignment
from portal.models.web import LayoutVersion, UserLayout, WebSession

__all__ = [
    "CUSTOMER_STATUSES",
    "ORG_KINDS",
    "STAFF_ROLES",
    "AuditEntry",
    "Customer",
    "LayoutVersion",
    "OrgUnit",
    "OutboxDelivery",
    "OutboxEvent",
    "Person",
    "Post",
    "PostAssignment",
    "UserLayout",
    "WebSession",
]
