"""Schedule edits that would make the year wrong are refused (or need confirming), with a field error,
never a 500: times the clocks skip or repeat, sessions that already happened, modules out of order."""

from __future__ import annotations

import html
import re
from datetime import date, time, timedelta

import pytest

from app import clock
from app.attendance.models import AttendanceStatus
from app.attendance.services import save_attendance
from app.db import db
from app.errors import Conflict, DomainError
from app.programme import services
from app.programme.services import SessionDetails
from app.programme.services.schedule import _module_coconsulting
from tests.conftest import csrf_token
from tests.factories import make_cohort, make_participant, make_team

START = date(2027, 1, 11)  # a cohort whose year is all to come (the clock is frozen in November 2026)


def text(response) -> str:
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", response.get_data(as_text=True))).split())


def details_for(session, *, day: date | None = None, starts: time | None = None, ends: time | None = None,
                keep_date: bool = False) -> SessionDetails:
    local_start, local_end = clock.to_local(session.starts_at), clock.to_local(session.ends_at)
    return SessionDetails(title=session.title, kind=session.kind, day=day or local_start.date(),
                          starts=starts or local_start.time(), ends=ends or local_end.time(),
                          module_number=session.module.number if session.module else None, part=session.part,
                          join_url=session.join_url, venue=session.venue, keep_date=keep_date)


def module_day(cohort, number: int, part: int):
    return next(s for s in cohort.sessions if s.kind == "module" and s.module.number == number and s.part == part)


def form_for(session, **changes) -> dict:
    local_start, local_end = clock.to_local(session.starts_at), clock.to_local(session.ends_at)
    data = {"title": session.title, "kind": session.kind, "day": local_start.date().isoformat(),
            "starts": local_start.strftime("%H:%M"), "ends": local_end.strftime("%H:%M"),
            "module_number": str(session.module.number) if session.module else "",
            "part": str(session.part) if session.part else "", "join_url": session.join_url, "venue": session.venue,
            "access_info": "", "description": ""}
    data.update(changes)
    return {k: v for k, v in data.items() if v != ""}


# -- times the clocks skip or repeat ------------------------------------------------------------

@pytest.mark.parametrize(("day", "words"), [("2027-03-28", "does not exist on 28 March 2027: the clocks go forward"),
                                            ("2027-10-31", "happens twice on 31 October 2027: the clocks go back")])
def test_a_time_the_clocks_skip_or_repeat_gets_a_field_error_not_a_500(client, login_as, frozen_now, day, words):
    cohort = make_cohort(starts_on=START)
    clinic = next(s for s in cohort.sessions if s.kind == "drop_in")
    login_as(make_team())
    path = f"/sessions/{clinic.id}/edit"
    response = client.post(path, data={"csrf_token": csrf_token(client, path), "keep_date": "y",
                                       **form_for(clinic, day=day, starts="01:30", ends="02:30")})
    page = response.get_data(as_text=True)
    assert response.status_code == 200 and words in text(response)
    assert 'href="#starts"' in page and 'value="01:30"' in page  # the field is named and what was typed kept
    assert clinic.sequence == 0


# -- a session that already happened ----------------------------------------------------------

def test_a_session_whose_time_has_come_is_not_cancelled_and_a_register_keeps_it_on_record(client, login_as,
                                                                                         frozen_now):
    cohort = make_cohort()  # started in September: some sessions have happened
    team = make_team()
    person = make_participant(cohort)
    held = [s for s in cohort.sessions if s.ends_at < clock.now()][-1]
    enrolment = cohort.enrolments[0]
    save_attendance(held.id, enrolment.id, AttendanceStatus.PRESENT, "", team, held.ends_at)
    with pytest.raises(Conflict, match="time has come, so it cannot be cancelled"):
        services.cancel_session(actor=team, session=held, now=clock.now())
    with pytest.raises(Conflict, match="The register says 1 person came"):
        services.mark_not_held(actor=team, session=held, reason="Storm", now=clock.now())
    assert held.status == "scheduled"
    db.session.commit()
    login_as(team)
    token = csrf_token(client, f"/sessions/{held.id}/cancel")
    refused = client.post(f"/sessions/{held.id}/cancel", data={"csrf_token": token}, follow_redirects=True)
    assert "cannot be cancelled" in text(refused) and held.status == "scheduled"
    # A session to come: cancelled, and the message counts who was told.
    coming = next(s for s in cohort.sessions if s.starts_at > clock.now())
    done = client.post(f"/sessions/{coming.id}/cancel", data={"csrf_token": token}, follow_redirects=True)
    assert f"{coming.title} is cancelled. 1 participant has been emailed." in text(done)
    assert person.email


def test_cancelling_with_nobody_enrolled_does_not_claim_anyone_was_emailed(client, login_as, frozen_now):
    cohort = make_cohort(starts_on=START)
    login_as(make_team())
    session = cohort.sessions[2]
    token = csrf_token(client, f"/sessions/{session.id}/cancel")
    done = client.post(f"/sessions/{session.id}/cancel", data={"csrf_token": token}, follow_redirects=True)
    assert "is cancelled. Nobody was emailed." in text(done)


# -- modules in order ---------------------------------------------------------------------------

