"""A community's meetings: planning and recording one, its register, and its calendar file.

Times are typed in UK time and stored in UTC (`clock.local_instant`); a meeting may have a day and
no time (those logged before times were recorded). Every change bumps `sequence`, so a calendar
that imported the .ics replaces its entry.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta

from icalendar import Calendar, Event
from sqlalchemy import func, select

from app import audit, clock
from app.communities.models import (
    MEETING_METHODS,
    Community,
    CommunityMeeting,
    MeetingAttendance,
    MeetingFormat,
    MeetingStatus,
    RegisterStatus,
)
from app.communities.services.access import check_manager
from app.db import db
from app.errors import DomainError, FieldErrors
from app.notifications.services import cancel_pending

MAX_GUESTS = 10_000


@dataclass
class MeetingDetails:
    meets_on: date | None = None
    starts: time | None = None
    ends: time | None = None
    format: str = ""
    location: str = ""
    agenda: str = ""
    methods: list[str] = field(default_factory=list)
    other_method: str = ""
    status: str = MeetingStatus.PLANNED.value
    notes: str = ""
    actions: str = ""


def chosen_methods(methods: list[str], other: str) -> list[str]:
    unknown = [m for m in methods if m not in MEETING_METHODS]
    if unknown:
        raise DomainError("Choose methods from the list, or write another under 'Other'.", field="methods")
    chosen = [m for m in MEETING_METHODS if m in methods]
    other = (other or "").strip()[:120]
    if other:
        chosen.append(other)
    return chosen


def _times(details: MeetingDetails) -> tuple[datetime | None, datetime | None]:
    errors = {}
    if details.meets_on is None:
        errors["meets_on"] = "Enter the date of the meeting, for example 14 3 2027."
    if details.ends is not None and details.starts is None:
        errors["starts"] = "Enter the start time as well as the end time."
    if errors:
        raise FieldErrors(errors)
    if details.starts is None:
        return None, None
    for name, at in (("starts", details.starts), ("ends", details.ends)):
        if at is not None and clock.wall_clock_problem(details.meets_on, at):
            raise DomainError("The clocks change at that time that day: choose another time.", field=name)
    starts_at = clock.local_instant(details.meets_on, details.starts)
    ends_at = clock.local_instant(details.meets_on, details.ends) if details.ends else None
    if ends_at is not None and ends_at <= starts_at:
        raise DomainError("The meeting must end after it starts.", field="ends")
    return starts_at, ends_at


def _check(details: MeetingDetails) -> None:
    if details.status not in {s.value for s in MeetingStatus}:
        raise DomainError("Choose the meeting's status.", field="status")
    if details.format and details.format not in {f.value for f in MeetingFormat}:
        raise DomainError("Choose online, in person or hybrid.", field="format")


def _apply(meeting: CommunityMeeting, details: MeetingDetails) -> None:
    _check(details)
    meeting.starts_at, meeting.ends_at = _times(details)
    meeting.meets_on = details.meets_on
    meeting.format = details.format or None
    meeting.location = details.location.strip()[:500]
    meeting.agenda = details.agenda.strip()[:4000]
    meeting.methods = chosen_methods(details.methods, details.other_method)
    meeting.status = details.status
    meeting.notes = details.notes.strip()[:4000]
    meeting.actions = details.actions.strip()[:4000]


def add_meeting(*, actor, community: Community, details: MeetingDetails, now: datetime) -> CommunityMeeting:
    check_manager(actor, community)
    meeting = CommunityMeeting(community_id=community.id, created_by_id=actor.id, guest_count=0, sequence=0)
    _apply(meeting, details)
    db.session.add(meeting)
    db.session.flush()
    audit.record(actor=actor, action="community_meeting_added", target_type="community_meeting",
                 target_id=meeting.id, now=now)
    return meeting


def update_meeting(*, actor, meeting: CommunityMeeting, details: MeetingDetails, now: datetime) -> CommunityMeeting:
    check_manager(actor, meeting.community)
    was = (meeting.starts_at, meeting.ends_at, meeting.status, meeting.location)
    _apply(meeting, details)
    meeting.sequence = (meeting.sequence or 0) + 1
    if (meeting.starts_at, meeting.ends_at, meeting.status, meeting.location) != was:
        # Reminders already written for the old time or status go; the next planning pass writes new ones.
        cancel_pending(f"community-meeting:{meeting.id}:")
    if meeting.status in (MeetingStatus.POSTPONED, MeetingStatus.CANCELLED):
        cancel_pending(f"community-feedback:{meeting.id}:")  # no feedback on a meeting that did not take place
    db.session.flush()
    audit.record(actor=actor, action="community_meeting_updated", target_type="community_meeting",
                 target_id=meeting.id, now=now, detail={"status": meeting.status})
    return meeting


def record_register(*, actor, meeting: CommunityMeeting, statuses: dict[int, str], guest_count: int | None,
                    now: datetime) -> CommunityMeeting:
    """Who of the community's people came (named), and how many others came (counted, not named)."""
    community = meeting.community
    check_manager(actor, community)
    if guest_count is None or guest_count < 0:
        raise DomainError("Enter how many others came as a whole number (0 if none).", field="guest_count")
    if guest_count > MAX_GUESTS:
        raise DomainError(f"Enter a number up to {MAX_GUESTS:,}.", field="guest_count")
    people = {m.user_id for m in community.memberships}
    allowed = {s.value for s in RegisterStatus}
    if any(user_id not in people or status not in allowed | {""} for user_id, status in statuses.items()):
        raise DomainError("Choose present, apologies or absent for people in this community.")
    today = clock.to_local(now).date()
    if meeting.meets_on > today and any(s == RegisterStatus.PRESENT for s in statuses.values()):
        raise DomainError("This meeting has not happened yet: only apologies can be recorded before it.")
    existing = {row.user_id: row for row in meeting.register}
    for user_id, status in statuses.items():
        row = existing.get(user_id)
        if not status:
            if row is not None:
                meeting.register.remove(row)
            continue
        if row is None:
            meeting.register.append(MeetingAttendance(user_id=user_id, status=status, recorded_at=now))
        elif row.status != status:
            row.status, row.recorded_at = status, now
    meeting.guest_count = guest_count
    if meeting.status == MeetingStatus.PLANNED and meeting.meets_on <= today and (
            guest_count or any(s == RegisterStatus.PRESENT for s in statuses.values())):
        meeting.status = MeetingStatus.HELD.value
    db.session.flush()
    audit.record(actor=actor, action="community_register_recorded", target_type="community_meeting",
                 target_id=meeting.id, now=now)
    return meeting


