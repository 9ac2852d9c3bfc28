"""ICS files for sessions: read back by two independent parsers (icalendar and vobject)."""

from __future__ import annotations

from datetime import UTC, date, datetime, time

import pytest
import vobject
from icalendar import Calendar

from app import clock
from app.programme import services as programme
from app.programme.calendar import (
    PRODID,
    CalendarUser,
    build_calendar,
    build_invitation,
    session_ics_filename,
    session_uid,
)
from app.programme.models import ProgrammeSession, SessionKind
from tests.factories import make_cohort, make_session, make_team

DOMAIN = "convene.example.org"
BASE_URL = "https://convene.example.org"


def _build(sessions, **kwargs) -> bytes:
    kwargs.setdefault("now", clock.now())
    return build_calendar(sessions, name="Cohort 7 sessions", domain=DOMAIN, base_url=BASE_URL, **kwargs)


def _parse(ics: bytes):
    """The same bytes through both parsers: (icalendar Calendar, its VEVENTs, vobject calendar)."""
    calendar = Calendar.from_ical(ics)
    return calendar, calendar.walk("VEVENT"), vobject.readOne(ics.decode("utf-8"))


def ics_text(*sessions) -> str:
    """The calendar as one string, its folded lines joined back up."""
    return _build(sessions).decode().replace("\r\n ", "")


def _by_uid(events) -> dict:
    return {str(event["UID"]): event for event in events}


def test_template_cohort_gives_one_event_per_session(frozen_now):
    cohort = make_cohort()
    assert len(cohort.sessions) == 21

    ics = _build(cohort.sessions)
    calendar, events, parsed = _parse(ics)

    assert len(events) == 21
    assert len(parsed.vevent_list) == 21
    assert str(calendar["PRODID"]) == PRODID == parsed.prodid.value
    assert str(calendar["VERSION"]) == "2.0"
    assert str(calendar["CALSCALE"]) == "GREGORIAN"
    assert str(calendar["METHOD"]) == "PUBLISH"
    assert parsed.x_wr_calname.value == "Cohort 7 sessions"
    assert parsed.x_wr_timezone.value == "Europe/London"
    # Every session keeps its London wall time and its instant, whichever side of a clock change.
    by_uid = {event.uid.value: event for event in parsed.vevent_list}
    for session in cohort.sessions:
        event = by_uid[session_uid(session, DOMAIN)]
        local = clock.to_local(session.starts_at)
        assert event.dtstart.value.replace(tzinfo=None) == local.replace(tzinfo=None)
        assert event.dtstart.value == session.starts_at
        assert event.dtend.value == session.ends_at
        assert event.summary.value == session.title
        assert event.url.value == f"{BASE_URL}/sessions/{session.id}"
        assert event.dtstamp.value == datetime(2026, 11, 23, 10, 0, tzinfo=UTC)
        assert event.status.value == "CONFIRMED"
    assert ics.count(b"\r\n") == ics.count(b"\n"), "every line ends in CRLF"


def test_uids_are_unique_and_stable_across_builds(frozen_now):
    cohort = make_cohort()
    first = [str(e["UID"]) for e in _parse(_build(cohort.sessions))[1]]
    # A later build (another day, another order) names the same events the same way.
    frozen_now.shift(86400)
    second = [str(e["UID"]) for e in _parse(_build(reversed(cohort.sessions)))[1]]

    assert len(set(first)) == 21
    assert sorted(first) == sorted(second)
    assert set(first) == {f"session-{s.id}@{DOMAIN}" for s in cohort.sessions}


def test_clock_change_keeps_the_london_wall_time(frozen_now):
    cohort = make_cohort()
    winter = make_session(cohort, starts_at=datetime(2027, 3, 25, 9, 30, tzinfo=UTC), title="Before the change")
    summer = make_session(cohort, starts_at=datetime(2027, 4, 1, 8, 30, tzinfo=UTC), title="After the change")
    assert winter.starts_at == clock.local_instant(date(2027, 3, 25), time(9, 30))
    assert summer.starts_at == clock.local_instant(date(2027, 4, 1), time(9, 30))

    ics = _build([winter, summer])
    _, events, parsed = _parse(ics)

    assert b"DTSTART;TZID=Europe/London:20270325T093000" in ics
    assert b"DTSTART;TZID=Europe/London:20270401T093000" in ics
    by_uid = _by_uid(events)
    for session, offset_hours in ((winter, 0), (summer, 1)):
        event = by_uid[session_uid(session, DOMAIN)]
        start = event.decoded("DTSTART")
        assert event["DTSTART"].params["TZID"] == "Europe/London"
        assert (start.hour, start.minute) == (9, 30)
        assert start.utcoffset().total_seconds() == offset_hours * 3600
        assert start == session.starts_at
    vobject_starts = {e.uid.value: e.dtstart.value for e in parsed.vevent_list}
    winter_start = vobject_starts[session_uid(winter, DOMAIN)]
    summer_start = vobject_starts[session_uid(summer, DOMAIN)]
    assert (winter_start.hour, winter_start.minute) == (summer_start.hour, summer_start.minute) == (9, 30)
    assert winter_start.astimezone(UTC).hour == 9
    assert summer_start.astimezone(UTC).hour == 8


