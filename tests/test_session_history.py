"""Sessions that did not happen as planned: postponed with the date to be confirmed, given a new date,
did not take place; the report reads each session's history; feedback requests follow the session."""

from __future__ import annotations

from datetime import date, time, timedelta

import pytest
from icalendar import Calendar
from sqlalchemy import select

from app import clock
from app.db import db
from app.errors import Conflict, DomainError
from app.evaluation import feedback
from app.evaluation.jobs import plan_feedback_requests
from app.evaluation.report import build_report
from app.notifications.models import OutboxMessage
from app.programme import services as programme
from app.programme.calendar import build_calendar
from app.programme.models import SessionChange
from tests.conftest import csrf_token
from tests.factories import make_cohort, make_participant, make_team


def line_of(report, session):
    return next(line for line in report.sessions if line.session.id == session.id)


def future_module(cohort):
    return next(s for s in cohort.sessions if s.kind == "module" and s.starts_at > clock.now())


def past_module(cohort):
    return [s for s in cohort.sessions if s.kind == "module" and s.ends_at < clock.now()][-1]


def move(team, session, days: int, now):
    local = clock.to_local(session.starts_at)
    details = programme.SessionDetails(
        title=session.title, kind=session.kind, day=local.date() + timedelta(days=days), starts=local.time(),
        ends=clock.to_local(session.ends_at).time(), module_number=session.module.number if session.module else None,
        part=session.part, join_url=session.join_url, keep_date=True)  # one day of a module, on purpose
    programme.update_session(actor=team, session=session, details=details, now=now)


def test_a_session_moved_months_in_advance_is_not_a_postponement(frozen_now):
    team = make_team()
    cohort = make_cohort(starts_on=date(2026, 6, 1))
    session = past_module(cohort)
    planned = session.starts_at
    move(team, session, 2, now=planned - timedelta(days=90))
    report = build_report(cohort, clock.now())
    line = line_of(report, session)
    assert line.state == "moved_in_advance" and line.planned_on == planned
    assert line.state_label == "Delivered, moved before it was due"


def test_a_session_moved_once_it_was_due_is_a_postponement_and_says_so_before_it_happens(frozen_now):
    team = make_team()
    cohort = make_cohort()
    session = future_module(cohort)
    planned = session.starts_at
    move(team, session, 14, now=planned + timedelta(minutes=10))  # on the day: it could not go ahead
    upcoming = line_of(build_report(cohort, clock.now()), session)
    assert upcoming.state == "upcoming" and upcoming.state_label == "Still to come, postponed"
    frozen_now.move_to(session.ends_at + timedelta(hours=1))
    held = line_of(build_report(cohort, clock.now()), session)
    assert held.state == "postponed" and held.planned_on == planned


def test_postponed_with_the_date_to_be_confirmed_then_given_a_date(frozen_now, mailbox):
    team = make_team()
    cohort = make_cohort()
    person = make_participant(cohort)
    session = future_module(cohort)
    planned = session.starts_at
    with pytest.raises(DomainError, match="Say why"):
        programme.postpone_session(actor=team, session=session, reason="  ", now=clock.now())
    programme.postpone_session(actor=team, session=session, reason="The facilitator is ill", now=clock.now())
    assert session.status == "postponed" and session.status_reason == "The facilitator is ill"
    told = db.session.scalars(select(OutboxMessage).where(OutboxMessage.recipient == person.email)).all()
    assert any("has been postponed" in m.subject for m in told)
    event = Calendar.from_ical(build_calendar([session], name="x", domain="example.org", base_url="https://x",
                                              now=clock.now())).walk("VEVENT")[0]
    assert str(event["STATUS"]) == "CANCELLED" and str(event["SUMMARY"]).startswith("Postponed:")
    line = line_of(build_report(cohort, clock.now()), session)
    assert line.state == "postponed_tbc" and line.reason == "The facilitator is ill"
    with pytest.raises(Conflict):
        programme.postpone_session(actor=team, session=session, reason="Again", now=clock.now())

    new_day = clock.to_local(planned).date() + timedelta(days=21)
    with pytest.raises(DomainError, match="not passed"):
        programme.set_new_date(actor=team, session=session, day=date(2026, 1, 5), starts=time(9, 30),
                               ends=time(12, 30), now=clock.now())
    programme.set_new_date(actor=team, session=session, day=new_day, starts=time(9, 30), ends=time(12, 30),
                           now=clock.now())
    assert session.status == "scheduled" and clock.to_local(session.starts_at).date() == new_day
    kinds = [c.kind for c in db.session.scalars(select(SessionChange).where(SessionChange.session_id == session.id)
                                                .order_by(SessionChange.id))]
    assert kinds == ["postponed", "dated"]
    frozen_now.move_to(session.ends_at + timedelta(minutes=5))
    line = line_of(build_report(cohort, clock.now()), session)
    assert line.state == "postponed" and line.planned_on == planned


