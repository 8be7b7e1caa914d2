"""Reading dates and times from forms: a bad or backwards period is a readable 422."""

from __future__ import annotations

from datetime import date, datetime, time

from portal.toolkit import gettext
from portlets.affairs.errors import Invalid


def parse_day(raw: str, label: str) -> date:
    try:
        return date.fromisoformat(raw.strip())
    except ValueError:
        raise Invalid(gettext("%(field)s is not a date (YYYY-MM-DD).", field=label)) from None


def parse_time(raw: str, label: str) -> time:
    try:
        return time.fromisoformat(raw.strip())
    except ValueError:
        raise Invalid(gettext("%(field)s is not a time (HH:MM).", field=label)) from None


def parse_moment(raw: str, label: str) -> datetime:
    try:
        return datetime.fromisoformat(raw.strip()).replace(second=0, microsecond=0)
    except ValueError:
        raise Invalid(gettext("%(field)s is not a date and time (YYYY-MM-DD HH:MM).",
                              field=label)) from None


def check_order(start: datetime, end: datetime) -> None:
    """End must come after start."""
    if end <= start:
        raise Invalid(gettext("The end (%(end)s) must be after the start (%(start)s).",
                              end=end.strftime("%Y-%m-%d %H:%M"),
                              start=start.strftime("%Y-%m-%d %H:%M")))