def test_vtimezone_is_europe_london_and_covers_only_the_sessions_dates(frozen_now):
    cohort = make_cohort()
    calendar, _, parsed = _parse(_build(cohort.sessions))

    timezones = calendar.walk("VTIMEZONE")
    assert [str(tz["TZID"]) for tz in timezones] == ["Europe/London"]
    observances = timezones[0].subcomponents
    assert {o.name for o in observances} == {"STANDARD", "DAYLIGHT"}
    assert {str(o["TZNAME"]) for o in observances} == {"GMT", "BST"}
    # A year of sessions needs the autumn and spring changes, not decades of history.
    first_day = clock.to_local(min(s.starts_at for s in cohort.sessions)).date()
    assert len(observances) <= 4
    assert all(o.decoded("DTSTART").date() >= first_day for o in observances)
    assert parsed.vtimezone.tzid.value == "Europe/London"
    assert calendar.get_missing_tzids() == set()


def test_winter_only_calendar_has_just_gmt(frozen_now):
    cohort = make_cohort()
    december = make_session(cohort, starts_at=datetime(2026, 12, 7, 13, 0, tzinfo=UTC))
    calendar, _, _ = _parse(_build([december]))

    (timezone,) = calendar.walk("VTIMEZONE")
    assert [o.name for o in timezone.subcomponents] == ["STANDARD"]


def test_sequence_and_cancellation(frozen_now):
    team = make_team()
    cohort = make_cohort(actor=team)
    changed, cancelled = cohort.sessions[1], cohort.sessions[-2]  # only a session still to come is cancelled
    changed.sequence = 3
    programme.cancel_session(actor=team, session=cancelled)
    assert cancelled.sequence == 1

    _, events, parsed = _parse(_build(cohort.sessions))

    by_uid = _by_uid(events)
    assert by_uid[session_uid(changed, DOMAIN)].decoded("SEQUENCE") == 3
    assert str(by_uid[session_uid(changed, DOMAIN)]["STATUS"]) == "CONFIRMED"
    gone = by_uid[session_uid(cancelled, DOMAIN)]
    assert gone.decoded("SEQUENCE") == 1
    assert str(gone["STATUS"]) == "CANCELLED"
    assert str(gone["SUMMARY"]) == f"Cancelled: {cancelled.title}"
    vobject_gone = next(e for e in parsed.vevent_list if e.uid.value == session_uid(cancelled, DOMAIN))
    assert vobject_gone.status.value == "CANCELLED"
    assert vobject_gone.sequence.value == "1"
    assert len(events) == 21, "a cancelled session stays in the feed so calendars remove it"


def test_cancelled_virtual_session_drops_its_join_link(frozen_now):
    team = make_team()
    cohort = make_cohort(actor=team)
    session = make_session(cohort, starts_at=datetime(2027, 1, 12, 13, 0, tzinfo=UTC),
                           join_url="https://video.example.org/cancelled-room")
    programme.cancel_session(actor=team, session=session)

    _, events, _ = _parse(_build([session]))

    assert "cancelled-room" not in str(events[0]["DESCRIPTION"])
    assert "Join link" not in str(events[0]["DESCRIPTION"])


@pytest.mark.parametrize("line_break", ["\r\n", "\n", "\r"])
def test_text_cannot_inject_properties(frozen_now, line_break):
    cohort = make_cohort()
    title = f"Module{line_break}ATTENDEE:mailto:x@evil.example"
    session = make_session(cohort, starts_at=datetime(2027, 1, 12, 13, 0, tzinfo=UTC), title=title)
    session.venue = f"Room 1{line_break}END:VEVENT{line_break}BEGIN:VEVENT"
    session.access_info = f"Lift{line_break}ORGANIZER:mailto:x@evil.example"

    ics = _build([session])
    calendar, events, parsed = _parse(ics)

    lines = ics.decode().split("\r\n")
    assert not any(line.upper().startswith(("ATTENDEE", "ORGANIZER")) for line in lines)
    assert lines.count("BEGIN:VEVENT") == 1
    assert len(events) == 1 and len(parsed.vevent_list) == 1
    (event,) = events
    assert "ATTENDEE" not in event and "ORGANIZER" not in event
    assert "attendee" not in parsed.vevent.contents and "organizer" not in parsed.vevent.contents
    # The text survives, with its line break as a plain newline.
    expected = "Module\nATTENDEE:mailto:x@evil.example"
    assert str(event["SUMMARY"]) == expected == parsed.vevent.summary.value
    assert str(event["LOCATION"]) == "Room 1\nEND:VEVENT\nBEGIN:VEVENT" == parsed.vevent.location.value
    assert "Lift\nORGANIZER:mailto:x@evil.example" in parsed.vevent.description.value


def test_commas_semicolons_and_backslashes_round_trip(frozen_now):
    cohort = make_cohort()
    title = 'Clinic, part 1; "values" \\ tools'
    session = make_session(cohort, starts_at=datetime(2027, 1, 12, 13, 0, tzinfo=UTC), title=title + "\x07\x0b")

    ics = _build([session])
    _, events, parsed = _parse(ics)

    assert b"SUMMARY:Clinic\\, part 1\\; \"values\" \\\\ tools\r\n" in ics
    assert str(events[0]["SUMMARY"]) == title == parsed.vevent.summary.value


