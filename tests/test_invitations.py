"""Emailed calendar invitations (iTIP, RFC 5546) that update the entry people already have, one email
per change, and the facilitators of sessions: read back by two independent parsers (icalendar, vobject)."""

from __future__ import annotations

import email
import re
from datetime import UTC, date, datetime, time, timedelta
from email import policy

import pytest
import vobject
from icalendar import Calendar
from sqlalchemy import select

from app import clock
from app.audit import AuditEvent
from app.db import db
from app.errors import DomainError, PermissionDenied
from app.notifications.models import OutboxMessage
from app.notifications.services import send_due
from app.programme import services
from app.programme.calendar import calendar_content_type, session_uid
from app.programme.change_notices import SessionNotice, notify_sessions_changed, one_email_per_person
from app.programme.facilitators import assign_facilitators, sessions_for_facilitator
from app.programme.services import SessionDetails
from app.urls import site_domain
from tests.conftest import csrf_token
from tests.factories import make_cohort, make_facilitator, make_participant, make_session, make_team

ORGANIZER = "mailto:no-reply@convene.example"  # MAIL_FROM's address in the test configuration


def emails_to(address: str) -> list[OutboxMessage]:
    return list(db.session.scalars(select(OutboxMessage).where(OutboxMessage.recipient == address,
                                                               OutboxMessage.category == "schedule")
                                   .order_by(OutboxMessage.id)))


def invitation(message: OutboxMessage, index: int = 0):
    """An attachment through both parsers: (its content type, icalendar Calendar, its VEVENT, vobject calendar)."""
    attachment = message.attachments[index]
    text = attachment["content"]
    calendar = Calendar.from_ical(text)
    (event,) = calendar.walk("VEVENT")
    return attachment["content_type"], calendar, event, vobject.readOne(text)


def future_clinic(cohort):
    return next(s for s in cohort.sessions if s.kind == "drop_in" and s.starts_at > clock.now())


def _move(session, day, team):
    local = clock.to_local(session.starts_at)
    return services.update_session(actor=team, session=session, now=clock.now(), details=SessionDetails(
        title=session.title, kind=session.kind, day=day, starts=local.time(),
        ends=clock.to_local(session.ends_at).time(), module_number=session.module.number if session.module else None,
        part=session.part, join_url=session.join_url))


def test_a_move_sends_a_request_naming_the_organizer_and_the_recipient(app, frozen_now):
    cohort = make_cohort()
    team = make_team()
    person = make_participant(cohort, name="Ada Lovelace")
    other = make_participant(cohort)
    session = future_clinic(cohort)
    assert _move(session, date(2027, 3, 2), team)

    [message] = emails_to(person.email)
    content_type, calendar, event, parsed = invitation(message)
    assert content_type == "text/calendar; method=REQUEST; charset=UTF-8" == calendar_content_type("REQUEST")
    assert str(calendar["METHOD"]) == "REQUEST" == parsed.method.value
    # The same UID as the feed and the download, so the entry is updated, not duplicated.
    assert str(event["UID"]) == session_uid(session, "convene.test") == parsed.vevent.uid.value
    assert event.decoded("SEQUENCE") == session.sequence == 1 == int(parsed.vevent.sequence.value)
    assert event.decoded("DTSTAMP") == clock.now() == parsed.vevent.dtstamp.value
    assert event.decoded("DTSTART") == session.starts_at and event.decoded("DTSTART").date() == date(2027, 3, 2)
    assert str(event["STATUS"]) == "CONFIRMED"

    organizer = event["ORGANIZER"]
    assert str(organizer) == ORGANIZER == parsed.vevent.organizer.value
    assert organizer.params["CN"] == app.config["PROGRAMME_NAME"] == parsed.vevent.organizer.params["CN"][0]
    (attendee,) = [event["ATTENDEE"]]  # exactly one: the recipient, nobody else's address
    assert str(attendee) == f"mailto:{person.email}" == parsed.vevent.attendee.value
    assert dict(attendee.params) == {"CN": "Ada Lovelace", "ROLE": "REQ-PARTICIPANT", "PARTSTAT": "NEEDS-ACTION",
                                     "RSVP": "FALSE"}
    assert {k: v[0] for k, v in parsed.vevent.attendee.params.items()} == dict(attendee.params)
    assert len(parsed.vevent.contents["attendee"]) == 1
    assert other.email not in message.attachments[0]["content"]