def test_a_session_that_did_not_take_place(frozen_now):
    team = make_team()
    cohort = make_cohort()
    make_participant(cohort)
    past, future = past_module(cohort), future_module(cohort)
    with pytest.raises(Conflict, match="has not started"):
        programme.mark_not_held(actor=team, session=future, reason="x", now=clock.now())
    programme.mark_not_held(actor=team, session=past, reason="The platform failed", now=clock.now())
    report = build_report(cohort, clock.now())
    line = line_of(report, past)
    assert line.state == "not_held" and line.state_label == "Did not take place"
    assert past not in [line.session for line in report.delivered]
    assert feedback.window_state(past, clock.now()) == "cancelled"
    programme.reinstate_session(actor=team, session=past, now=clock.now())
    assert line_of(build_report(cohort, clock.now()), past).state == "as_planned"


def test_the_team_postpones_and_redates_from_the_pages(client, login_as, frozen_now):
    team = make_team()
    cohort = make_cohort()
    session = future_module(cohort)
    session_id, cohort_id = session.id, cohort.id
    login_as(team)
    page = client.get(f"/sessions/{session_id}/status").get_data(as_text=True)
    assert "Postpone" in page
    token = csrf_token(client, f"/sessions/{session_id}/status")
    refused = client.post(f"/sessions/{session_id}/status", data={"csrf_token": token, "reason": ""})
    assert refused.status_code == 200 and "There is a problem" in refused.get_data(as_text=True)
    done = client.post(f"/sessions/{session_id}/status", data={"csrf_token": token, "reason": "Snow"})
    assert done.status_code == 302
    schedule = client.get(f"/cohorts/{cohort_id}/schedule").get_data(as_text=True)
    assert "Postponed: new date to be confirmed" in schedule and f"/sessions/{session_id}/new-date" in schedule
    token = csrf_token(client, f"/sessions/{session_id}/new-date")
    bad = client.post(f"/sessions/{session_id}/new-date", data={"csrf_token": token, "day": "2027-02-01",
                                                               "starts": "12:30", "ends": "09:30"})
    assert "The session must end after it starts" in bad.get_data(as_text=True)
    assert 'value="2027-02-01"' in bad.get_data(as_text=True)
    ok = client.post(f"/sessions/{session_id}/new-date", data={"csrf_token": token, "day": "2027-02-01",
                                                              "starts": "09:30", "ends": "12:30"})
    assert ok.status_code == 302


def _feedback_rows(session):
    return db.session.scalars(select(OutboxMessage).where(
        OutboxMessage.key.startswith(f"feedback-request:{session.id}:")).execution_options(populate_existing=True)).all()


def test_feedback_requests_follow_the_session(frozen_now):
    team = make_team()
    cohort = make_cohort()
    make_participant(cohort)
    session = future_module(cohort)
    frozen_now.move_to(session.ends_at - timedelta(hours=1))
    plan_feedback_requests(clock.now())
    [planned] = _feedback_rows(session)
    assert planned.due_at == session.ends_at + timedelta(hours=1)

    move(team, session, 7, now=clock.now())  # moved on the day: the old request goes, a new one at the new end
    assert {m.status for m in _feedback_rows(session)} == {"cancelled"}
    frozen_now.move_to(session.ends_at - timedelta(hours=2))
    plan_feedback_requests(clock.now())
    pending = [m for m in _feedback_rows(session) if m.status == "pending"]
    assert [m.due_at for m in pending] == [session.ends_at + timedelta(hours=1)]

    frozen_now.move_to(session.starts_at - timedelta(minutes=30))  # called off before it starts
    programme.cancel_session(actor=team, session=session, now=clock.now())
    assert not [m for m in _feedback_rows(session) if m.status == "pending"]
    frozen_now.move_to(session.ends_at + timedelta(hours=2))
    plan_feedback_requests(clock.now())
    assert not [m for m in _feedback_rows(session) if m.status == "pending"]
