"""The calendar invitation (RFC 5546 iTIP REQUEST) a guest's invitation email carries, and the update
(REQUEST with a higher SEQUENCE) or cancellation (CANCEL) that follows when the event moves or is called off.

Times are written in UTC: a guest's calendar may be anywhere, and UTC needs no VTIMEZONE. The UID is one
per guest and event, so a later update for the same guest replaces their entry rather than adding one.
"""

from __future__ import annotations

from datetime import UTC, datetime

from icalendar import Calendar, Event, vCalAddress

from app.celebration.models import Guest
from app.programme.calendar import PRODID, CalendarUser
from app.programme.models import ProgrammeSession


def guest_invitation_uid(guest: Guest, event: ProgrammeSession, domain: str) -> str:
    if guest.id is None or event.id is None:
        raise ValueError("the guest and the event need ids (flush them) before they can go into a calendar")
    return f"celebration-{event.id}-guest-{guest.id}@{domain}"


def build_guest_invitation(guest: Guest, event: ProgrammeSession, *, organizer: CalendarUser, domain: str,
                           now: datetime, cancelled: bool = False) -> bytes:
    if now.tzinfo is None:
        raise ValueError("now must be timezone-aware")
    calendar = Calendar()
    calendar.add("prodid", PRODID)
    calendar.add("version", "2.0")
    calendar.add("calscale", "GREGORIAN")
    calendar.add("method", "CANCEL" if cancelled else "REQUEST")
    entry = Event()
    entry.add("uid", guest_invitation_uid(guest, event, domain))
    entry.add("dtstamp", now.astimezone(UTC))
    entry.add("dtstart", event.starts_at.astimezone(UTC))
    entry.add("dtend", event.ends_at.astimezone(UTC))
    entry.add("summary", _text(event.title))
    if event.venue:
        entry.add("location", _text(event.venue))
    entry.add("sequence", event.sequence or 0)
    entry.add("status", "CANCELLED" if cancelled else "CONFIRMED")
    entry.add("organizer", _address(organizer))
    entry.add("attendee", _address(CalendarUser(guest.email, guest.name), role="REQ-PARTICIPANT",
                                   partstat="NEEDS-ACTION", rsvp=False))
    calendar.add_component(entry)
    return calendar.to_ical()


def _text(value: str) -> str:
    """One newline style and no control characters but newline (icalendar escapes the rest)."""
    value = (value or "").replace("\r\n", "\n").replace("\r", "\n")
    return "".join(c for c in value if c == "\n" or c == "\t" or (ord(c) >= 32 and ord(c) != 127))


def _address(user: CalendarUser, **params) -> vCalAddress:
    email = user.email.strip()
    if not email or any(c in email for c in " <>,;:\"\r\n") or email.count("@") != 1:
        raise ValueError(f"not a plain email address: {user.email!r}")
    # No double quote can go into a parameter value (RFC 5545 3.2).
    common_name = " ".join(_text(user.name).replace('"', "'").split())
    return vCalAddress.new(email, cn=common_name or None, **params)