def test_postpone_new_date_cancel_and_reinstate_keep_one_entry_up_to_date(frozen_now):
    cohort = make_cohort()
    team = make_team()
    person = make_participant(cohort)
    session = future_clinic(cohort)
    old_start = session.starts_at
    now = clock.now()

    services.postpone_session(actor=team, session=session, reason="The facilitator is ill", now=now)
    frozen_now.shift(3600)
    services.set_new_date(actor=team, session=session, day=date(2027, 3, 3), starts=time(14, 0), ends=time(15, 0),
                          now=clock.now())
    frozen_now.shift(3600)
    services.cancel_session(actor=team, session=session, now=clock.now())
    frozen_now.shift(3600)
    services.reinstate_session(actor=team, session=session, now=clock.now())

    messages = emails_to(person.email)
    assert [m.subject for m in messages] == [f"{session.title} has been postponed", f"{session.title} has been changed",
                                             f"{session.title} has been cancelled", f"{session.title} is back on"]
    assert "is back on: it goes ahead as planned" in messages[-1].body_text
    seen = [invitation(m) for m in messages]
    assert [content_type for content_type, *_ in seen] == [calendar_content_type(m) for m in
                                                           ("CANCEL", "REQUEST", "CANCEL", "REQUEST")]
    assert [str(calendar["METHOD"]) for _, calendar, _, _ in seen] == ["CANCEL", "REQUEST", "CANCEL", "REQUEST"]
    assert [parsed.method.value for *_, parsed in seen] == ["CANCEL", "REQUEST", "CANCEL", "REQUEST"]
    # One UID throughout; each message newer than the last, so calendars apply them in turn.
    assert {str(event["UID"]) for _, _, event, _ in seen} == {session_uid(session, site_domain())}
    assert [event.decoded("SEQUENCE") for _, _, event, _ in seen] == [1, 2, 3, 4]
    assert [int(parsed.vevent.sequence.value) for *_, parsed in seen] == [1, 2, 3, 4]
    postponed, dated, cancelled, reinstated = (event for _, _, event, _ in seen)
    # A CANCEL cancels the whole event (RFC 5546 3.2.5) and still names organizer and attendee.
    for event in (postponed, cancelled):
        assert str(event["STATUS"]) == "CANCELLED"
        assert str(event["ORGANIZER"]) == ORGANIZER and str(event["ATTENDEE"]) == f"mailto:{person.email}"
    assert postponed.decoded("DTSTART") == old_start and str(postponed["SUMMARY"]).startswith("Postponed: ")
    assert seen[0][3].vevent.status.value == "CANCELLED"
    assert dated.decoded("DTSTART") == datetime(2027, 3, 3, 14, 0, tzinfo=UTC)
    assert str(dated["STATUS"]) == str(reinstated["STATUS"]) == "CONFIRMED"
    assert "The facilitator is ill" in messages[0].body_text and "new date is to be confirmed" in messages[0].body_text


def test_a_session_already_over_sends_no_invitation(frozen_now):
    cohort = make_cohort()
    person = make_participant(cohort)
    past = next(s for s in cohort.sessions if s.ends_at < clock.now())
    assert notify_sessions_changed([SessionNotice(past, past.starts_at)], now=clock.now()) == 0
    assert emails_to(person.email) == []


