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
        # "A day before" a Monday is the Friday before, at the same time: reminders go on working days.
        day_before = session.starts_at - timedelta(days=1)
        expected = day_before if clock.to_local(day_before).weekday() < 5 else day_before - timedelta(days=2)
        assert clock.to_local(kinds["1d"]).weekday() < 5
        assert clock.to_local(kinds["1d"]).time() == clock.to_local(expected).time()
        assert clock.to_local(kinds["1d"]).date() == clock.to_local(expected).date()
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
        part=session.part, keep_date=True))
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


def test_turning_reminders_off_cancels_those_already_planned_and_keeps_what_needs_an_answer(client, login_as,
                                                                                               frozen_now, mailbox):
    from app.applications.jobs import plan_application_reminders
    from app.applications.models import ApplicationStatus
    from tests.conftest import csrf_token
    from tests.factories import make_application, open_cohort

    cohort = make_cohort()
    person, other = make_participant(cohort), make_participant(cohort)
    offered = make_application(open_cohort(), applicant=person, submit=True)
    offered.status = ApplicationStatus.OFFERED.value
    offered.offer_expires_at = clock.now() + timedelta(days=5)
    plan_session_reminders(clock.now())
    plan_application_reminders(clock.now())
    mine = [r for r in reminders("") if r.recipient == person.email and r.status == "pending"]
    assert {r.category for r in mine} >= {"reminder", "applications"}  # optional ones, and the offer's
    db.session.commit()
    login_as(person)
    token = csrf_token(client, "/settings")
    off = client.post("/settings/reminders", data={"csrf_token": token}, follow_redirects=True)
    optional = [r for r in mine if r.category == "reminder"]
    assert f"{len(optional)} already planned will not be sent" in off.get_data(as_text=True)
    db.session.expire_all()
    assert person.wants_reminders is False
    assert {r.status for r in optional} == {"cancelled"}
    assert {r.status for r in mine if r.category != "reminder"} == {"pending"}  # the offer still needs an answer
    assert [r.status for r in mine if r.key.startswith("offer-reminder:")] == ["pending"]
    assert [r for r in reminders() if r.recipient == other.email and r.status == "pending"]
    client.post("/settings/reminders", data={"csrf_token": token, "wants_reminders": "y"})
    assert person.wants_reminders is True


def test_a_reminder_is_checked_against_the_persons_choice_when_it_is_due(frozen_now, mailbox):
    """Planned while they wanted reminders, due after they turned them off another way (an import, a
    race with planning): it is not sent."""
    cohort = make_cohort()
    person = make_participant(cohort)
    plan_session_reminders(clock.now())
    soonest = min((r for r in reminders() if r.recipient == person.email), key=lambda r: r.due_at)
    person.wants_reminders = False  # directly: nothing cancelled the planned rows
    db.session.commit()
    send_due(soonest.due_at + timedelta(minutes=1))
    db.session.expire_all()
    assert soonest.status == "cancelled" and "turned these emails off" in soonest.last_error
    assert all(m["X-Convene-Key"] != soonest.key for m in mailbox)


def test_reminders_say_why_they_were_sent_and_link_to_settings(frozen_now):
    cohort = make_cohort()
    make_participant(cohort)
    plan_session_reminders(datetime(2026, 11, 23, 10, tzinfo=UTC))
    row = reminders()[0]
    assert "Why you got this email" in row.body_text and "http://convene.test/settings" in row.body_text
    assert row.attachments[0]["content_type"] == "text/calendar"


def test_drafts_are_reminded_7_days_and_1_day_before_the_deadline(time_machine):
    from tests.factories import make_application, open_cohort

    time_machine.move_to(datetime(2026, 11, 23, 10, tzinfo=UTC), tick=False)
    cohort = open_cohort(application_deadline_at=datetime(2026, 12, 4, 23, 59, tzinfo=UTC))
    draft = make_application(cohort)
    make_application(cohort, submit=True)  # submitted: no deadline reminder
    deadline = "202612042359"
    from app.applications.jobs import plan_application_reminders

    plan_application_reminders(clock.now())
    assert [r.key for r in reminders("deadline-reminder:")] == [f"deadline-reminder:{draft.id}:7:{deadline}"]  # 1d is later
    time_machine.move_to(datetime(2026, 12, 2, 10, tzinfo=UTC), tick=False)
    plan_application_reminders(clock.now())
    rows = reminders("deadline-reminder:")
    assert [r.key for r in rows] == [f"deadline-reminder:{draft.id}:7:{deadline}", f"deadline-reminder:{draft.id}:1:{deadline}"]
    assert [cohort.application_deadline_at - r.due_at for r in rows] == [timedelta(days=7), timedelta(days=1)]
    assert rows[0].recipient == draft.applicant.email and "still a draft" in rows[0].body_text


