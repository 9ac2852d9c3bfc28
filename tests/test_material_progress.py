"""Participants are told when a module's material is released (within the reminder rules, opt-out respected)
and keep their own checklist of resources done, with progress per module (issue 23, point 11)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from sqlalchemy import select

from app import clock
from app.db import db
from app.notifications.models import OutboxMessage
from app.portal import progress
from app.portal.jobs import plan_material_notices
from app.portal.models import Resource, ResourceProgress
from app.portal.services import ResourceDetails, share_resource
from app.programme.reminder_rules import change_reminder_rule
from app.scheduler import plan_reminders
from tests.conftest import count_queries, csrf_token
from tests.factories import make_cohort, make_participant, make_team


def material(team, cohort, title, *, module=2, release_on: date | None = None, **kwargs):
    release = clock.local_instant(release_on, datetime.min.time(), cohort.timezone) if release_on else None
    return share_resource(actor=team, cohort=cohort, upload=None, now=clock.now(), details=ResourceDetails(
        title=title, url="https://example.org/m", kind="reading", module_number=module, release_at=release, **kwargs))


def notices() -> list[OutboxMessage]:
    return list(db.session.scalars(select(OutboxMessage).where(OutboxMessage.key.startswith("material-released:"))
                                   .order_by(OutboxMessage.recipient)))


# -- release notices -------------------------------------------------------------------------

def test_participants_hear_on_the_release_day_at_eight_and_not_before(frozen_now):
    cohort = make_cohort()
    make_participant(cohort, email="pat@example.org")
    team = make_team()
    material(team, cohort, "Reading on boundaries", release_on=date(2026, 11, 25))
    material(team, cohort, "Slides for module 2", release_on=date(2026, 11, 25))
    assert plan_material_notices(clock.now()) == 0  # released in two days: nothing planned ahead
    frozen_now.move_to(datetime(2026, 11, 25, 7, 59, tzinfo=UTC))
    assert plan_material_notices(clock.now()) == 0
    frozen_now.move_to(datetime(2026, 11, 25, 8, 5, tzinfo=UTC))
    assert plan_material_notices(clock.now()) == 1
    (message,) = notices()
    assert message.recipient == "pat@example.org"
    assert message.category == "reminder"  # the optional kind: turned off with reminders
    assert message.subject.startswith("New material for Module 2")
    assert "Reading on boundaries" in message.body_text and "Slides for module 2" in message.body_text
    assert f"/cohorts/{cohort.id}/modules/2" in message.body_text
    assert message.due_at == clock.now()  # sent at once, and dropped if it could not be within two days
    assert message.expires_at == datetime(2026, 11, 27, 8, 0, tzinfo=UTC)
    assert plan_material_notices(clock.now()) == 0  # written once


def test_material_moved_to_a_later_date_is_not_announced_on_the_old_one(frozen_now):
    cohort = make_cohort()
    make_participant(cohort)
    item = material(make_team(), cohort, "Held back", release_on=date(2026, 11, 25))
    frozen_now.move_to(datetime(2026, 11, 24, 12, 0, tzinfo=UTC))
    item.release_at = clock.local_instant(date(2026, 12, 2), datetime.min.time(), cohort.timezone)
    db.session.flush()
    frozen_now.move_to(datetime(2026, 11, 25, 9, 0, tzinfo=UTC))
    assert plan_material_notices(clock.now()) == 0
    assert notices() == []


def test_material_without_a_date_is_announced_an_hour_after_it_was_added_in_one_email(frozen_now):
    cohort = make_cohort()
    make_participant(cohort)
    team = make_team()
    material(team, cohort, "First")
    frozen_now.shift(timedelta(minutes=20))
    material(team, cohort, "Second")
    frozen_now.shift(timedelta(minutes=30))
    assert plan_material_notices(clock.now()) == 0  # the first is 50 minutes old
    frozen_now.shift(timedelta(minutes=45))
    assert plan_material_notices(clock.now()) == 1
    assert "First" in notices()[0].body_text and "Second" in notices()[0].body_text


def test_opted_out_people_withdrawn_people_and_shared_resources_are_left_out(frozen_now):
    cohort = make_cohort()
    make_participant(cohort, email="yes@example.org")
    make_participant(cohort, email="no@example.org", wants_reminders=False)
    team = make_team()
    sharer = make_participant(cohort, email="sharer@example.org")
    share_resource(actor=sharer, cohort=cohort, upload=None, now=clock.now(), details=ResourceDetails(
        title="A participant's link", url="https://example.org/p", kind="tool", module_number=2))
    frozen_now.shift(timedelta(hours=2))
    assert plan_material_notices(clock.now()) == 0  # what participants share is not material
    material(team, cohort, "Team reading")
    frozen_now.shift(timedelta(hours=2))
    plan_material_notices(clock.now())
    assert {m.recipient for m in notices()} == {"yes@example.org", "sharer@example.org"}


def test_the_rule_can_be_turned_off_per_cohort_and_runs_in_the_scheduler(frozen_now):
    quiet, loud = make_cohort(), make_cohort()
    make_participant(quiet, email="quiet@example.org")
    make_participant(loud, email="loud@example.org")
    team = make_team()
    change_reminder_rule(actor=team, cohort=quiet, key="material_released", enabled=False, at="08:00",
                         now=clock.now())
    material(team, quiet, "Quiet reading")
    material(team, loud, "Loud reading")
    frozen_now.shift(timedelta(hours=2))
    plan_reminders(clock.now())
    assert [m.recipient for m in notices()] == ["loud@example.org"]


def test_programme_wide_material_is_announced_to_each_cohort(frozen_now):
    first, second = make_cohort(), make_cohort()
    make_participant(first, email="a@example.org")
    make_participant(second, email="b@example.org")
    material(make_team(), first, "For everyone", all_cohorts=True)
    frozen_now.shift(timedelta(hours=2))
    plan_material_notices(clock.now())
    by_recipient = {m.recipient: m for m in notices()}
    assert set(by_recipient) == {"a@example.org", "b@example.org"}
    assert f"/cohorts/{second.id}/modules/2" in by_recipient["b@example.org"].body_text


# -- checklist and progress ------------------------------------------------------------------

def test_a_participant_marks_resources_done_and_sees_progress_on_the_module_and_home(client, login_as, frozen_now):
    cohort = make_cohort()
    person = make_participant(cohort)
    team = make_team()
    first = material(team, cohort, "Reading one")
    material(team, cohort, "Reading two")
    material(team, cohort, "Not yet", release_on=date(2027, 1, 4))  # not counted until released
    material(team, cohort, "Module 3 reading", module=3)
    first_id, cohort_id = first.id, cohort.id
    login_as(person)
    page = client.get(f"/cohorts/{cohort_id}/modules/2").get_data(as_text=True)
    assert "You have done 0 of 2 resources for this module." in page
    response = client.post(f"/resources/{first_id}/done?back=module",
                           data={"csrf_token": csrf_token(client, f"/resources/{first_id}"), "on": "1"})
    assert response.status_code == 302
    assert response.headers["Location"].endswith(f"/cohorts/{cohort_id}/modules/2#resource-{first_id}")
    page = client.get(f"/cohorts/{cohort_id}/modules/2").get_data(as_text=True)
    assert "You have done 1 of 2 resources for this module." in page
    assert "Mark as not done" in page
    home = client.get("/home").get_data(as_text=True)
    assert "(1 of 2 done)" in home and "(0 of 1 done)" in home
    # Undo.
    client.post(f"/resources/{first_id}/done", data={"csrf_token": csrf_token(client, f"/resources/{first_id}"),
                                                     "on": "0"})
    assert db.session.scalars(select(ResourceProgress)).all() == []


def test_marking_done_twice_is_harmless_and_progress_is_ones_own(frozen_now):
    cohort = make_cohort()
    person, other = make_participant(cohort), make_participant(cohort)
    item = material(make_team(), cohort, "Reading")
    for _ in range(2):
        progress.set_done(actor=person, resource=item, cohort=cohort, done=True, now=clock.now())
    assert progress.module_progress(person, cohort, clock.now())[2].summary == "1 of 1 done"
    assert progress.module_progress(other, cohort, clock.now())[2].summary == "0 of 1 done"


def test_only_participants_who_can_see_a_resource_mark_it(client, login_as, frozen_now):
    cohort = make_cohort()
    hidden = material(make_team(), cohort, "Later", release_on=date(2027, 1, 4))
    shown = material(make_team(), cohort, "Now")
    outsider = make_participant(make_cohort())
    person = make_participant(cohort)
    hidden_id, shown_id = hidden.id, shown.id
    login_as(person)
    token = csrf_token(client, f"/resources/{shown_id}")
    assert client.post(f"/resources/{hidden_id}/done", data={"csrf_token": token, "on": "1"}).status_code == 404
    login_as(outsider)
    assert client.post(f"/resources/{shown_id}/done", data={"csrf_token": token, "on": "1"}).status_code in (400, 404)
    login_as(make_team())
    token = csrf_token(client, f"/resources/{shown_id}")
    response = client.post(f"/resources/{shown_id}/done", data={"csrf_token": token, "on": "1"}, follow_redirects=True)
    assert "Only participants keep a checklist" in response.get_data(as_text=True)
    assert db.session.scalars(select(ResourceProgress)).all() == []
    assert db.session.get(Resource, shown_id) is not None


def test_the_module_page_and_home_do_the_same_queries_for_3_or_30_resources(app, client, login_as, frozen_now):
    cohort = make_cohort()
    person = make_participant(cohort)
    team = make_team()
    cohort_id = cohort.id
    login_as(person)
    counts = []
    for _ in range(2):
        items = [material(team, cohort, f"Reading {n}") for n in range(3 if not counts else 27)]
        for item in items[::2]:
            progress.set_done(actor=person, resource=item, cohort=cohort, done=True, now=clock.now())
        db.session.commit()
        counts.append((count_queries(app, client, f"/cohorts/{cohort_id}/modules/2"),
                       count_queries(app, client, "/home")))
    assert counts[0] == counts[1]
    assert "You have done 16 of 30 resources" in client.get(f"/cohorts/{cohort_id}/modules/2").get_data(as_text=True)
