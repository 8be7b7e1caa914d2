"""Names of the merged customer's fields and of the change events, for pages and notices."""

from __future__ import annotations

from flask_babel import LazyString

from portal.toolkit import lazy_gettext

FIELD_LABELS: dict[str, LazyString] = {
    "name": lazy_gettext("Shop name"),
    "operator_name": lazy_gettext("Operator"),
    "address": lazy_gettext("Address"),
    "business_format": lazy_gettext("Business format"),
    "market_type": lazy_gettext("Market type"),
    "grade": lazy_gettext("Grade"),
    "credit_level": lazy_gettext("Credit level"),
    "phone": lazy_gettext("Phone"),
    "status": lazy_gettext("Licence status"),
    "license_valid_to": lazy_gettext("Licence valid until"),
    "inspection_route": lazy_gettext("Inspection route"),
    "sales_route": lazy_gettext("Sales route"),
    "delivery_route": lazy_gettext("Delivery route"),
    "inspector_id": lazy_gettext("Inspector"),
    "account_manager_id": lazy_gettext("Account manager"),
    "deliveryman_id": lazy_gettext("Deliveryman"),
    "integrity_star": lazy_gettext("Integrity stars"),
}

SOURCE_LABELS: dict[str, LazyString] = {
    "monopoly": lazy_gettext("Monopoly system"),
    "marketing": lazy_gettext("Marketing system"),
    "logistics": lazy_gettext("Logistics system"),
}

EVENT_LABELS: dict[str, LazyString] = {
    "LICENSE_NEW": lazy_gettext("New licence"),
    "LICENSE_RENEWED": lazy_gettext("Renewal"),
    "LICENSE_CHANGED": lazy_gettext("Change"),
    "ADDRESS_CHANGED": lazy_gettext("Address change"),
    "LICENSE_SUSPENDED": lazy_gettext("Suspension"),
    "LICENSE_RESUMED": lazy_gettext("Resumption"),
    "LICENSE_CLOSED": lazy_gettext("Closure"),
    "LICENSE_CANCELLED": lazy_gettext("Cancellation"),
    "LICENSE_REISSUED": lazy_gettext("Reissue"),
    "LICENSE_EXPIRING": lazy_gettext("Expiring"),
    "CASE_FILED": lazy_gettext("Case filed"),
    "CASE_CLOSED": lazy_gettext("Case closed"),
    "CREDIT_CHANGED": lazy_gettext("Credit change"),
    "GRADE_CHANGED": lazy_gettext("Grade change"),
    "SALES_ROUTE_CHANGED": lazy_gettext("Sales route change"),
    "SALES_MANAGER_CHANGED": lazy_gettext("Account manager change"),
    "DELIVERY_ROUTE_CHANGED": lazy_gettext("Delivery route change"),
    "DELIVERY_MAN_CHANGED": lazy_gettext("Deliveryman change"),
    "DELIVERY_EXCEPTION": lazy_gettext("Delivery exception"),
}

STATUS_LABELS: dict[str, LazyString] = {
    "PENDING": lazy_gettext("Pending"),
    "ACTIVE": lazy_gettext("Active"),
    "SUSPENDED": lazy_gettext("Suspended"),
    "EXPIRED": lazy_gettext("Expired"),
    "CANCELLED": lazy_gettext("Cancelled"),
    "REVOKED": lazy_gettext("Revoked"),
}

CASE_TYPE_LABELS: dict[str, LazyString] = {
    "NO_LICENSE": lazy_gettext("Unlicensed business"),
    "NONLOCAL_PURCHASE": lazy_gettext("Purchase outside the local wholesaler"),
    "FAKE": lazy_gettext("Counterfeit cigarettes"),
    "SMUGGLED": lazy_gettext("Smuggled cigarettes"),
    "NO_TRANSPORT_PERMIT": lazy_gettext("Transport without permit"),
    "LICENSE_TRADING": lazy_gettext("Licence trading"),
    "SALE_TO_MINOR": lazy_gettext("Sale to minors"),
    "ONLINE_SALE": lazy_gettext("Online sale"),
    "E_CIG": lazy_gettext("E-cigarette violation"),
    "OTHER": lazy_gettext("Other"),
}

SIGN_LABELS: dict[str, LazyString] = {
    "SIGNED": lazy_gettext("Signed"),
    "PROXY": lazy_gettext("Signed by proxy"),
    "REFUSED": lazy_gettext("Refused"),
    "CLOSED_SHOP": lazy_gettext("Shop closed"),
    "ADDRESS_MISMATCH": lazy_gettext("Address mismatch"),
}
