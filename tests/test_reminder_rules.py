"""Per-cohort reminder rules: defaults, validation, and every planner following a cohort's setting."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta

import pytest
from sqlalchemy import event, select

from app import clock
from app.audit import AuditEvent
from app.db import db
from app.errors import DomainError, PermissionDenied
from app.notifications.models import OutboxMessage, OutboxStatus
from app.notifications.services import send_due
from app.programme.jobs import plan_preparation_reminders, plan_session_reminders
from app.programme.reminder_rules import RULES, change_reminder_rule, describe, enabled_rules, rules_for
from tests.conftest import csrf_token
from tests.factories import make_application, make_cohort, make_participant, make_team, open_cohort


def rows(prefix: str, status: str | None = None) -> list[OutboxMessage]:
    query = select(OutboxMessage).where(OutboxMessage.key.startswith(prefix))
    if status:
        query = query.where(OutboxMessage.status == status)
    return list(db.session.scalars(query.order_by(OutboxMessage.due_at, OutboxMessage.id)))


def change(cohort, key, *, enabled=True, team=None, **values):
    return change_reminder_rule(actor=team or make_team(), cohort=cohort, key=key, enabled=enabled,
                                now=clock.now(), **values)


def _next_session(cohort, within_days=8, kind=None):
    return next(s for s in cohort.sessions if clock.now() + timedelta(days=2) < s.starts_at
                < clock.now() + timedelta(days=within_days) and (kind is None or s.kind == kind))


def test_the_registry_lists_every_rule_with_its_default_and_the_evaluation_rules():
    assert {"application_deadline", "sponsor_chaser", "offer_lapse", "session_reminders", "module_preparation",
            "co_consulting_morning", "guest_reminders", "feedback_request", "cop_meetings", "material_released",
            "community_meeting", "community_feedback"} == RULES.keys()
    assert RULES["session_reminders"].default.days == (7, 1) and RULES["session_reminders"].at == time(8, 30)
    feedback, cop = RULES["feedback_request"].default, RULES["cop_meetings"].default
    assert (feedback.hours, feedback.days) == (1, (3,))
    assert (cop.every_days, cop.days) == (30, (60,))
    assert describe(RULES["session_reminders"].default) == (
        "7 days and 1 day before each session; on the morning of module days, at 08:30")
    assert all(rule.label and rule.who for rule in RULES.values())


def test_rules_for_gives_defaults_without_rows_and_loads_any_number_of_cohorts_in_one_query(app, frozen_now):
    cohorts = [make_cohort() for _ in range(3)]
    change(cohorts[0], "guest_reminders", days="10, 2")
    db.session.flush()
    statements = []

    def before(*args):
        statements.append(args[2])

    event.listen(db.engine, "before_cursor_execute", before)
    try:
        settings = rules_for(c.id for c in cohorts)
    finally:
        event.remove(db.engine, "before_cursor_execute", before)
    assert len([s for s in statements if not s.startswith("BEGIN")]) == 1
    assert settings[cohorts[0].id]["guest_reminders"].days == (10, 2)
    assert settings[cohorts[0].id]["guest_reminders"].revision == 1
    assert settings[cohorts[1].id]["guest_reminders"] == RULES["guest_reminders"].default
    assert settings[cohorts[2].id]["feedback_request"].hours == 1
    assert rules_for([]) == {}


@pytest.mark.parametrize(("key", "values", "field", "message"), [
    ("session_reminders", {"days": "-1", "at": "08:30"}, "days", "1 or more"),
    ("session_reminders", {"days": "0", "at": "08:30"}, "days", "1 or more"),
    ("session_reminders", {"days": "7, 5, 3, 1", "at": "08:30"}, "days", "no more than 3"),
    ("session_reminders", {"days": "7, 7", "at": "08:30"}, "days", "only once"),
    ("session_reminders", {"days": "seven", "at": "08:30"}, "days", "whole numbers"),
    ("session_reminders", {"days": "", "at": "08:30"}, "days", "at least one"),
    ("session_reminders", {"days": "45", "at": "08:30"}, "days", "30 or fewer"),
    ("session_reminders", {"days": "7", "at": "24:00"}, "at", "between 00:00 and 23:59"),
    ("session_reminders", {"days": "7", "at": "08:60"}, "at", "between 00:00 and 23:59"),
    ("session_reminders", {"days": "7", "at": "morning"}, "at", "between 00:00 and 23:59"),
    ("offer_lapse", {"days": "3, 1"}, "days", "Enter one number of days"),
    ("feedback_request", {"hours": "0", "days": "3"}, "hours", "from 1 to 72"),
    ("cop_meetings", {"every_days": "2", "days": "60"}, "every_days", "from 7 to 365"),
])
def test_bad_values_are_refused_with_a_message_for_the_field(key, values, field, message, frozen_now):
    cohort = make_cohort()
    with pytest.raises(DomainError) as error:
        change(cohort, key, **values)
    assert error.value.field == field and message in error.value.message
    assert rules_for([cohort.id])[cohort.id][key] == RULES[key].default


def test_only_the_team_changes_rules_and_a_change_is_audited(frozen_now):
    cohort = make_cohort()
    with pytest.raises(PermissionDenied):
        change(cohort, "session_reminders", team=make_participant(cohort), days="3", at="08:30")
    setting = change(cohort, "session_reminders", days="1 and 3", at="9.15")
    assert (setting.days, setting.at, setting.revision) == ((3, 1), time(9, 15), 1)
    assert change(cohort, "session_reminders", days="3, 1", at="09:15").revision == 1  # nothing changed
    [entry] = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "reminder_rule.changed")).all()
    assert entry.target_id == cohort.id and entry.detail["rule"] == "session_reminders"
    assert entry.detail["after"].startswith("3 days and 1 day before each session")


def test_a_rule_turned_off_plans_nothing_for_that_cohort_and_cancels_what_was_waiting(frozen_now):
    quiet, other = make_cohort(), make_cohort()
    make_participant(quiet), make_participant(other)
    plan_session_reminders(clock.now())
    assert rows(f"session-reminder:{_next_session(quiet).id}:", "pending")
    change(quiet, "session_reminders", enabled=False, days="7, 1", at="08:30")
    assert plan_session_reminders(clock.now()) == 0
    quiet_ids = {s.id for s in quiet.sessions}
    pending = rows("session-reminder:", "pending")
    assert pending and all(int(r.key.split(":")[1]) not in quiet_ids for r in pending)
    assert quiet.id not in enabled_rules("session_reminders") and other.id in enabled_rules("session_reminders")
    # Turned on again: fresh reminders, although the old keys were cancelled.
    change(quiet, "session_reminders", days="7, 1", at="08:30")
    assert plan_session_reminders(clock.now()) > 0
    assert rows(f"session-reminder:{_next_session(quiet).id}:", "pending")[0].key.endswith(":r2")


def test_new_timing_cancels_what_no_longer_fits_and_re_plans_without_repeating_what_was_sent(mailbox, time_machine):
    time_machine.move_to(datetime(2026, 11, 23, 10, tzinfo=UTC), tick=False)
    cohort = make_cohort()
    make_participant(cohort)
    module_day = next(s for s in cohort.sessions if s.kind == "module" and s.starts_at > clock.now() + timedelta(days=9))
    time_machine.move_to(module_day.starts_at - timedelta(days=7, hours=-1), tick=False)
    plan_session_reminders(clock.now())
    send_due(clock.now())
    assert [r.key.split(":")[3] for r in rows(f"session-reminder:{module_day.id}:", "sent")] == ["7d"]
    assert {r.key.split(":")[3] for r in rows(f"session-reminder:{module_day.id}:", "pending")} == {"1d", "morning"}

    change(cohort, "session_reminders", days="7, 3", at="09:15")
    assert rows(f"session-reminder:{module_day.id}:", "pending") == []
    plan_session_reminders(clock.now())
    planned = {r.key.split(":")[3]: r for r in rows(f"session-reminder:{module_day.id}:", "pending")}
    assert set(planned) == {"3d", "morning"}  # the 7-day one went already and is not sent again
    assert planned["3d"].due_at == module_day.starts_at - timedelta(days=3) and planned["3d"].key.endswith(":r1")
    assert clock.to_local(planned["morning"].due_at).strftime("%H:%M") == "09:15"
    send_due(planned["3d"].due_at)
    send_due(planned["morning"].due_at)
    assert len([m for m in mailbox if f"session-reminder:{module_day.id}:" in m["X-Convene-Key"]]) == 3


def test_preparation_guests_and_groups_follow_the_cohorts_timing(frozen_now):
    from app.celebration.jobs import plan_guest_reminders
    from app.celebration.services import celebration_session, invite_guest
    from app.groups.jobs import plan_group_reminders
    from app.groups.services import allocate_groups

    cohort = make_cohort()
    people = [make_participant(cohort) for _ in range(4)]
    module_day = next(s for s in cohort.sessions if s.kind == "module" and s.part == 1
                      and s.starts_at > clock.now() + timedelta(days=21))
    change(cohort, "module_preparation", days="21")
    frozen_now.move_to(module_day.starts_at - timedelta(days=22))
    plan_preparation_reminders(clock.now())
    assert [r.due_at for r in rows("preparation:")] == [module_day.starts_at - timedelta(days=21)] * 4

    [group] = allocate_groups(actor=make_team(), cohort=cohort, size=5, seed=1, now=clock.now())
    rota = next(r for r in group.rota if r.session.starts_at > clock.now() + timedelta(days=2))
    change(cohort, "co_consulting_morning", at="07:45")
    frozen_now.move_to(rota.session.starts_at - timedelta(days=1))
    plan_group_reminders(clock.now())
    group_rows = [r for r in rows("group-reminder:") if f":{rota.session_id}:" in r.key]
    assert group_rows and {clock.to_local(r.due_at).strftime("%H:%M") for r in group_rows} == {"07:45"}
    change(cohort, "co_consulting_morning", enabled=False, at="07:45")
    assert rows("group-reminder:", "pending") == [] and plan_group_reminders(clock.now()) == 0

    event = celebration_session(cohort.id)
    frozen_now.move_to(event.starts_at - timedelta(days=20))
    invite_guest(actor=people[0], cohort=cohort, name="Guest", email="guest@example.org", relationship="colleague",
                 now=clock.now())
    change(cohort, "guest_reminders", days="14")
    frozen_now.move_to(event.starts_at - timedelta(days=15))
    plan_guest_reminders(clock.now())
    [guest_row] = rows("guest-reminder:")
    assert guest_row.due_at == event.starts_at - timedelta(days=14) and ":14:" in guest_row.key


def test_application_rules_deadline_offer_and_line_manager_chasers(frozen_now):
    from app.applications.jobs import plan_application_reminders
    from app.applications.models import ApplicationStatus

    cohort = open_cohort(application_deadline_at=clock.now() + timedelta(days=12))
    draft = make_application(cohort)
    change(cohort, "application_deadline", days="10, 2")
    plan_application_reminders(clock.now())
    assert [r.key for r in rows("deadline-reminder:")] == [f"deadline-reminder:{draft.id}:10:r1:{draft.cohort.application_deadline_at:%Y%m%d%H%M}"]

    # Chasers go with the request: turned off, none are queued and waiting ones are cancelled.
    waiting = make_application(cohort, submit=True)
    approval = waiting.current_approval
    assert [r.key.split(":")[-1] for r in rows(f"sponsor-chaser:{approval.id}:", "pending")] == ["3", "7"]
    change(cohort, "sponsor_chaser", days="3")  # 7 dropped: cancelled; 3 still fits
    assert [r.key.split(":")[-1] for r in rows(f"sponsor-chaser:{approval.id}:", "pending")] == ["3"]
    change(cohort, "sponsor_chaser", enabled=False, days="3")
    assert rows("sponsor-chaser:", "pending") == []
    later = make_application(cohort, submit=True)
    assert rows(f"sponsor-chaser:{later.current_approval.id}:") == []

    offered = make_application(cohort, submit=True)
    offered.status = ApplicationStatus.OFFERED.value
    offered.offer_expires_at = clock.now() + timedelta(days=6)
    plan_application_reminders(clock.now())
    assert rows("offer-reminder:", "pending")[0].due_at == offered.offer_expires_at - timedelta(days=3)
    send_due(clock.now() + timedelta(days=3, minutes=1))
    change(cohort, "offer_lapse", days="2")
    plan_application_reminders(clock.now())
    assert rows("offer-reminder:", "pending") == []  # already reminded: not again under the new setting


def test_the_team_page_shows_each_rule_and_the_form_keeps_what_was_typed(client, login_as, frozen_now):
    cohort = make_cohort()
    login_as(make_team())
    page = client.get(f"/cohorts/{cohort.id}/reminder-rules").get_data(as_text=True)
    assert 'class="nhsuk-summary-list"' in page and "Feedback on a session" in page
    assert "7 days and 1 day before each session; on the morning of module days, at 08:30" in page
    assert f"/cohorts/{cohort.id}/reminder-rules/session_reminders" in page
    assert f"/cohorts/{cohort.id}/reminder-rules" in client.get("/team/reminders").get_data(as_text=True)

    path = f"/cohorts/{cohort.id}/reminder-rules/session_reminders"
    form = client.get(path).get_data(as_text=True)
    assert 'value="7, 1"' in form and 'value="08:30"' in form and 'name="csrf_token"' in form
    token = csrf_token(client, path)
    response = client.post(path, data={"csrf_token": token, "enabled": "yes", "days": "7, 0", "at": "25:00"})
    body = response.get_data(as_text=True)
    assert response.status_code == 200 and "nhsuk-error-summary" in body and "<title>Error:" in body
    assert 'id="days-error"' in body and 'aria-describedby="days-hint days-error"' in body
    assert "Each number of days must be 1 or more." in body and 'value="7, 0"' in body and 'value="25:00"' in body
    # Every wrong answer is named at once, each beside its field, not one at a time.
    assert 'id="at-error"' in body and "Enter a time between 00:00 and 23:59" in body
    assert body.count('href="#days"') == 1 and body.count('href="#at"') == 1
    assert rules_for([cohort.id])[cohort.id]["session_reminders"].revision == 0

    response = client.post(path, data={"enabled": "no", "days": "7", "at": "08:30"})
    assert response.status_code == 400  # no CSRF token
    response = client.post(path, data={"csrf_token": token, "enabled": "yes", "days": "5, 2", "at": "09:00"})
    assert response.status_code == 302 and response.headers["Location"].endswith(f"/cohorts/{cohort.id}/reminder-rules")
    setting = rules_for([cohort.id])[cohort.id]["session_reminders"]
    assert (setting.days, setting.at) == ((5, 2), time(9, 0))
    page = client.get(f"/cohorts/{cohort.id}/reminder-rules").get_data(as_text=True)
    assert "Changed for this cohort" in page
    assert client.get(f"/cohorts/{cohort.id}/reminder-rules/nonsense").status_code == 404


def test_pending_rows_of_a_cancelled_rule_are_never_sent(mailbox, frozen_now):
    cohort = make_cohort()
    make_participant(cohort)
    plan_session_reminders(clock.now())
    change(cohort, "session_reminders", enabled=False, days="7, 1", at="08:30")
    send_due(clock.now() + timedelta(days=8))
    assert not [m for m in mailbox if "session-reminder" in m["X-Convene-Key"]]
    assert all(r.status == OutboxStatus.CANCELLED for r in rows("session-reminder:"))


def test_the_readme_and_the_rules_page_say_the_same_about_the_community_meetings_reminder():
    from pathlib import Path

    from app.programme.reminder_rules import RULES, describe

    row = next(line for line in (Path(__file__).parents[1] / "README.md").read_text().splitlines()
               if line.startswith("| participants | log your CoP's meetings |"))
    page = describe(RULES["cop_meetings"].default)
    for words in ("30 days", "60 days", "09:00 UK time", "a weekend moves to the Monday"):
        assert words in row and words in page, words
