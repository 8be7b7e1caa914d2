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
}

SOURCE_LABELS: dict[str, LazyString] = {
    "monopoly": lazy_gettext("Monopoly system"),
    "marketing": lazy_gettext("Marketing system"),
    "logistics": lazy_gettext("Logistics system"),
}