def test_names_cannot_break_out_of_their_parameter(frozen_now):
    cohort = make_cohort()
    person = make_participant(cohort, name='Jo "JJ" Bloggs\r\nATTENDEE:mailto:evil@example.org;x')
    services.cancel_session(actor=make_team(), session=future_clinic(cohort), now=clock.now())

    [message] = emails_to(person.email)
    _, _, event, parsed = invitation(message)
    lines = message.attachments[0]["content"].replace("\r\n ", "").split("\r\n")
    assert [line for line in lines if line.startswith("ATTENDEE")] == [
        f'ATTENDEE;CN="Jo \'JJ\' Bloggs ATTENDEE:mailto:evil@example.org;x";PARTSTAT=NEEDS-ACTION;'
        f"ROLE=REQ-PARTICIPANT;RSVP=FALSE:mailto:{person.email}"]
    assert str(event["ATTENDEE"]) == f"mailto:{person.email}" == parsed.vevent.attendee.value
    assert "evil" not in parsed.vevent.attendee.value


def test_a_module_moved_in_one_block_is_one_email_per_person_with_both_days(frozen_now):
    cohort = make_cohort()
    team = make_team()
    people = [make_participant(cohort) for _ in range(2)]
    module = cohort.modules[2]
    with one_email_per_person(now=clock.now()):
        moved = services.reschedule_module(actor=team, module=module, first_day=date(2027, 1, 29), now=clock.now())
    assert len(moved) == 2
    _check_one_email_with_both_days(people, module)


def test_rescheduling_a_module_sends_one_email_per_person(frozen_now):
    cohort = make_cohort()
    people = [make_participant(cohort) for _ in range(2)]
    module = cohort.modules[2]
    services.reschedule_module(actor=make_team(), module=module, first_day=date(2027, 1, 29), now=clock.now())
    _check_one_email_with_both_days(people, module)


def _check_one_email_with_both_days(people, module) -> None:
    day_1, day_2 = sorted(module.sessions, key=lambda s: s.part)
    for person in people:
        [message] = emails_to(person.email)
        assert message.subject == f"{day_1.title} and {day_2.title} have changed"
        assert message.key == f"session-changed:{day_1.id}:1+{day_2.id}:1:{person.id}"
        assert message.body_text.count("has changed") == 2
        # RFC 5546: every component of a REQUEST shares one UID, so each day is its own invitation.
        invitations = [invitation(message, i) for i in range(2)]
        assert [str(event["UID"]) for _, _, event, _ in invitations] == [
            session_uid(day_1, site_domain()), session_uid(day_2, site_domain())]
        assert [parsed.method.value for *_, parsed in invitations] == ["REQUEST", "REQUEST"]
        assert [event.decoded("DTSTART").date() for _, _, event, _ in invitations] == [date(2027, 1, 29),
                                                                                       date(2027, 2, 1)]
        assert [event.decoded("SEQUENCE") for _, _, event, _ in invitations] == [1, 1]


def test_a_nested_block_leaves_the_sending_to_the_outer_one_and_an_error_sends_nothing(frozen_now):
    cohort = make_cohort()
    team = make_team()
    person = make_participant(cohort)
    first, second = [s for s in cohort.sessions if s.kind == "drop_in" and s.starts_at > clock.now()][:2]
    with one_email_per_person(now=clock.now()):
        with one_email_per_person(now=clock.now()):
            services.cancel_session(actor=team, session=first, now=clock.now())
        assert emails_to(person.email) == []
        services.cancel_session(actor=team, session=second, now=clock.now())
    [message] = emails_to(person.email)
    assert len(message.attachments) == 2

    with pytest.raises(RuntimeError), one_email_per_person(now=clock.now()):
        services.reinstate_session(actor=team, session=first, now=clock.now())
        raise RuntimeError("the change failed")
    assert len(emails_to(person.email)) == 1


