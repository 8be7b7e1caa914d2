"""Writing RFC 5545 iCalendar: escaped text, lines folded at 75 octets, a UID and DTSTAMP per
event, local times with TZID Asia/Shanghai (and its VTIMEZONE), all-day events as DATE values.

Written by hand rather than with a library: it is forty lines, and the test parses the output
with the ``icalendar`` package to prove it is valid.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from datetime import UTC, datetime

from portal.toolkit import CalendarEvent

TZID = "Asia/Shanghai"
VTIMEZONE = (
    "BEGIN:VTIMEZONE", f"TZID:{TZID}", "BEGIN:STANDARD", "DTSTART:19700101T000000",
    "TZOFFSETFROM:+0800", "TZOFFSETTO:+0800", "TZNAME:CST", "END:STANDARD", "END:VTIMEZONE",
)


def escape(text: str) -> str:
    """TEXT value escaping (RFC 5545 §3.3.11): backslash, semicolon, comma, newlines."""
    return (text.replace("\\", "\\\\").replace(";", "\\;").replace(",", "\\,")
            .replace("\r\n", "\\n").replace("\n", "\\n").replace("\r", "\\n"))


def fold(line: str) -> str:
    """Split a content line into pieces of at most 75 octets (continuations start with a
    space), never inside a UTF-8 character: Chinese text is three octets a character."""
    out: list[str] = []
    current, size, limit = [], 0, 75
    for ch in line:
        n = len(ch.encode("utf-8"))
        if size + n > limit:
            out.append("".join(current))
            current, size, limit = [" "], 1, 75
        current.append(ch)
        size += n
    out.append("".join(current))
    return "\r\n".join(out)


def _local(moment: datetime) -> str:
    return moment.strftime("%Y%m%dT%H%M%S")


def _uid(event: CalendarEvent, domain: str) -> str:
    if event.uid:
        return f"{event.uid}@{domain}"
    digest = hashlib.sha1(f"{event.kind}|{event.title}|{event.start.isoformat()}".encode())
    return f"{digest.hexdigest()[:20]}@{domain}"


def calendar(events: Iterable[CalendarEvent], *, domain: str, base_url: str,
             name: str, now: datetime | None = None) -> str:
    """The VCALENDAR document (CRLF line ends) of *events*; *base_url* makes their URLs
    absolute, *domain* qualifies their UIDs."""
    stamp = (now or datetime.now(UTC)).astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")
    lines = ["BEGIN:VCALENDAR", "VERSION:2.0", "PRODID:-//Jiaxing Tobacco//Portal Calendar//ZH",
             "CALSCALE:GREGORIAN", "METHOD:PUBLISH", f"X-WR-CALNAME:{escape(name)}",
             f"X-WR-TIMEZONE:{TZID}", *VTIMEZONE]
    for e in events:
        lines += ["BEGIN:VEVENT", f"UID:{_uid(e, domain)}", f"DTSTAMP:{stamp}"]
        if e.all_day:
            lines += [f"DTSTART;VALUE=DATE:{e.start:%Y%m%d}", f"DTEND;VALUE=DATE:{e.end:%Y%m%d}"]
        else:
            lines += [f"DTSTART;TZID={TZID}:{_local(e.start)}",
                      f"DTEND;TZID={TZID}:{_local(e.end)}"]
        lines.append(f"SUMMARY:{escape(e.title)}")
        if e.location:
            lines.append(f"LOCATION:{escape(e.location)}")
        lines.append(f"CATEGORIES:{escape(e.source)}")
        if e.url:
            url = e.url if "://" in e.url else base_url.rstrip("/") + e.url
            lines.append(f"URL:{url}")
        lines.append("END:VEVENT")
    lines.append("END:VCALENDAR")
    return "".join(fold(line) + "\r\n" for line in lines)
