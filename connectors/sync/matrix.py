"""Who hears of which customer change (DOMAIN.md §7): the recipient matrix, as data.

I = inspector (专管员), A = account manager (客户经理), D = deliveryman (送货员).
"""

from __future__ import annotations

from flask_babel import LazyString

from portal.toolkit import lazy_gettext

INSPECTOR, MANAGER, DELIVERYMAN = "inspector_id", "account_manager_id", "deliveryman_id"
I, A, D = INSPECTOR, MANAGER, DELIVERYMAN  # the letters of the matrix in DOMAIN.md  # noqa: E741

#: event → (staff columns told, title message id). Titles take %(name)s and %(license_no)s.
MATRIX: dict[str, tuple[tuple[str, ...], LazyString]] = {
    "LICENSE_NEW": ((I, A, D), lazy_gettext("New licence: %(name)s")),
    "LICENSE_CHANGED": ((I, A, D), lazy_gettext("Licence changed: %(name)s")),
    "ADDRESS_CHANGED": ((I, A, D), lazy_gettext("Address changed: %(name)s")),
    "LICENSE_SUSPENDED": ((I, A, D), lazy_gettext("Business suspended: %(name)s")),
    "LICENSE_RESUMED": ((I, A, D), lazy_gettext("Business resumed: %(name)s")),
    "LICENSE_CLOSED": ((I, A, D), lazy_gettext("Business closed: %(name)s")),
    "LICENSE_CANCELLED": ((I, A, D), lazy_gettext("Licence cancelled: %(name)s")),
    "LICENSE_EXPIRING": ((I, A), lazy_gettext("Licence expiring: %(name)s")),
    "LICENSE_RENEWED": ((I, A), lazy_gettext("Licence renewed: %(name)s")),
    "LICENSE_REISSUED": ((I, A), lazy_gettext("Licence reissued: %(name)s")),
    "CASE_FILED": ((I, A, D), lazy_gettext("Case filed: %(name)s")),
    "RECTIFICATION_ORDER": ((I, A, D), lazy_gettext("Rectification ordered: %(name)s")),
    "CASE_CLOSED": ((I, A), lazy_gettext("Case closed: %(name)s")),
    "CREDIT_CHANGED": ((I, A), lazy_gettext("Credit level changed: %(name)s")),
    "GRADE_CHANGED": ((I, D), lazy_gettext("Grade changed: %(name)s")),
    "ABNORMAL_PURCHASE": ((I, A), lazy_gettext("Abnormal purchase: %(name)s")),
    "NO_ORDER_N_WEEKS": ((I, A), lazy_gettext("No orders for weeks: %(name)s")),
    "SALES_ROUTE_CHANGED": ((I, D), lazy_gettext("Sales route changed: %(name)s")),
    "SALES_MANAGER_CHANGED": ((I, D), lazy_gettext("Account manager changed: %(name)s")),
    "DELIVERY_ROUTE_CHANGED": ((I, A), lazy_gettext("Delivery route changed: %(name)s")),
    "DELIVERY_MAN_CHANGED": ((I, A), lazy_gettext("Deliveryman changed: %(name)s")),
    "DELIVERY_EXCEPTION": ((I, A), lazy_gettext("Delivery exception: %(name)s")),
    "INSPECTION_FINDING": ((A, D), lazy_gettext("Inspection finding: %(name)s")),
    "INTEGRITY_STARS_CHANGED": ((I, A, D), lazy_gettext("Integrity stars changed: %(name)s")),
}


def recipients(event: str, staff: dict[str, int | None]) -> tuple[int, ...]:
    """The people the matrix names for *event*, given the customer's staff columns."""
    columns = MATRIX[event][0] if event in MATRIX else ()
    return tuple(sorted({pid for col in columns if (pid := staff.get(col)) is not None}))