def test_the_sent_email_says_the_method_in_its_content_type(mailbox, frozen_now):
    cohort = make_cohort()
    make_participant(cohort)
    services.cancel_session(actor=make_team(), session=future_clinic(cohort), now=clock.now())
    db.session.commit()
    send_due(clock.now())
    received = email.message_from_bytes(bytes(mailbox[0]), policy=policy.default)
    part = next(received.iter_attachments())
    assert part.get_content_type() == "text/calendar"
    assert part.get_param("method") == "CANCEL"
    assert Calendar.from_ical(part.get_content())["METHOD"] == "CANCEL"


# -- facilitators ------------------------------------------------------------------------------

def test_facilitators_are_invited_as_attendees_and_told_they_are_facilitating(frozen_now):
    cohort = make_cohort()
    team = make_team()
    person = make_participant(cohort)
    leader, away = make_facilitator(name="Fran Facilitator"), make_facilitator()
    session = future_clinic(cohort)
    assign_facilitators(actor=team, session=session, user_ids=[leader.id, away.id], now=clock.now())
    away.is_disabled = True  # their account was closed after they were assigned
    services.cancel_session(actor=team, session=session, now=clock.now())

    [to_leader] = emails_to(leader.email)
    assert "You are facilitating this session." in to_leader.body_text
    assert "you are facilitating this session" in to_leader.body_html
    _, calendar, event, parsed = invitation(to_leader)
    assert str(calendar["METHOD"]) == "CANCEL"
    assert str(event["ATTENDEE"]) == f"mailto:{leader.email}" and event["ATTENDEE"].params["CN"] == "Fran Facilitator"
    assert parsed.vevent.attendee.value == f"mailto:{leader.email}"
    [to_person] = emails_to(person.email)
    assert "facilitating" not in to_person.body_text
    assert emails_to(away.email) == []


def test_only_the_team_assigns_facilitators_and_only_staff_can_be_chosen(frozen_now):
    cohort = make_cohort()
    team, facilitator = make_team(), make_facilitator()
    participant = make_participant(cohort)
    session = future_clinic(cohort)
    with pytest.raises(PermissionDenied):
        assign_facilitators(actor=facilitator, session=session, user_ids=[facilitator.id], now=clock.now())
    with pytest.raises(DomainError) as refused:
        assign_facilitators(actor=team, session=session, user_ids=[participant.id], now=clock.now())
    assert refused.value.field == "facilitators"

    assert assign_facilitators(actor=team, session=session, user_ids=[facilitator.id, team.id], now=clock.now())
    assert not assign_facilitators(actor=team, session=session, user_ids=[team.id, facilitator.id], now=clock.now())
    assert assign_facilitators(actor=team, session=session, user_ids=[team.id], now=clock.now())
    assert [row.user_id for row in session.facilitators] == [team.id]
    events = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "session_facilitators_assigned")
                                .order_by(AuditEvent.id)).all()
    assert [(e.target_id, e.detail) for e in events] == [
        (session.id, {"added": sorted([facilitator.id, team.id]), "removed": []}),
        (session.id, {"added": [], "removed": [facilitator.id]})]


def test_a_facilitators_sessions_are_theirs_still_to_come_soonest_first(frozen_now):
    cohort = make_cohort()
    team, facilitator, colleague = make_team(), make_facilitator(), make_facilitator()
    now = clock.now()
    later, sooner = make_session(cohort, starts_at=now + timedelta(days=9)), make_session(cohort, starts_at=now + timedelta(days=2))
    past = make_session(cohort, starts_at=now - timedelta(days=2))
    someone_elses = make_session(cohort, starts_at=now + timedelta(days=3))
    for session in (later, sooner, past):
        assign_facilitators(actor=team, session=session, user_ids=[facilitator.id], now=now)
    assign_facilitators(actor=team, session=someone_elses, user_ids=[colleague.id], now=now)
    services.cancel_session(actor=team, session=later, now=now)

    assert sessions_for_facilitator(facilitator, now) == [sooner, later]
    assert sessions_for_facilitator(team, now) == []