def test_join_link_and_location(frozen_now):
    cohort = make_cohort()
    virtual = make_session(cohort, starts_at=datetime(2027, 1, 12, 13, 0, tzinfo=UTC),
                           join_url="https://video.example.org/room-42")
    in_person = make_session(cohort, starts_at=datetime(2027, 1, 19, 10, 0, tzinfo=UTC), join_url="",
                             kind=SessionKind.CELEBRATION, title="Celebration")
    in_person.venue = "Town Hall, Leeds"
    in_person.access_info = "Step-free entrance on Park Row."

    _, events, parsed = _parse(_build([virtual, in_person]))

    by_uid = {e.uid.value: e for e in parsed.vevent_list}
    online = by_uid[session_uid(virtual, DOMAIN)]
    # The session page shows the join link only from 30 minutes before: a calendar, filled months
    # ahead, says where to find it instead of holding it.
    assert "room-42" not in ics_text(virtual, in_person)
    assert "Join link: on the session page, from 30 minutes before the start." in online.description.value
    assert online.description.value.startswith("Drop-in clinic")
    assert f"{BASE_URL}/sessions/{virtual.id}" in online.description.value
    assert online.location.value == "Online"
    venue = by_uid[session_uid(in_person, DOMAIN)]
    assert venue.location.value == "Town Hall, Leeds"
    assert "Step-free entrance on Park Row." in venue.description.value
    assert "Join link" not in venue.description.value
    assert venue.description.value.startswith("Celebration event")
    assert "video.example.org" not in venue.description.value
    assert str(_by_uid(events)[session_uid(in_person, DOMAIN)]["LOCATION"]) == "Town Hall, Leeds"


def test_method_and_an_empty_feed(frozen_now):
    calendar, events, parsed = _parse(_build([], method="CANCEL"))

    assert str(calendar["METHOD"]) == "CANCEL" == parsed.method.value
    assert events == []
    assert [str(tz["TZID"]) for tz in calendar.walk("VTIMEZONE")] == ["Europe/London"]
    with pytest.raises(ValueError):
        _build([], method="PUBLISH\r\nX-EVIL:1")
    with pytest.raises(ValueError):
        _build([], now=datetime(2026, 11, 23, 10, 0))


def test_uid_needs_a_saved_session():
    with pytest.raises(ValueError):
        session_uid(ProgrammeSession(title="Not flushed yet"), DOMAIN)


def test_filename_is_a_safe_ascii_slug(frozen_now):
    cohort = make_cohort()
    session = make_session(cohort, starts_at=datetime(2027, 4, 1, 23, 30, tzinfo=UTC),
                           title='Café: "Leading" / ../../etc\r\npasswd')
    untitled = make_session(cohort, starts_at=datetime(2027, 1, 12, 13, 0, tzinfo=UTC), title="   ")

    # 23:30 UTC on 1 April is 00:30 on 2 April in London: the file is named by the local day.
    assert session_ics_filename(session) == "2027-04-02-cafe-leading-etc-passwd.ics"
    assert session_ics_filename(untitled) == "2027-01-12-session.ics"
    assert session_ics_filename(cohort.sessions[0]).isascii()


def test_an_invitation_is_a_request_or_a_cancel_for_one_session(frozen_now):
    team = make_team()
    cohort = make_cohort(actor=team)
    session = make_session(cohort, starts_at=datetime(2027, 1, 12, 13, 0, tzinfo=UTC))
    organizer = CalendarUser("no-reply@convene.example.org", "Leadership Programme")
    attendee = CalendarUser("ada@example.org", "Ada")

    def invite():
        return build_invitation(session, organizer=organizer, attendee=attendee, name="Cohort 7", domain=DOMAIN,
                                base_url=BASE_URL, now=clock.now())

    calendar, events, parsed = _parse(invite())
    assert str(calendar["METHOD"]) == "REQUEST" == parsed.method.value
    assert [str(e["UID"]) for e in events] == [session_uid(session, DOMAIN)]
    assert str(events[0]["ORGANIZER"]) == "mailto:no-reply@convene.example.org"
    assert parsed.vevent.attendee.params["RSVP"] == ["FALSE"]
    programme.postpone_session(actor=team, session=session, reason="Snow", now=clock.now())
    calendar, events, parsed = _parse(invite())
    assert str(calendar["METHOD"]) == "CANCEL" and str(events[0]["STATUS"]) == "CANCELLED"
    assert events[0].decoded("SEQUENCE") == 1 == int(parsed.vevent.sequence.value)
    for bad in ("", "two@at@example.org", "x@example.org\r\nATTENDEE:mailto:y@example.org", "a b@example.org"):
        with pytest.raises(ValueError):
            build_invitation(session, organizer=organizer, attendee=CalendarUser(bad, "X"), name="Cohort 7",
                             domain=DOMAIN, base_url=BASE_URL, now=clock.now())
