"""Feedback requests after sessions and the monthly nudge to log CoP meetings."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from sqlalchemy import select

from app import clock
from app.attendance.models import AttendanceStatus
from app.attendance.services import save_attendance
from app.db import db
from app.evaluation import communities, feedback
from app.evaluation.jobs import cop_due_dates, plan_cop_reminders, plan_feedback_requests
from app.notifications.models import OutboxMessage
from app.notifications.services import send_due
from app.programme import services as programme
from app.programme.models import Enrolment
from app.programme.reminder_rules import change_reminder_rule
from tests.factories import make_cohort, make_participant, make_team


def pending(prefix: str) -> list[OutboxMessage]:
    return list(db.session.scalars(select(OutboxMessage).where(OutboxMessage.key.startswith(prefix),
                                                               OutboxMessage.status == "pending")
                                   .order_by(OutboxMessage.due_at)))


def enrolment_id(user, cohort) -> int:
    return db.session.scalar(select(Enrolment.id).where(Enrolment.user_id == user.id, Enrolment.cohort_id == cohort.id))


def test_a_request_an_hour_after_the_end_and_one_follow_up_unless_answered(frozen_now, mailbox):
    cohort = make_cohort(starts_on=date(2026, 11, 30))
    team = make_team()
    answers, quiet, away = make_participant(cohort), make_participant(cohort), make_participant(cohort)
    opted_out = make_participant(cohort, wants_reminders=False)
    welcome = cohort.sessions[0]
    frozen_now.move_to(welcome.ends_at - timedelta(minutes=5))
    plan_feedback_requests(clock.now())
    requests = pending("feedback-request:")
    assert {m.recipient for m in requests} == {answers.email, quiet.email, away.email}
    assert opted_out.email not in {m.recipient for m in pending("feedback-")}
    assert all(m.due_at == welcome.ends_at + timedelta(hours=1) for m in requests)
    assert all(m.expires_at == welcome.ends_at + feedback.FEEDBACK_WINDOW for m in requests)
    follow_ups = pending("feedback-follow-up:")
    assert all(m.due_at == welcome.ends_at + timedelta(hours=1, days=3) for m in follow_ups)

    # The register says one was away: their request and follow-up are cancelled by the next pass.
    for person, status in ((answers, AttendanceStatus.PRESENT), (quiet, AttendanceStatus.LATE),
                           (opted_out, AttendanceStatus.PRESENT), (away, AttendanceStatus.ABSENT)):
        save_attendance(welcome.id, enrolment_id(person, cohort), status, "", team, welcome.ends_at)
    frozen_now.move_to(welcome.ends_at + timedelta(minutes=30))
    plan_feedback_requests(clock.now())
    assert away.email not in {m.recipient for m in pending("feedback-")}
    frozen_now.move_to(welcome.ends_at + timedelta(hours=1))
    send_due(clock.now())
    assert {m["To"] for m in mailbox} == {answers.email, quiet.email}
    assert "How was" in mailbox[0]["Subject"] and "/feedback" in mailbox[0].get_body(("plain",)).get_content()

    feedback.give_feedback(actor=answers, session=welcome, now=clock.now(),
                           answers=feedback.Answers(worthwhile=4, recommend_yes=True))
    assert answers.email not in {m.recipient for m in pending("feedback-follow-up:")}
    assert plan_feedback_requests(clock.now()) == 0  # nothing new: answered, away and opted out are skipped
    frozen_now.move_to(welcome.ends_at + timedelta(hours=1, days=3))
    mailbox.clear()
    send_due(clock.now())
    assert [m["To"] for m in mailbox] == [quiet.email]
    assert all("A reminder" in m["Subject"] for m in mailbox)


def test_no_requests_when_the_form_is_off_or_the_session_was_cancelled(frozen_now):
    cohort = make_cohort(starts_on=date(2026, 11, 30))
    team = make_team()
    make_participant(cohort)
    welcome, module_day = cohort.sessions[0], cohort.sessions[1]
    feedback.save_settings(actor=team, cohort=cohort, settings=feedback.Settings("welcome", enabled=False))
    programme.cancel_session(actor=team, session=module_day, now=clock.now())
    frozen_now.move_to(module_day.ends_at + timedelta(hours=2))
    plan_feedback_requests(clock.now())
    assert pending(f"feedback-request:{welcome.id}:") == [] and pending(f"feedback-request:{module_day.id}:") == []


def test_cop_reminders_go_monthly_to_those_quiet_for_sixty_days(frozen_now):
    # Every 30 days from the start (Monday 14 September): 14 October, 13 November, 13 December
    # (a Sunday, so Monday 14 December).
    assert cop_due_dates(date(2026, 9, 14), 30, date(2026, 10, 1), date(2026, 12, 31)) == [
        date(2026, 10, 14), date(2026, 11, 13), date(2026, 12, 14)]
    cohort = make_cohort(starts_on=date(2026, 9, 14))
    cohort.status = "running"
    active, quiet, undescribed = make_participant(cohort), make_participant(cohort), make_participant(cohort)
    for person in (active, quiet):
        communities.save_community(actor=person, cohort=cohort, now=clock.now(),
                                   details=communities.CommunityDetails(title="A community"))
    communities.log_meeting(actor=active, cohort=cohort, today=date(2026, 11, 20), now=clock.now(),
                            details=communities.MeetingDetails(held_on=date(2026, 11, 20), attendance=10))
    communities.log_meeting(actor=quiet, cohort=cohort, today=date(2026, 11, 20), now=clock.now(),
                            details=communities.MeetingDetails(held_on=date(2026, 9, 20), attendance=10))
    frozen_now.move_to(datetime(2026, 12, 8, 9, 0, tzinfo=UTC))
    plan_cop_reminders(clock.now())
    reminders = pending("cop-meetings:")
    assert {m.recipient for m in reminders} == {quiet.email, undescribed.email}
    assert all(m.due_at == datetime(2026, 12, 14, 9, 0, tzinfo=UTC) for m in reminders)  # 09:00 GMT
    assert plan_cop_reminders(clock.now()) == 0

    # Logging a meeting cancels the pending reminder.
    communities.log_meeting(actor=quiet, cohort=cohort, today=date(2026, 12, 8), now=clock.now(),
                            details=communities.MeetingDetails(held_on=date(2026, 12, 7), attendance=12))
    assert {m.recipient for m in pending("cop-meetings:")} == {undescribed.email}


def test_cop_reminders_keep_to_nine_o_clock_uk_time_across_the_clock_change(frozen_now):
    cohort = make_cohort(starts_on=date(2026, 9, 14))
    cohort.status = "running"
    person = make_participant(cohort)
    frozen_now.move_to(datetime(2027, 4, 6, 12, 0, tzinfo=UTC))
    plan_cop_reminders(clock.now())
    [reminder] = [m for m in pending("cop-meetings:") if m.recipient == person.email]
    assert reminder.due_at == datetime(2027, 4, 12, 8, 0, tzinfo=UTC)  # Monday 12 April, 09:00 BST


def test_the_cohort_s_rules_change_the_timing_or_turn_them_off(frozen_now):
    cohort = make_cohort(starts_on=date(2026, 11, 30))
    team = make_team()
    person = make_participant(cohort)
    welcome = cohort.sessions[0]
    frozen_now.move_to(welcome.ends_at - timedelta(minutes=5))
    plan_feedback_requests(clock.now())
    assert [m.due_at - welcome.ends_at for m in pending("feedback-")] == [timedelta(hours=1), timedelta(hours=1, days=3)]
    change_reminder_rule(actor=team, cohort=cohort, key="feedback_request", enabled=True, hours="2", days="5",
                         now=clock.now())
    assert pending("feedback-") == []  # the old timing is cancelled ...
    plan_feedback_requests(clock.now())  # ... and the next pass writes the new one
    assert [m.due_at - welcome.ends_at for m in pending("feedback-")] == [timedelta(hours=2), timedelta(hours=2, days=5)]
    change_reminder_rule(actor=team, cohort=cohort, key="feedback_request", enabled=False, hours="2", days="5",
                         now=clock.now())
    assert plan_feedback_requests(clock.now()) == 0 and pending("feedback-") == []
    assert person.email  # they simply get nothing

    running = make_cohort(starts_on=date(2026, 9, 14))
    running.status = "running"
    quiet = make_participant(running)
    frozen_now.move_to(datetime(2026, 12, 8, 9, 0, tzinfo=UTC))
    plan_cop_reminders(clock.now())
    assert [m.recipient for m in pending("cop-meetings:")] == [quiet.email]
    change_reminder_rule(actor=team, cohort=running, key="cop_meetings", enabled=False, every_days="30", days="60",
                         now=clock.now())
    assert pending("cop-meetings:") == [] and plan_cop_reminders(clock.now()) == 0
