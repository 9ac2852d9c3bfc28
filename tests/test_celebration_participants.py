"""Participants' own answers for the celebration, the venue's headcount, and the calendar invitation guests get."""

from __future__ import annotations

import csv
import io
from datetime import UTC, timedelta

import flask_migrate
import pytest
from icalendar import Calendar
from sqlalchemy import inspect, select

from app import clock, create_app
from app.celebration import participants, services
from app.celebration.invitation_calendar import guest_invitation_uid
from app.celebration.models import CelebrationParticipant
from app.db import db
from app.errors import Conflict, DomainError, PermissionDenied
from app.notifications.models import OutboxMessage
from app.urls import site_domain
from tests.conftest import csrf_token
from tests.factories import make_cohort, make_participant, make_team
from tests.test_celebration import invite, token_for

PAGE = "/cohorts/{}/celebration"


def answer(person, cohort, coming, access="", dietary=""):
    return participants.answer_celebration(actor=person, cohort=cohort, coming=coming, access_needs=access,
                                           dietary_needs=dietary, now=clock.now())


def post_answer(client, cohort, **data):
    token = csrf_token(client, PAGE.format(cohort.id))
    return client.post(f"/cohorts/{cohort.id}/celebration/my-answer", data={"csrf_token": token, **data},
                       follow_redirects=True)


def test_a_participant_answers_says_no_keeping_needs_and_changes_back(client, login_as, frozen_now):
    cohort = make_cohort()
    person = make_participant(cohort, name="Pat Participant")
    login_as(person)
    page = client.get(PAGE.format(cohort.id)).get_data(as_text=True)
    assert "Will you come to the celebration?" in page
    done = post_answer(client, cohort, coming="yes", access_needs="Step-free access", dietary_needs="Vegan")
    assert "we have you down as coming" in done.get_data(as_text=True)
    mine = participants.my_answer(person, cohort)
    assert (mine.is_coming, mine.access_needs, mine.dietary_needs) == (True, "Step-free access", "Vegan")
    post_answer(client, cohort, coming="no", access_needs="Step-free access", dietary_needs="Vegan")
    db.session.expire_all()
    mine = participants.my_answer(person, cohort)
    assert (mine.is_coming, mine.access_needs, mine.dietary_needs) == (False, "Step-free access", "Vegan")
    page = client.get(PAGE.format(cohort.id)).get_data(as_text=True)
    assert "Step-free access" in page and "Not coming" in page  # kept, so saying yes again needs no retyping
    post_answer(client, cohort, coming="yes", access_needs="Step-free access", dietary_needs="Vegan")
    db.session.expire_all()
    assert participants.my_answer(person, cohort).is_coming is True
    assert db.session.scalar(select(db.func.count()).select_from(CelebrationParticipant)) == 1  # one row per person


def test_an_answer_without_a_choice_is_refused_on_the_page_keeping_what_was_typed(client, login_as, frozen_now):
    cohort = make_cohort()
    login_as(make_participant(cohort))
    page = post_answer(client, cohort, access_needs="Hearing loop")
    text = page.get_data(as_text=True)
    assert page.status_code == 200 and "Choose whether you will come." in text and "Hearing loop" in text
    assert 'href="#my-coming"' in text
    assert db.session.scalar(select(CelebrationParticipant.id)) is None


def test_answers_are_refused_once_the_event_has_started(client, login_as, frozen_now):
    cohort = make_cohort()
    person = make_participant(cohort)
    answer(person, cohort, "yes")
    event = services.celebration_session(cohort.id)
    frozen_now.move_to(event.starts_at + timedelta(minutes=1))
    with pytest.raises(Conflict, match="has started"):
        answer(person, cohort, "no")
    login_as(person)
    page = client.get(PAGE.format(cohort.id)).get_data(as_text=True)
    assert "answers can no longer be changed" in page and 'name="coming"' not in page
    refused = post_answer(client, cohort, coming="no")
    assert "has started" in refused.get_data(as_text=True)
    db.session.expire_all()
    assert participants.my_answer(person, cohort).is_coming is True


def test_only_participants_answer_and_only_yes_or_no(frozen_now):
    cohort = make_cohort()
    with pytest.raises(PermissionDenied):
        answer(make_team(), cohort, "yes")
    with pytest.raises(PermissionDenied):
        answer(make_participant(make_cohort()), cohort, "yes")  # someone else's cohort
    with pytest.raises(DomainError, match="Choose whether"):
        answer(make_participant(cohort), cohort, "maybe")


