"""Session reminders: planned at the right instants, re-planned on change, skipped when stale."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from sqlalchemy import select

from app import clock
from app.db import db
from app.groups.services import withdraw_participant
from app.notifications.models import OutboxMessage
from app.notifications.services import send_due
from app.programme import services
from app.programme.jobs import plan_session_reminders
from app.programme.services import SessionDetails
from tests.factories import make_cohort, make_participant, make_team


def reminders(prefix="session-reminder:") -> list[OutboxMessage]:
    return list(db.session.scalars(select(OutboxMessage).where(OutboxMessage.key.startswith(prefix))
                                   .order_by(OutboxMessage.due_at, OutboxMessage.id)))


def _module_day(cohort, month: int):
    return next(s for s in cohort.sessions if s.kind == "module" and clock.to_local(s.starts_at).month == month)


def test_module_reminders_fire_7_days_1_day_and_0830_on_the_day_across_the_clock_change(time_machine):
    # A cohort whose modules fall in October (BST, before the clocks go back) and December (GMT).
    cohort = make_cohort(starts_on=date(2026, 8, 3))
    make_participant(cohort)
    for month in (10, 12):
        session = _module_day(cohort, month)
        time_machine.move_to(session.starts_at - timedelta(days=8), tick=False)
        plan_session_reminders(clock.now())
        rows = [r for r in reminders() if r.key.startswith(f"session-reminder:{session.id}:")]
        kinds = {r.key.split(":")[3]: r.due_at for r in rows}
        assert kinds["7d"] == session.starts_at - timedelta(days=7)
        assert kinds["1d"] == session.starts_at - timedelta(days=1)
        assert clock.to_local(kinds["morning"]).strftime("%H:%M") == "08:30"
        assert all(r.expires_at == session.starts_at for r in rows)


def test_planning_is_idempotent_and_only_covers_the_horizon(frozen_now):
    cohort = make_cohort()
    make_participant(cohort)
    first = plan_session_reminders(clock.now())
    assert first > 0
    assert plan_session_reminders(clock.now()) == 0
    assert all(r.due_at <= clock.now() + timedelta(days=8) for r in reminders())


def test_a_reschedule_cancels_old_reminders_and_the_next_plan_uses_the_new_time(frozen_now):
    cohort = make_cohort()
    make_participant(cohort)
    team = make_team()
    session = next(s for s in cohort.sessions if s.starts_at > clock.now() + timedelta(days=2)
                   and s.starts_at < clock.now() + timedelta(days=8))
    plan_session_reminders(clock.now())
    old = [r for r in reminders() if r.key.startswith(f"session-reminder:{session.id}:0:")]
    assert old
    local = clock.to_local(session.starts_at)
    services.update_session(actor=team, session=session, now=clock.now(), details=SessionDetails(
        title=session.title, kind=session.kind, day=local.date() + timedelta(days=1), starts=local.time(),
        ends=clock.to_local(session.ends_at).time(), module_number=session.module.number if session.module else None,
        part=session.part))
    db.session.expire_all()
    assert {r.status for r in old} == {"cancelled"}
    plan_session_reminders(clock.now())
    new = [r for r in reminders() if r.key.startswith(f"session-reminder:{session.id}:1:")]
    assert new and all(r.expires_at == session.starts_at for r in new)


def test_nobody_is_reminded_about_a_cancelled_session_or_after_withdrawing_or_opting_out(frozen_now):
    cohort = make_cohort()
    stays, leaves, quiet = (make_participant(cohort) for _ in range(3))
    quiet.wants_reminders = False
    team = make_team()
    upcoming = [s for s in cohort.sessions if clock.now() < s.starts_at < clock.now() + timedelta(days=8)]
    services.cancel_session(actor=team, session=upcoming[0], now=clock.now())
    enrolment = next(e for e in cohort.enrolments if e.user_id == leaves.id)
    withdraw_participant(actor=team, enrolment=enrolment, reason="", now=clock.now())
    plan_session_reminders(clock.now())
    recipients = {r.recipient for r in reminders()}
    assert recipients <= {stays.email}
    assert not [r for r in reminders() if r.key.startswith(f"session-reminder:{upcoming[0].id}:")]


def test_a_reminder_that_became_stale_is_skipped_not_sent_late(mailbox, frozen_now):
    cohort = make_cohort()
    make_participant(cohort)
    plan_session_reminders(clock.now())
    soonest = reminders()[0]
    db.session.commit()
    # The mail server was down until after the session started.
    send_due(soonest.expires_at + timedelta(minutes=1))
    db.session.expire_all()
    assert soonest.status == "cancelled" and "no longer relevant" in soonest.last_error
    assert all(m["X-Convene-Key"] != soonest.key for m in mailbox)


def test_the_cli_plans_reminders(runner, frozen_now):
    cohort = make_cohort()
    make_participant(cohort)
    result = runner.invoke(args=["reminders", "plan"])
    assert result.exit_code == 0 and "Planned" in result.output
    assert reminders()


def test_turning_reminders_off_in_settings(client, login_as):
    from tests.conftest import csrf_token

    person = make_participant(make_cohort())
    login_as(person)
    token = csrf_token(client, "/settings")
    client.post("/settings/reminders", data={"csrf_token": token})
    assert person.wants_reminders is False
    client.post("/settings/reminders", data={"csrf_token": token, "wants_reminders": "y"})
    assert person.wants_reminders is True


def test_reminders_say_why_they_were_sent_and_link_to_settings(frozen_now):
    cohort = make_cohort()
    make_participant(cohort)
    plan_session_reminders(datetime(2026, 11, 23, 10, tzinfo=UTC))
    row = reminders()[0]
    assert "Why you got this email" in row.body_text and "http://convene.test/settings" in row.body_text
    assert row.attachments[0]["content_type"] == "text/calendar"
