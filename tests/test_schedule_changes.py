"""Rescheduling and cancelling tell everyone, with calendar updates; private calendar feeds."""

from __future__ import annotations

import email
import re
from datetime import date, timedelta
from email import policy

import vobject
from icalendar import Calendar
from sqlalchemy import select

from app import clock
from app.db import db
from app.notifications.models import OutboxMessage
from app.notifications.services import queue_email, send_due
from app.programme import services
from app.programme.services import SessionDetails
from tests.conftest import csrf_token
from tests.factories import make_cohort, make_participant, make_team, make_user


def messages(prefix: str) -> list[OutboxMessage]:
    return list(db.session.scalars(select(OutboxMessage).where(OutboxMessage.key.startswith(prefix))
                                   .order_by(OutboxMessage.id)))


def _move(session, day, team):
    local = clock.to_local(session.starts_at)
    return services.update_session(actor=team, session=session, now=clock.now(), details=SessionDetails(
        title=session.title, kind=session.kind, day=day, starts=local.time(),
        ends=clock.to_local(session.ends_at).time(), module_number=session.module.number if session.module else None,
        part=session.part, join_url=session.join_url, keep_date=True))


def test_a_reschedule_emails_every_participant_an_updated_calendar_entry(mailbox, frozen_now):
    cohort, other = make_cohort(), make_cohort()
    team = make_team()
    people = [make_participant(cohort) for _ in range(3)]
    outsider = make_participant(other)
    session = next(s for s in cohort.sessions if s.kind == "drop_in" and s.starts_at > clock.now())
    queue_email(key=f"session-reminder:{session.id}:7d:1", recipient="x@example.org", subject="Reminder",
                body_text="old", due_at=clock.now() + timedelta(days=1))
    assert _move(session, date(2027, 3, 2), team)
    assert session.sequence == 1
    sent = messages(f"session-changed:{session.id}:1:")
    assert sorted(m.recipient for m in sent) == sorted(p.email for p in people)
    assert outsider.email not in {m.recipient for m in sent}
    assert messages("session-reminder:")[0].status == "cancelled"  # re-planned by the reminder jobs
    db.session.commit()
    send_due(clock.now())
    received = email.message_from_bytes(bytes(mailbox[0]), policy=policy.default)
    assert "has changed" in received.get_body(("plain",)).get_content()
    attachment = next(part for part in received.iter_attachments())
    assert attachment.get_content_type() == "text/calendar"
    event = Calendar.from_ical(attachment.get_content()).walk("VEVENT")[0]
    assert event["SEQUENCE"] == 1 and event["UID"].startswith(f"session-{session.id}@")
    assert event.decoded("DTSTART").date() == date(2027, 3, 2)
    # Saving again without a change sends nothing more.
    assert not _move(session, date(2027, 3, 2), team)
    assert len(messages(f"session-changed:{session.id}:")) == 3


def test_cancelling_tells_people_and_the_feed_marks_it_cancelled(frozen_now):
    cohort = make_cohort()
    team = make_team()
    person = make_participant(cohort)
    session = cohort.sessions[-1]
    services.cancel_session(actor=team, session=session, now=clock.now())
    [message] = messages(f"session-changed:{session.id}:1:")
    assert message.recipient == person.email and "has been cancelled" in message.subject
    ics = message.attachments[0]["content"]
    assert "STATUS:CANCELLED" in ics


def test_moving_a_module_moves_both_days_to_working_days(frozen_now):
    cohort = make_cohort()
    team = make_team()
    make_participant(cohort)
    module = cohort.modules[2]
    moved = services.reschedule_module(actor=team, module=module, first_day=date(2027, 1, 29), now=clock.now())
    days = [clock.to_local(s.starts_at).date() for s in module.sessions]
    assert days == [date(2027, 1, 29), date(2027, 2, 1)]  # a Friday, then the Monday
    assert {clock.to_local(s.starts_at).strftime("%H:%M") for s in module.sessions} == {"09:30"}
    assert len(moved) == 2 and all(s.sequence == 1 for s in module.sessions)


def test_module_reschedule_page_refuses_a_weekend(client, login_as):
    cohort = make_cohort()
    login_as(make_team())
    path = f"/cohorts/{cohort.id}/modules/2/reschedule"
    token = csrf_token(client, path)
    page = client.post(path, data={"csrf_token": token, "first_day": "2027-01-30"}).get_data(as_text=True)
    assert "must be a working day" in page and 'value="2027-01-30"' in page


def _feed_url(client) -> str:
    token = csrf_token(client, "/settings")
    page = client.post("/settings/calendar", data={"csrf_token": token, "action": "create"}).get_data(as_text=True)
    return re.search(r'value="http://convene\.test(/calendar/[^"]+\.ics)"', page).group(1)


def test_the_private_feed_parses_in_two_parsers_and_can_be_revoked(client, login_as, frozen_now):
    cohort = make_cohort(starts_on=date(2026, 9, 14))
    person = make_participant(cohort)
    services.cancel_session(actor=make_team(), session=cohort.sessions[-1], now=clock.now())
    login_as(person)
    url = _feed_url(client)
    feed = client.application.test_client().get(url)  # a calendar app: no cookie
    assert feed.status_code == 200 and feed.mimetype == "text/calendar"
    body = feed.get_data(as_text=True)
    parsed = Calendar.from_ical(body)
    events = parsed.walk("VEVENT")
    assert len(events) == 21
    assert [e["STATUS"] for e in events].count("CANCELLED") == 1
    assert len(list(vobject.readOne(body).vevent_list)) == 21
    assert parsed.walk("VTIMEZONE")[0]["TZID"] == "Europe/London"
    # A September module (BST) and a November one (GMT) are both at 09:30 London.
    starts = {e.decoded("DTSTART").strftime("%m %H:%M") for e in events if "Module" in str(e["SUMMARY"])}
    assert {s.split()[1] for s in starts} == {"09:30"}
    token = csrf_token(client, "/settings")
    client.post("/settings/calendar", data={"csrf_token": token, "action": "revoke"})
    assert client.application.test_client().get(url).status_code == 404


def test_resetting_the_link_kills_the_old_one(client, login_as):
    person = make_participant(make_cohort())
    login_as(person)
    first = _feed_url(client)
    token = csrf_token(client, "/settings")
    page = client.post("/settings/calendar", data={"csrf_token": token, "action": "reset"}).get_data(as_text=True)
    second = re.search(r'value="http://convene\.test(/calendar/[^"]+\.ics)"', page).group(1)
    anonymous = client.application.test_client()
    assert anonymous.get(first).status_code == 404 and anonymous.get(second).status_code == 200
    assert person.calendar_token_hash not in page  # only the hash is stored, never shown


def test_someone_without_a_place_gets_an_empty_feed_and_staff_see_live_cohorts(client, login_as):
    make_cohort()
    login_as(make_user())
    body = client.application.test_client().get(_feed_url(client)).get_data(as_text=True)
    assert Calendar.from_ical(body).walk("VEVENT") == []
    login_as(make_team())
    body = client.application.test_client().get(_feed_url(client)).get_data(as_text=True)
    assert len(Calendar.from_ical(body).walk("VEVENT")) == 21


def test_a_single_session_downloads_as_ics(client, login_as):
    cohort = make_cohort()
    login_as(make_participant(cohort))
    response = client.get(f"/sessions/{cohort.sessions[0].id}.ics")
    assert response.headers["Content-Disposition"].startswith("attachment;")
    assert len(Calendar.from_ical(response.data).walk("VEVENT")) == 1