def delete_meeting(*, actor, meeting: CommunityMeeting, now: datetime) -> None:
    check_manager(actor, meeting.community)
    cancel_pending(f"community-meeting:{meeting.id}:")
    cancel_pending(f"community-feedback:{meeting.id}:")
    audit.record(actor=actor, action="community_meeting_deleted", target_type="community_meeting",
                 target_id=meeting.id, now=now)
    db.session.delete(meeting)
    db.session.flush()


@dataclass(frozen=True)
class MeetingFigures:
    meetings: int
    headcount: int
    last_met: date | None


def figures_by_community(community_ids: list[int]) -> dict[int, MeetingFigures]:
    """Held meetings, everyone who came (named present plus counted) and the last meeting day: two queries."""
    if not community_ids:
        return {}
    held = CommunityMeeting.status == MeetingStatus.HELD.value
    rows = db.session.execute(select(CommunityMeeting.community_id, func.count(), func.sum(CommunityMeeting.guest_count),
                                     func.max(CommunityMeeting.meets_on))
                              .where(CommunityMeeting.community_id.in_(community_ids), held)
                              .group_by(CommunityMeeting.community_id)).all()
    present = dict(db.session.execute(
        select(CommunityMeeting.community_id, func.count()).join(MeetingAttendance)
        .where(CommunityMeeting.community_id.in_(community_ids), held,
               MeetingAttendance.status == RegisterStatus.PRESENT.value)
        .group_by(CommunityMeeting.community_id)).all())
    return {cid: MeetingFigures(count, (guests or 0) + present.get(cid, 0), last) for cid, count, guests, last in rows}


# -- calendar ---------------------------------------------------------------------------------

PRODID = "-//Convene//Community meetings//EN"


def _text(value: str) -> str:
    value = (value or "").replace("\r\n", "\n").replace("\r", "\n")
    return "".join(c for c in value if c in "\n\t" or (ord(c) >= 32 and ord(c) != 127))


def meeting_calendar(meeting: CommunityMeeting, *, domain: str, now: datetime) -> bytes:
    """An .ics file for one meeting (times in UTC; a meeting without a time is an all-day entry)."""
    calendar = Calendar()
    calendar.add("prodid", PRODID)
    calendar.add("version", "2.0")
    calendar.add("calscale", "GREGORIAN")
    calendar.add("method", "PUBLISH")
    entry = Event()
    entry.add("uid", f"community-meeting-{meeting.id}@{domain}")
    entry.add("dtstamp", now.astimezone(UTC))
    if meeting.starts_at is not None:
        entry.add("dtstart", meeting.starts_at.astimezone(UTC))
        entry.add("dtend", (meeting.ends_at or meeting.starts_at + timedelta(hours=1)).astimezone(UTC))
    else:
        entry.add("dtstart", meeting.meets_on)
        entry.add("dtend", meeting.meets_on + timedelta(days=1))
    entry.add("summary", _text(f"{meeting.community.name}: community meeting"))
    if meeting.location:
        entry.add("location", _text(meeting.location))
    if meeting.agenda:
        entry.add("description", _text(meeting.agenda))
    entry.add("sequence", meeting.sequence or 0)
    entry.add("status", "CANCELLED" if meeting.status == MeetingStatus.CANCELLED else "CONFIRMED")
    calendar.add_component(entry)
    return calendar.to_ical()