def test_moves_that_break_the_year_are_refused(frozen_now):
    cohort = make_cohort(starts_on=START)
    team = make_team()
    db.session.commit()  # each refusal below is rolled back to this
    day1, day2 = module_day(cohort, 2, 1), module_day(cohort, 2, 2)
    welcome = next(s for s in cohort.sessions if s.kind == "welcome")
    refusals = {
        "before the cohort's welcome": details_for(
            day1, day=clock.to_local(welcome.starts_at).date() - timedelta(days=1), keep_date=True),
        "after its co-consulting session": details_for(
            day2, day=clock.to_local(_module_coconsulting(cohort, 2).starts_at).date() + timedelta(days=1),
            keep_date=True),
    }
    for words, details in refusals.items():
        session = day2 if "co-consulting" in words else day1
        with pytest.raises(DomainError, match=words) as raised:
            services.update_session(actor=team, session=session, details=details, now=clock.now())
        assert raised.value.field == "day"
        db.session.rollback()
    coconsulting = _module_coconsulting(cohort, 2)
    with pytest.raises(DomainError, match="Co-consulting session 2 follows Module 2"):
        services.update_session(actor=team, session=coconsulting, now=clock.now(),
                                details=details_for(coconsulting, day=clock.to_local(day1.starts_at).date(),
                                                    keep_date=True))
    db.session.rollback()
    # A past date needs confirming (recording when it really happened); a module move names its field.
    with pytest.raises(DomainError, match="already passed"):
        services.update_session(actor=team, session=day1, now=clock.now(),
                                details=details_for(day1, day=clock.local_today() - timedelta(days=3)))
    db.session.rollback()
    with pytest.raises(DomainError, match="already passed") as raised:
        services.reschedule_module(actor=team, module=day1.module, first_day=date(2026, 11, 16), now=clock.now())
    assert raised.value.field == "first_day"


def test_unusual_dates_need_confirming_and_then_stand(frozen_now):
    cohort = make_cohort(starts_on=START)
    team = make_team()
    db.session.commit()  # each refusal below is rolled back to this
    clinic = next(s for s in cohort.sessions if s.kind == "drop_in" and s.starts_at > clock.now())
    day2 = module_day(cohort, 3, 2)
    saturday = clock.to_local(clinic.starts_at).date()
    saturday += timedelta(days=(5 - saturday.weekday()) % 7)
    cases = [(clinic, saturday, "is a Saturday"), (clinic, date(2027, 5, 3), "is a bank holiday"),
             (day2, clock.to_local(day2.starts_at).date() + timedelta(days=1), "would no longer be consecutive")]
    for session, day, words in cases:
        with pytest.raises(DomainError, match=words):
            services.update_session(actor=team, session=session, details=details_for(session, day=day), now=clock.now())
        db.session.rollback()
        assert services.update_session(actor=team, session=session, now=clock.now(),
                                       details=details_for(session, day=day, keep_date=True))
        assert clock.to_local(session.starts_at).date() == day
        db.session.commit()
        # Editing something else later does not ask again: only a changed date is checked.
        later = details_for(session)
        later.venue = "Room 2"
        assert services.update_session(actor=team, session=session, details=later, now=clock.now())


def test_the_edit_page_names_the_rule_and_offers_to_keep_an_unusual_date(client, login_as, frozen_now):
    cohort = make_cohort(starts_on=START)
    clinic = next(s for s in cohort.sessions if s.kind == "drop_in")
    login_as(make_team())
    path = f"/sessions/{clinic.id}/edit"
    token = csrf_token(client, path)
    page = client.post(path, data={"csrf_token": token, **form_for(clinic, day="2027-05-03")})
    assert "3 May 2027 is a bank holiday" in text(page) and "Keep this date anyway" in text(page)
    kept = client.post(path, data={"csrf_token": token, "keep_date": "y", **form_for(clinic, day="2027-05-03")},
                       follow_redirects=True)
    assert "updated" in text(kept) and clock.to_local(clinic.starts_at).date() == date(2027, 5, 3)


# -- what people are told ----------------------------------------------------------------------

def test_adding_a_session_tells_participants_with_an_invitation(client, login_as, frozen_now):
    from sqlalchemy import select

    from app.notifications.models import OutboxMessage

    cohort = make_cohort(starts_on=START)
    person = make_participant(cohort)
    login_as(make_team())
    path = f"/cohorts/{cohort.id}/sessions/new"
    done = client.post(path, data={"csrf_token": csrf_token(client, path), "title": "Extra clinic: evaluation",
                                   "kind": "drop_in", "day": "2027-02-03", "starts": "13:00", "ends": "14:00"},
                       follow_redirects=True)
    assert "Extra clinic: evaluation added to the schedule. Participants have been emailed." in text(done)
    [email] = db.session.scalars(select(OutboxMessage).where(OutboxMessage.recipient == person.email,
                                                             OutboxMessage.category == "schedule")).all()
    assert email.subject == "New session: Extra clinic: evaluation"
    assert "A new session has been added to the programme" in email.body_text and "3 February 2027" in email.body_text
    assert "METHOD:REQUEST" in email.attachments[0]["content"]


def test_participants_see_the_apologies_they_sent_on_the_session_and_their_home(client, login_as, frozen_now):
    from app.attendance.services import send_apologies

    cohort = make_cohort()
    person = make_participant(cohort)
    coming = next(s for s in cohort.sessions if s.starts_at > clock.now())
    send_apologies(actor=person, session=coming, reason="On leave that week", now=clock.now())
    db.session.commit()
    login_as(person)
    page = text(client.get(f"/sessions/{coming.id}"))
    assert "You sent apologies: On leave that week." in page and "Change or take back your apologies" in page
    assert "Cannot come? Send apologies" not in page
    assert "You sent apologies: On leave that week." in text(client.get("/home"))
    other = next(s for s in cohort.sessions if s.starts_at > coming.starts_at and not s.is_off)
    assert "Cannot come? Send apologies" in text(client.get(f"/sessions/{other.id}"))
