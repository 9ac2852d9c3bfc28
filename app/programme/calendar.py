"""Calendar (ICS, RFC 5545) files for programme sessions: the private feed, per-session downloads and
the invitations emailed when a session changes.

Pure functions of the sessions and explicit arguments: no request, no database writes. Times
are written as local wall times with a TZID and a VTIMEZONE, so a 09:30 London session shows
at 09:30 in every client in both GMT and BST; the VTIMEZONE covers only the sessions' dates.

The feed and downloads are METHOD:PUBLISH (a copy to look at). An emailed invitation is an iTIP
message (RFC 5546): METHOD:REQUEST adds or updates the event, METHOD:CANCEL removes it, and both
name the ORGANIZER and the recipient as ATTENDEE, which is what makes Outlook and Gmail update the
entry they already have (matched by UID, newer by SEQUENCE) instead of adding a second one.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from icalendar import Calendar, Event, Timezone, vCalAddress

from app.programme.models import ProgrammeSession

PRODID = "-//Convene//Programme calendar//EN"
DEFAULT_TIMEZONE = "Europe/London"
METHODS = frozenset({"PUBLISH", "REQUEST", "CANCEL"})

# RFC 5545 TEXT allows no control characters but tab; line breaks are escaped by icalendar.
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_NOT_SLUG = re.compile(r"[^a-z0-9]+")


@dataclass(frozen=True)
class CalendarUser:
    """Someone an invitation names: the organizer (the programme's sending address) or an attendee."""

    email: str
    name: str = ""


def invitation_method(session: ProgrammeSession) -> str:
    """The iTIP method that brings a recipient's calendar up to date with the session.

    A session going ahead is a REQUEST (new, moved, reinstated or given its new date); one not going
    ahead is a CANCEL. A postponed session has no time to show, so its entry is cancelled and its new
    date later arrives as a REQUEST with a higher SEQUENCE, which calendars accept as the newer version.
    """
    return "CANCEL" if session.is_off else "REQUEST"


def calendar_content_type(method: str) -> str:
    """The MIME type of an emailed calendar: iMIP (RFC 6047) wants the method as a parameter too."""
    if method not in METHODS:
        raise ValueError(f"unsupported calendar method {method!r}")
    return f"text/calendar; method={method}; charset=UTF-8"


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
    return _calendar(list(sessions), name=name, domain=domain, base_url=base_url, now=now, method=method,
                     timezone=timezone).to_ical()


def build_invitation(session: ProgrammeSession, *, organizer: CalendarUser, attendee: CalendarUser, name: str,
                     domain: str, base_url: str, now: datetime, timezone: str = DEFAULT_TIMEZONE) -> bytes:
    """One person's iTIP message for one session: a REQUEST, or a CANCEL when the session is off.

    One session per message: RFC 5546 (3.2.2, 3.2.5) wants every component of a REQUEST or CANCEL
    to share one UID, so several sessions changed together travel as several of these. Only the
    recipient is named as attendee, so nobody learns the other participants' addresses.
    """
    calendar = _calendar([session], name=name, domain=domain, base_url=base_url, now=now,
                         method=invitation_method(session), timezone=timezone)
    (event,) = calendar.walk("VEVENT")
    event.add("organizer", _address(organizer))
    event.add("attendee", _address(attendee, role="REQ-PARTICIPANT", partstat="NEEDS-ACTION", rsvp=False))
    return calendar.to_ical()


def _calendar(sessions: list[ProgrammeSession], *, name: str, domain: str, base_url: str, now: datetime,
              method: str, timezone: str) -> Calendar:
    if method not in METHODS:
        raise ValueError(f"unsupported calendar method {method!r}")
    if now.tzinfo is None:
        raise ValueError("now must be timezone-aware")
    zone = ZoneInfo(timezone)

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
    return calendar


def _address(user: CalendarUser, **params) -> vCalAddress:
    """A mailto: address with a common name that cannot break out of its parameter."""
    email = _text(user.email).strip()
    if not email or any(c in email for c in " <>,;:\"\n") or email.count("@") != 1:
        raise ValueError(f"not a plain email address: {user.email!r}")
    # A parameter value may hold no double quote (RFC 5545 3.2); RFC 6868's escape for one is not
    # understood by Outlook, so a quote in a name becomes an apostrophe.
    common_name = " ".join(_text(user.name).replace('"', "'").split())
    return vCalAddress.new(email, cn=common_name or None, **params)


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
    # The join link itself never goes into a calendar: the session page shows it only from
    # JOIN_LINK_LEAD before the start (and only to those who may join), while a calendar holds the
    # event for months and syncs it to other services. The event says where the link will be; a
    # session not going ahead has nothing to join.
    if session.join_url and not session.venue and not session.is_off:
        lead = int(session.JOIN_LINK_LEAD.total_seconds() // 60)
        lines += ["", f"Join link: on the session page, from {lead} minutes before the start."]
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