def _cohort_with_answers():
    cohort = make_cohort()
    already = len(participants.participant_answers(cohort))
    coming = make_participant(cohort, name="Ada Coming")
    answer(coming, cohort, "yes", access="Wheelchair user", dietary="Halal")
    also = make_participant(cohort, name="Ben Coming")
    answer(also, cohort, "yes")
    declined = make_participant(cohort, name="Cy Declined")
    answer(declined, cohort, "no", access="Secret need kept for later", dietary="Kept diet")
    make_participant(cohort, name="Di Silent")
    yes_guest = invite(cohort, coming, name="Guest Yes", email="guest.yes@example.org")
    services.answer_rsvp(token=token_for(yes_guest), coming=True, access_needs="", dietary_needs="Gluten free",
                         now=clock.now())
    no_guest = invite(cohort, coming, name="Guest No", email="guest.no@example.org")
    services.answer_rsvp(token=token_for(no_guest), coming=False, access_needs="", dietary_needs="", now=clock.now())
    invite(cohort, also, name="Guest Pending", email="guest.pending@example.org")
    return cohort, already


def test_the_headcount_is_participants_coming_plus_guests_coming(frozen_now):
    cohort, already = _cohort_with_answers()
    rows = participants.participant_answers(cohort)
    count = participants.venue_headcount(rows, services.guests_of(cohort))
    assert (count.participants_coming, count.participants_not_coming, count.participants_not_answered) == \
        (2, 1, 1 + already)
    assert (count.guests_coming, count.guests_not_coming, count.guests_not_answered) == (1, 1, 1)
    assert count.coming == 3 and count.not_answered == 2 + already
    needs = {r.name: (r.answer, r.access_needs, r.dietary_needs) for r in rows}
    assert needs["Ada Coming"] == ("yes", "Wheelchair user", "Halal")
    assert needs["Cy Declined"] == ("no", "", "")  # kept in the row, not shown to the team
    assert needs["Di Silent"] == ("pending", "", "")


def test_the_team_sees_each_answer_needs_only_of_those_coming_and_the_headcount(client, login_as, frozen_now):
    cohort, already = _cohort_with_answers()
    login_as(make_team())
    page = client.get(PAGE.format(cohort.id)).get_data(as_text=True)
    assert "Headcount for the venue" in page
    assert "<strong>3 coming</strong>: 2 participants and 1 guest." in page
    assert f"Not answered yet: {2 + already}" in page
    assert "Ada Coming" in page and "Wheelchair user; Halal" in page and "Di Silent" in page
    assert "Secret need kept for later" not in page and "Kept diet" not in page


def test_participants_see_their_own_answer_not_others_or_the_headcount(client, login_as, frozen_now):
    cohort, _ = _cohort_with_answers()
    login_as(make_participant(cohort, name="Eve Nosy"))
    page = client.get(PAGE.format(cohort.id)).get_data(as_text=True)
    assert "Headcount for the venue" not in page and "Wheelchair user" not in page and "Ada Coming" not in page


def test_the_export_keeps_the_guest_columns_and_adds_participants_and_the_headcount(client, login_as, frozen_now):
    cohort, already = _cohort_with_answers()
    login_as(make_team())
    text = client.get(f"/cohorts/{cohort.id}/celebration/guests.csv").get_data(as_text=True).lstrip("\ufeff")
    reader = csv.DictReader(io.StringIO(text))
    assert reader.fieldnames[:8] == ["Name", "Email", "Relationship", "Invited by", "Invitation", "RSVP",
                                     "Access needs", "Dietary needs"]
    rows = list(reader)
    guests = [r for r in rows if r["Row"] == "Guest"]
    assert [r["Name"] for r in guests] == ["Guest No", "Guest Pending", "Guest Yes"]
    assert rows[: len(guests)] == guests  # guests first, as before
    people = {r["Name"]: r for r in rows if r["Row"] == "Participant"}
    assert (people["Ada Coming"]["RSVP"], people["Ada Coming"]["Access needs"]) == ("yes", "Wheelchair user")
    assert (people["Cy Declined"]["RSVP"], people["Cy Declined"]["Access needs"]) == ("no", "")
    assert people["Di Silent"]["RSVP"] == "pending"
    (total,) = [r for r in rows if r["Row"] == "Headcount"]
    assert total["Name"].startswith("Venue headcount: 3 coming (2 participants and 1 guest)")
    assert f"{2 + already} not answered" in total["Name"]
    assert "Secret need kept for later" not in text


