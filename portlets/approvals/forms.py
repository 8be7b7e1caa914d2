"""Reading the three request forms into the data the chain's conditions see (``days``,
``amount``); anything unreadable is a 422 with the field named."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Any

from werkzeug.datastructures import MultiDict

from portal.toolkit import gettext, lazy_gettext
from portlets.approvals.errors import Invalid

LEAVE_TYPES = (("annual", lazy_gettext("Annual leave")),
               ("personal", lazy_gettext("Personal leave")),
               ("sick", lazy_gettext("Sick leave")), ("marriage", lazy_gettext("Marriage leave")),
               ("bereavement", lazy_gettext("Bereavement leave")),
               ("maternity", lazy_gettext("Maternity leave")))
MAX_APPROVERS = 5


@dataclass
class Parsed:
    title: str
    data: dict[str, Any]
    chosen: list[int] = field(default_factory=list)


def _text(form: MultiDict[str, str], name: str, label: str, limit: int,
          required: bool = True) -> str:
    value = (form.get(name) or "").strip()
    if required and not value:
        raise Invalid(gettext("%(field)s is required.", field=label))
    if len(value) > limit:
        raise Invalid(gettext("%(field)s is longer than %(n)d characters.", field=label,
                              n=limit))
    return value


def _day(form: MultiDict[str, str], name: str, label: str) -> date:
    try:
        return date.fromisoformat((form.get(name) or "").strip())
    except ValueError:
        raise Invalid(gettext("%(field)s is not a date (YYYY-MM-DD).", field=label)) from None


def _number(form: MultiDict[str, str], name: str, label: str) -> Decimal:
    try:
        value = Decimal((form.get(name) or "").strip().replace(",", ""))
    except InvalidOperation:
        raise Invalid(gettext("%(field)s is not a number.", field=label)) from None
    if not value.is_finite() or value <= 0:
        raise Invalid(gettext("%(field)s must be more than zero.", field=label))
    return value


def leave(form: MultiDict[str, str]) -> Parsed:
    kind = form.get("leave_type", "")
    labels = dict(LEAVE_TYPES)
    if kind not in labels:
        raise Invalid(gettext("Choose the type of leave."))
    first = _day(form, "first_day", gettext("First day"))
    last = _day(form, "last_day", gettext("Last day"))
    if last < first:
        raise Invalid(gettext("The last day (%(end)s) must not be before the first day "
                              "(%(start)s).", end=last.isoformat(), start=first.isoformat()))
    days = _number(form, "days", gettext("Days"))
    span = (last - first).days + 1
    if days > span or days % Decimal("0.5"):
        raise Invalid(gettext("Days must be whole or half days, at most %(n)d for these dates.",
                              n=span))
    reason = _text(form, "reason", gettext("Reason"), 1000)
    shown = format(days.normalize(), "f")
    title = gettext("%(type)s, %(days)s days from %(first)s", type=str(labels[kind]),
                    days=shown, first=first.isoformat())
    return Parsed(title, {"leave_type": kind, "first_day": first.isoformat(),
                          "last_day": last.isoformat(), "days": float(days), "reason": reason})


def purchase(form: MultiDict[str, str]) -> Parsed:
    items = [line.strip() for line in _text(form, "items", gettext("Items"), 2000)
             .splitlines() if line.strip()]
    amount = _number(form, "amount", gettext("Amount"))
    if amount > Decimal("100000000"):
        raise Invalid(gettext("%(field)s is too large.", field=gettext("Amount")))
    reason = _text(form, "reason", gettext("Reason"), 1000)
    shown = format(amount.quantize(Decimal("0.01")), ",")
    title = gettext("Purchase: %(first)s (%(amount)s yuan)", first=items[0][:40],
                    amount=shown)
    return Parsed(title, {"items": items, "amount": float(amount), "reason": reason})


def generic(form: MultiDict[str, str], known_people: set[int]) -> Parsed:
    title = _text(form, "title", gettext("Title"), 200)
    body = _text(form, "body", gettext("Details"), 5000)
    chosen: list[int] = []
    for raw in form.getlist("approver"):
        if not raw.strip():
            continue
        if not raw.isdigit() or int(raw) not in known_people:
            raise Invalid(gettext("Choose approvers from the list."))
        if int(raw) not in chosen:
            chosen.append(int(raw))
    if not chosen:
        raise Invalid(gettext("Choose at least one approver."))
    if len(chosen) > MAX_APPROVERS:
        raise Invalid(gettext("At most %(n)d approvers.", n=MAX_APPROVERS))
    data: dict[str, Any] = {"body": body, "approvers": chosen}
    data.update({f"approver{i + 1}": person for i, person in enumerate(chosen)})
    return Parsed(title, data, chosen)
