"""Working-hours arithmetic for deadlines: "16 working hours from now" skips nights, weekends
and holidays. Settings: ``COLLAB_WORKING_HOURS`` (periods of a working day) and
``COLLAB_HOLIDAYS`` (ISO dates); Monday to Friday are working days."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from typing import cast

from portal.toolkit import setting


def _periods() -> list[tuple[time, time]]:
    out = []
    for raw in cast(list[str], setting("COLLAB_WORKING_HOURS")) or ["08:30-12:00"]:
        start, end = str(raw).split("-")
        out.append((time.fromisoformat(start.strip()), time.fromisoformat(end.strip())))
    return sorted(out)


def _holidays() -> set[str]:
    return {str(d) for d in cast(list[str], setting("COLLAB_HOLIDAYS"))}


def _is_working_day(day: date, holidays: set[str]) -> bool:
    return day.weekday() < 5 and day.isoformat() not in holidays


def add_working_hours(start: datetime, hours: float) -> datetime:
    """The moment *hours* working hours after *start*."""
    periods = _periods()
    holidays = _holidays()
    left = timedelta(hours=hours)
    day, now = start.date(), start
    for _ in range(3660):  # ten years of days: a bound, never reached with sane settings
        if _is_working_day(day, holidays):
            for begin, end in periods:
                p_start = max(datetime.combine(day, begin), now)
                p_end = datetime.combine(day, end)
                if p_start >= p_end:
                    continue
                if p_end - p_start >= left:
                    return p_start + left
                left -= p_end - p_start
        day += timedelta(days=1)
        now = datetime.combine(day, time.min)
    raise ValueError("no working hours configured")


def working_hours_between(start: datetime, end: datetime) -> float:
    """Working hours from *start* to *end* (0 when end is earlier): for mean handling time."""
    if end <= start:
        return 0.0
    periods = _periods()
    holidays = _holidays()
    total = timedelta()
    day = start.date()
    while day <= end.date():
        if _is_working_day(day, holidays):
            for begin, stop in periods:
                lo = max(datetime.combine(day, begin), start)
                hi = min(datetime.combine(day, stop), end)
                if hi > lo:
                    total += hi - lo
        day += timedelta(days=1)
    return total.total_seconds() / 3600