def _ics_of(guest) -> tuple[Calendar, dict]:
    message = db.session.scalars(select(OutboxMessage).where(
        OutboxMessage.key.startswith(f"guest-invitation:{guest.id}:"))).one()
    (attachment,) = message.attachments
    return Calendar.from_ical(attachment["content"]), attachment


def test_a_guest_invitation_carries_a_calendar_request(app, frozen_now):
    cohort = make_cohort()
    event = services.celebration_session(cohort.id)
    event.venue = "Hall 1, Leeds"
    first = invite(cohort, name="First Guest", email="first@example.org")
    second = invite(cohort, name="Second Guest", email="second@example.org")
    calendar, attachment = _ics_of(first)
    assert attachment["content_type"].startswith("text/calendar; method=REQUEST")
    assert attachment["filename"].endswith(".ics")
    assert str(calendar["METHOD"]) == "REQUEST"
    (entry,) = calendar.walk("VEVENT")
    assert str(entry["UID"]) == guest_invitation_uid(first, event, site_domain())
    assert str(entry["UID"]) != str(next(iter(_ics_of(second)[0].walk("VEVENT")))["UID"])
    start, end = entry.decoded("DTSTART"), entry.decoded("DTEND")
    assert (start, end) == (event.starts_at, event.ends_at)
    assert start.utcoffset() == timedelta(0) and end.utcoffset() == timedelta(0)
    # Written in UTC (a "Z" time, no TZID), whatever the cohort's timezone.
    assert f"DTSTART:{event.starts_at.astimezone(UTC):%Y%m%dT%H%M%SZ}" in attachment["content"]
    assert f"DTEND:{event.ends_at.astimezone(UTC):%Y%m%dT%H%M%SZ}" in attachment["content"]
    assert "TZID" not in attachment["content"]
    assert str(entry["SUMMARY"]) == event.title and str(entry["LOCATION"]) == "Hall 1, Leeds"
    assert str(entry["ORGANIZER"]).lower() == f"mailto:{app.config['CONTACT_EMAIL']}".lower()
    assert str(entry["ATTENDEE"]).lower() == "mailto:first@example.org"


def test_the_calendar_has_no_location_when_the_event_has_no_venue(frozen_now):
    cohort = make_cohort()
    event = services.celebration_session(cohort.id)
    event.venue = ""
    guest = invite(cohort)
    (entry,) = _ics_of(guest)[0].walk("VEVENT")
    assert "LOCATION" not in entry
    # The same guest and event always give the same UID.
    assert str(entry["UID"]) == f"celebration-{event.id}-guest-{guest.id}@{site_domain()}"


def test_the_migration_adds_and_removes_the_table(app, scratch_database_url):
    migrated = create_app({**app.config, "SQLALCHEMY_DATABASE_URI": scratch_database_url})
    with migrated.app_context():
        try:
            flask_migrate.upgrade(revision="4c7e19a2b6f0")
            assert "celebration_participants" not in inspect(db.engine).get_table_names()
            flask_migrate.upgrade(revision="6a2d4f8b1c37")
            inspector = inspect(db.engine)
            assert "celebration_participants" in inspector.get_table_names()
            assert {c["name"] for c in inspector.get_columns("celebration_participants")} >= {
                "cohort_id", "enrolment_id", "is_coming", "access_needs", "dietary_needs", "responded_at"}
            flask_migrate.downgrade(revision="4c7e19a2b6f0")
            assert "celebration_participants" not in inspect(db.engine).get_table_names()
            flask_migrate.upgrade()
        finally:
            db.session.remove()
            db.engine.dispose()


def test_the_sent_invitation_email_has_the_calendar_as_a_text_calendar_part(frozen_now):
    from app.notifications.services import build_message

    cohort = make_cohort()
    guest = invite(cohort)
    row = db.session.scalars(select(OutboxMessage).where(
        OutboxMessage.key.startswith(f"guest-invitation:{guest.id}:"))).one()
    message = build_message(row, sender="Convene <no-reply@convene.test>", domain="convene.test")
    parts = [p for p in message.walk() if p.get_content_type() == "text/calendar"]
    assert len(parts) == 1 and parts[0].get_param("method") == "REQUEST"
    calendar = Calendar.from_ical(parts[0].get_payload(decode=True))
    assert str(calendar["METHOD"]) == "REQUEST"