def test_offers_are_reminded_3_days_before_they_lapse_and_expired_sponsor_links_are_reported(frozen_now):
    from app.applications.jobs import plan_application_reminders
    from app.applications.models import ApplicationStatus
    from tests.factories import make_application, open_cohort

    cohort = open_cohort()
    offered = make_application(cohort, submit=True)
    offered.status = ApplicationStatus.OFFERED.value
    offered.offer_expires_at = clock.now() + timedelta(days=5)
    waiting = make_application(cohort, submit=True)
    waiting.current_approval.expires_at = clock.now() - timedelta(hours=2)
    plan_application_reminders(clock.now())
    [offer] = reminders("offer-reminder:")
    assert offer.due_at == offered.offer_expires_at - timedelta(days=3)
    [expired] = reminders("sponsor-expired:")
    assert expired.recipient == waiting.applicant.email and "expired" in expired.subject


def test_groups_get_the_process_and_the_presenter_on_the_morning(frozen_now):
    from app.groups.jobs import plan_group_reminders
    from app.groups.services import allocate_groups

    cohort = make_cohort()
    for _ in range(4):
        make_participant(cohort)
    [group] = allocate_groups(actor=make_team(), cohort=cohort, size=5, seed=1, now=clock.now())
    rota = next(r for r in group.rota if r.session.starts_at > clock.now())
    frozen_now.move_to(rota.session.starts_at - timedelta(days=1))
    plan_group_reminders(clock.now())
    rows = [r for r in reminders("group-reminder:") if f":{rota.session_id}:" in r.key]
    assert len(rows) == 4
    assert clock.to_local(rows[0].due_at).strftime("%H:%M") == "08:00"
    presenter = next(m.enrolment.user.name for m in group.memberships if m.enrolment_id == rota.presenter_id)
    assert f"{presenter} presents a case" in rows[0].body_text and "Check-in and roles (5 minutes)" in rows[0].body_text


def test_preparation_goes_two_weeks_before_a_module_with_its_list(frozen_now):
    from app.programme.jobs import plan_preparation_reminders

    cohort = make_cohort()
    make_participant(cohort)
    module_day = next(s for s in cohort.sessions if s.kind == "module" and s.part == 1
                      and s.starts_at > clock.now() + timedelta(days=14))
    frozen_now.move_to(module_day.starts_at - timedelta(days=15))
    plan_preparation_reminders(clock.now())
    [row] = reminders("preparation:")
    assert row.due_at == module_day.starts_at - timedelta(days=14)
    assert "Before it:" in row.body_text and f"module {module_day.module.number}" in row.subject.lower()


def test_one_planning_pass_covers_every_rule_and_is_idempotent(frozen_now):
    from app.scheduler import plan_reminders

    cohort = make_cohort()
    make_participant(cohort)
    assert plan_reminders(clock.now()) > 0
    assert plan_reminders(clock.now()) == 0


def test_the_queue_shows_each_reminder_once_with_its_people_and_cancels_it_for_everyone(client, login_as, frozen_now):
    import html
    import re

    from app.audit import AuditEvent
    from tests.conftest import csrf_token

    cohort, other = make_cohort(name="Cohort A"), make_cohort(name="Cohort B")
    for _ in range(3):
        make_participant(cohort)
    make_participant(other)
    plan_session_reminders(clock.now())
    soonest = min(reminders(), key=lambda r: (r.due_at, r.id))
    same = [r for r in reminders() if (r.subject, r.due_at, r.cohort_id) == (soonest.subject, soonest.due_at,
                                                                               soonest.cohort_id)]
    assert len(same) == (3 if soonest.cohort_id == cohort.id else 1) and soonest.cohort_id in (cohort.id, other.id)
    team = make_team()
    db.session.commit()
    login_as(team)

    def words(path):
        return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", client.get(path).get_data(as_text=True))).split())

    page = words("/team/reminders")
    assert "up to 8 days ahead" in page and "two weeks" not in page
    assert page.count(f"{soonest.subject} (see one copy) {len(same)}") == 1  # one row, its people counted
    only_b = words(f"/team/reminders?cohort={other.id}")
    assert all(r.subject in only_b for r in reminders() if r.cohort_id == other.id)
    assert not [r for r in reminders() if r.cohort_id == cohort.id and r.subject not in
                {o.subject for o in reminders() if o.cohort_id == other.id} and f"{r.subject} (see" in only_b]
    assert "No reminders match." in words("/team/reminders?kind=guest-reminder")
    assert client.get("/team/reminders?status=bogus").status_code == 404

    token = csrf_token(client, "/team/reminders")
    done = client.post(f"/team/reminders/{soonest.id}/cancel", data={"csrf_token": token}, follow_redirects=True)
    assert f"for everyone: {len(same)} email" in done.get_data(as_text=True)
    db.session.expire_all()
    assert {r.status for r in same} == {"cancelled"}
    assert [r for r in reminders() if r.status == "pending"]  # the rest still go
    assert db.session.scalar(select(AuditEvent.detail).where(AuditEvent.action == "reminder_cancelled"))["emails"] == len(same)
    cancelled_view = words("/team/reminders?status=cancelled")
    assert f"{soonest.subject} (see one copy) {len(same)}" in cancelled_view
    again = client.post(f"/team/reminders/{soonest.id}/cancel", data={"csrf_token": token}, follow_redirects=True)
    assert "Nothing of this reminder is waiting" in again.get_data(as_text=True)