def test_the_team_assigns_facilitators_on_the_sessions_page(client, login_as, frozen_now):
    cohort = make_cohort()
    team = make_team(name="Tess Team")
    facilitator = make_facilitator(name="Fran Facilitator")
    participant = make_participant(cohort, name="Pat Participant")
    session = future_clinic(cohort)
    db.session.commit()
    login_as(team)
    path = f"/sessions/{session.id}/facilitators"
    page = client.get(path).get_data(as_text=True)
    assert "Fran Facilitator (facilitator)" in page and "Tess Team (team)" in page
    assert "Pat Participant" not in page

    token = csrf_token(client, path)
    assert client.post(path, data={"facilitators": [str(facilitator.id)]}).status_code == 400  # no CSRF token
    response = client.post(path, data={"csrf_token": token, "facilitators": [str(facilitator.id)]})
    assert response.status_code == 302 and response.headers["Location"].endswith(f"/cohorts/{cohort.id}/schedule")
    assert [row.user_id for row in session.facilitators] == [facilitator.id]
    page = client.get(path).get_data(as_text=True)
    assert re.search(rf'value="{facilitator.id}"\s+checked|checked[^>]*value="{facilitator.id}"', page)

    refused = client.post(path, data={"csrf_token": token, "facilitators": [str(participant.id)]})
    assert refused.status_code == 200 and "not a valid choice" in refused.get_data(as_text=True).lower()
    assert [row.user_id for row in session.facilitators] == [facilitator.id]


def test_the_dashboard_lists_a_facilitators_sessions(client, login_as, frozen_now):
    cohort = make_cohort()
    facilitator = make_facilitator()
    session = future_clinic(cohort)
    assign_facilitators(actor=make_team(), session=session, user_ids=[facilitator.id], now=clock.now())
    db.session.commit()
    login_as(facilitator)
    page = client.get("/team/").get_data(as_text=True)
    assert "Your sessions" in page and f'href="/sessions/{session.id}"' in page and session.title in page

    login_as(make_facilitator())
    page = client.get("/team/").get_data(as_text=True)
    assert "You are not facilitating any sessions coming up." in page
    login_as(make_team())
    assert "Your sessions" not in client.get("/team/").get_data(as_text=True)


# -- the feed ---------------------------------------------------------------------------------

def test_the_feed_holds_no_join_links_and_says_where_they_are(client, login_as, frozen_now):
    cohort = make_cohort()
    person = make_participant(cohort)
    soon = make_session(cohort, starts_at=clock.now() + timedelta(minutes=10),
                        join_url="https://video.example.org/opens-soon")
    db.session.commit()
    login_as(person)
    token = csrf_token(client, "/settings")
    page = client.post("/settings/calendar", data={"csrf_token": token, "action": "create"}).get_data(as_text=True)
    feed_url = re.search(r'value="(http://convene\.test/calendar/[^"]+\.ics)"', page).group(1)
    # Subscribing in one click, and a copy button that JavaScript reveals (the link stays selectable).
    assert f'href="webcal://convene.test/calendar/{feed_url.rsplit("/", 1)[1]}"' in page
    assert re.search(r'<button[^>]*data-copy-from="feed-url"[^>]*hidden', page)

    body = client.application.test_client().get(feed_url.removeprefix("http://convene.test")).get_data(as_text=True)
    unfolded = body.replace("\r\n ", "")
    assert "video.example.org" not in unfolded  # not even for a session whose link the page shows now
    event = next(e for e in vobject.readOne(body).vevent_list if e.uid.value == session_uid(soon, site_domain()))
    assert "Join link: on the session page, from 30 minutes before the start." in event.description.value
    assert len(Calendar.from_ical(body).walk("VEVENT")) == len(cohort.sessions)
    assert str(Calendar.from_ical(body)["METHOD"]) == "PUBLISH"
