"""Calendar (ICS, RFC 5545) files for programme sessions: the private feed and per-session downloads.

Pure functions of the sessions and explicit arguments: no request, no database writes. Times
are written as local wall times with a TZID and a VTIMEZONE, so a 09:30 London session shows
at 09:30 in every client in both GMT and BST; the VTIMEZONE covers only the sessions' dates.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from icalendar import Calendar, Event, Timezone

from app.programme.models import ProgrammeSession

PRODID = "-//Convene//Programme calendar//EN"
DEFAULT_TIMEZONE = "Europe/London"
METHODS = frozenset({"PUBLISH", "REQUEST", "CANCEL"})

# RFC 5545 TEXT allows no control characters but tab; line breaks are escaped by icalendar.
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_NOT_SLUG = re.compile(r"[^a-z0-9]+")


def session_uid(session: ProgrammeSession, domain: str) -> str:
    """The event's UID: the same for a session in every feed and download, so updates replace it."""
    if session.id is None:
        raise ValueError("a session needs an id (flush it) before it can go into a calendar")
    return f"session-{session.id}@{domain}"


def session_url(session: ProgrammeSession, base_url: str) -> str:
    return f"{base_url.rstrip('/')}/sessions/{session.id}"


def session_ics_filename(session: ProgrammeSession, timezone: str = DEFAULT_TIMEZONE) -> str:
    """A safe ASCII download name: the local date and the title, e.g. '2026-09-14-welcome.ics'."""
    ascii_title = unicodedata.normalize("NFKD", session.title or "").encode("ascii", "ignore").decode()
    slug = _NOT_SLUG.sub("-", ascii_title.lower()).strip("-")[:60].rstrip("-") or "session"
    day = session.starts_at.astimezone(ZoneInfo(timezone)).date()
    return f"{day.isoformat()}-{slug}.ics"


def build_calendar(sessions: Iterable[ProgrammeSession], *, name: str, domain: str, base_url: str,
                   now: datetime, method: str = "PUBLISH", timezone: str = DEFAULT_TIMEZONE) -> bytes:
    """A VCALENDAR with one VEVENT per session; cancelled sessions stay in with STATUS:CANCELLED."""
    if method not in METHODS:
        raise ValueError(f"unsupported calendar method {method!r}")
    if now.tzinfo is None:
        raise ValueError("now must be timezone-aware")
    zone = ZoneInfo(timezone)
    sessions = list(sessions)

    calendar = Calendar()
    calendar.add("prodid", PRODID)
    calendar.add("version", "2.0")
    calendar.add("calscale", "GREGORIAN")
    calendar.add("method", method)
    calendar.add("x-wr-calname", _text(name))
    calendar.add("x-wr-timezone", timezone)
    calendar.add_component(_vtimezone(sessions, zone, timezone, now))
    for session in sessions:
        calendar.add_component(_event(session, zone=zone, domain=domain, base_url=base_url, now=now))
    return calendar.to_ical()


def _vtimezone(sessions: list[ProgrammeSession], zone: ZoneInfo, tzid: str, now: datetime) -> Timezone:
    """Only the transitions between the first session and the last (a year is a handful of lines).

    An empty feed still gets one, for today: RFC 5545 wants at least one component.
    """
    if sessions:
        first = min(s.starts_at for s in sessions).astimezone(zone).date()
        last = max(s.ends_at for s in sessions).astimezone(zone).date()
    else:
        first = last = now.astimezone(zone).date()
    return Timezone.from_tzinfo(zone, tzid=tzid, first_date=first, last_date=last + timedelta(days=1))


def _event(session: ProgrammeSession, *, zone: ZoneInfo, domain: str, base_url: str, now: datetime) -> Event:
    url = session_url(session, base_url)
    title = _text(session.title)
    event = Event()
    event.add("uid", session_uid(session, domain))
    event.add("dtstamp", now.astimezone(UTC))
    event.add("dtstart", session.starts_at.astimezone(zone))
    event.add("dtend", session.ends_at.astimezone(zone))
    event.add("summary", f"{_off_word(session)}: {title}" if session.is_off else title)
    event.add("description", _description(session, url))
    location = _location(session)
    if location:
        event.add("location", location)
    event.add("url", url)
    event.add("sequence", session.sequence or 0)
    event.add("status", "CANCELLED" if session.is_off else "CONFIRMED")
    event.add("transp", "TRANSPARENT" if session.is_off else "OPAQUE")
    return event


def _off_word(session: ProgrammeSession) -> str:
    """The summary's first word for a session not going ahead: calendars show it struck through."""
    return {"postponed": "Postponed", "not_held": "Did not take place"}.get(session.status, "Cancelled")


def _description(session: ProgrammeSession, url: str) -> str:
    lines = [f"{session.kind_label} ({session.status_label.lower()})" if session.is_off else session.kind_label]
    if session.description:
        lines += ["", _text(session.description)]
    # A cancelled session has nothing to join: leaving the link out stops anyone turning up to it.
    if session.join_url and not session.is_off:
        lines += ["", f"Join online: {_text(session.join_url)}"]
    if session.venue:
        lines += ["", f"Venue: {_text(session.venue)}"]
    if session.access_info:
        lines += ["", f"Access: {_text(session.access_info)}"]
    lines += ["", f"Session page: {url}"]
    return "\n".join(lines)


def _location(session: ProgrammeSession) -> str:
    if session.venue:
        return _text(session.venue)
    if session.join_url:
        return "Online"
    return ""


def _text(value: str) -> str:
    """Plain text for a TEXT property: one newline style and no control characters."""
    value = (value or "").replace("\r\n", "\n").replace("\r", "\n")
    return _CONTROL.sub("", value)