def test_a_day_before_reminder_that_lands_on_a_weekend_goes_on_the_friday(frozen_now):
    from app.programme.jobs import on_a_working_day

    sunday_morning = datetime(2027, 1, 17, 9, 30, tzinfo=UTC)
    friday = on_a_working_day(sunday_morning, "Europe/London")
    assert clock.to_local(friday).strftime("%A %H:%M") == "Friday 09:30"
    before_may_day = on_a_working_day(datetime(2027, 5, 3, 8, 30, tzinfo=UTC), "Europe/London")  # a bank holiday
    assert clock.to_local(before_may_day).strftime("%A %d %B %H:%M") == "Friday 30 April 09:30"
    tuesday = datetime(2027, 1, 19, 9, 30, tzinfo=UTC)
    assert on_a_working_day(tuesday, "Europe/London") == tuesday


def test_the_team_digest_comes_at_8am_on_working_days_only(time_machine):
    from app.admin.jobs import plan_team_digest
    from tests.factories import make_application, open_cohort

    team = make_team()
    time_machine.move_to(datetime(2026, 11, 23, 7, 59, tzinfo=UTC), tick=False)  # Monday, GMT
    cohort = open_cohort()
    make_application(cohort, submit=True)
    assert plan_team_digest(clock.now()) == 0  # not yet 08:00
    time_machine.move_to(datetime(2026, 11, 23, 8, 5, tzinfo=UTC), tick=False)
    assert plan_team_digest(clock.now()) >= 1
    assert plan_team_digest(clock.now()) == 0  # once a day
    row = next(r for r in reminders("team-digest:") if r.recipient == team.email)
    assert "Applications waiting for a line manager: 1" in row.body_text
    time_machine.move_to(datetime(2026, 11, 28, 8, 5, tzinfo=UTC), tick=False)  # Saturday
    assert plan_team_digest(clock.now()) == 0
    time_machine.move_to(datetime(2026, 12, 25, 8, 5, tzinfo=UTC), tick=False)  # Christmas Day
    assert plan_team_digest(clock.now()) == 0


def test_leaving_the_programme_cancels_pending_reminders(frozen_now):
    from app.groups.services import withdraw_participant as withdraw

    cohort = make_cohort()
    person = make_participant(cohort)
    plan_session_reminders(clock.now())
    mine = [r for r in reminders() if r.recipient == person.email]
    assert mine
    enrolment = next(e for e in cohort.enrolments if e.user_id == person.id)
    withdraw(actor=make_team(), enrolment=enrolment, reason="", now=clock.now())
    db.session.expire_all()
    assert {r.status for r in mine} == {"cancelled"}


def test_after_downtime_planning_catches_up_what_is_still_relevant(time_machine):
    cohort = make_cohort()
    make_participant(cohort)
    # A module day after a working day, so its "day before" reminder is not moved to a Friday.
    session = next(s for s in cohort.sessions if s.kind == "module" and clock.to_local(s.starts_at).weekday() in (1, 2, 3, 4))
    # The scheduler was down from a day and a half before until six hours before the session.
    time_machine.move_to(session.starts_at - timedelta(hours=6), tick=False)
    plan_session_reminders(clock.now())
    kinds = {r.key.split(":")[3] for r in reminders() if r.key.startswith(f"session-reminder:{session.id}:")}
    assert "1d" in kinds  # due 18 hours ago, still before the session: sent now
    late = next(r for r in reminders() if r.key.startswith(f"session-reminder:{session.id}:") and ":1d:" in r.key)
    assert late.subject.startswith("Today:")
    assert "7d" not in kinds  # due six days ago: too late to be useful
