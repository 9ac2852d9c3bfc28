"""Several cohorts taking applications, cohorts the team can change, line managers who decline,
organisations applicants add, reviewers and blind review, bulk decisions and releasing outcomes."""

from __future__ import annotations

import html
import re
from collections import Counter
from datetime import date, datetime, time, timedelta

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from app import clock
from app.applications import services
from app.applications.models import Application, ApplicationStatus, Decision, ReviewAssignment
from app.audit import AuditEvent
from app.auth.models import Organisation
from app.db import db
from app.errors import Conflict, DomainError, PermissionDenied
from app.notifications.models import OutboxMessage, OutboxStatus
from app.programme import services as programme
from tests.conftest import csrf_token
from tests.factories import (
    make_application,
    make_cohort,
    make_facilitator,
    make_organisation,
    make_participant,
    make_team,
    make_user,
    open_cohort,
)
from tests.test_applications import approved, outbox, sponsor_token

LATER = date(2027, 4, 5)  # cohorts that start after their application windows


def text(response) -> str:
    """The page's words as a reader gets them: no tags, entities decoded, spaces collapsed."""
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", response.get_data(as_text=True))).split())


def audit_actions() -> list[str]:
    return list(db.session.scalars(select(AuditEvent.action).order_by(AuditEvent.id)))


# -- several cohorts taking applications --------------------------------------------------------

def test_every_open_cohort_is_offered_and_a_new_one_opening_earlier_takes_nothing_over(client, login_as, frozen_now):
    now = clock.now()
    spring = make_cohort(name="Spring 2027", starts_on=LATER, applications_open_at=now - timedelta(days=3),
                         application_deadline_at=now + timedelta(days=10))
    autumn = make_cohort(name="Autumn 2027", starts_on=date(2027, 9, 13), applications_open_at=now - timedelta(days=1),
                         application_deadline_at=now + timedelta(days=40))
    two = text(client.get("/apply"))
    assert "2 cohorts are taking applications" in two
    assert f'href="/apply/{spring.id}"' in client.get("/apply").get_data(as_text=True)
    # A third cohort whose window opened earlier than both: it joins the list, it does not replace it.
    summer = make_cohort(name="Summer 2027", starts_on=date(2027, 6, 7), applications_open_at=now - timedelta(days=30),
                         application_deadline_at=now + timedelta(days=20))
    db.session.commit()
    three = text(client.get("/apply"))
    assert "3 cohorts are taking applications" in three
    assert three.index("Spring 2027") < three.index("Summer 2027") < three.index("Autumn 2027")  # soonest deadline first
    home = text(client.get("/"))
    assert all(f"Applications for {name} are open until" in home for name in ("Spring 2027", "Summer 2027", "Autumn 2027"))

    applicant = make_user()
    login_as(applicant)
    page = text(client.get(f"/apply/{autumn.id}"))
    assert "Apply for a place: Autumn 2027" in page and "Start your application" in page
    token = csrf_token(client, f"/apply/{autumn.id}")
    started = client.post("/apply", data={"csrf_token": token, "cohort_id": autumn.id})
    mine = db.session.scalars(select(Application).where(Application.applicant_id == applicant.id)).one()
    assert mine.cohort_id == autumn.id and started.headers["Location"].endswith(f"/applications/{mine.id}/edit")
    client.post("/apply", data={"csrf_token": token, "cohort_id": spring.id})  # and a second cohort too
    assert sorted(a.cohort_id for a in services.applications_of(applicant)) == sorted([autumn.id, spring.id])
    chooser = text(client.get("/apply"))
    assert chooser.count("Continue your application") == 2 and f"Apply to {summer.name}" in chooser
    assert "Applications for Summer 2027 are open until" in text(client.get("/my-applications"))


def test_starting_an_application_names_a_cohort_that_is_open(client, login_as, frozen_now):
    now = clock.now()
    closed = make_cohort(starts_on=LATER, applications_open_at=now - timedelta(days=30),
                         application_deadline_at=now - timedelta(days=1))
    open_cohort(starts_on=LATER)
    login_as(make_user())
    token = csrf_token(client, "/apply")
    missing = client.post("/apply", data={"csrf_token": token}, follow_redirects=True)
    assert "Choose the cohort you are applying to." in text(missing)
    refused = client.post("/apply", data={"csrf_token": token, "cohort_id": closed.id}, follow_redirects=True)
    assert "The application deadline has passed" in text(refused)
    assert db.session.scalar(select(Application.id)) is None


# -- changing a cohort ---------------------------------------------------------------------------

def _settings_form(cohort, **changes) -> dict:
    tz = cohort.timezone
    data = {"name": cohort.name, "capacity": cohort.capacity, "offer_response_days": cohort.offer_response_days,
            "guest_capacity": cohort.guest_capacity, "blind_review": "y" if cohort.blind_review else "",
            "applications_open": clock.to_local(cohort.applications_open_at, tz).date().isoformat(),
            "application_deadline": clock.to_local(cohort.application_deadline_at, tz).date().isoformat()}
    data.update(changes)
    return {k: v for k, v in data.items() if v != ""}


def test_the_team_changes_a_cohort_and_applicants_hear_when_the_deadline_moves(client, login_as, frozen_now):
    cohort = open_cohort(starts_on=LATER, name="2027 cohort")
    draft = make_application(cohort)
    waiting = make_application(cohort, submit=True)
    declined = make_application(cohort, submit=True)
    services.record_sponsor_decision(token=sponsor_token(declined), approve=False, confirms_release=False,
                                     comment="Not this year", now=clock.now())
    ready = approved(cohort)
    from app.applications.jobs import plan_application_reminders

    frozen_now.move_to(cohort.application_deadline_at - timedelta(days=7, hours=1))
    plan_application_reminders(clock.now())
    planned = outbox(f"deadline-reminder:{draft.id}:")
    assert planned and {m.status for m in planned} == {"pending"}
    team = make_team()
    db.session.commit()
    login_as(team)
    path = f"/cohorts/{cohort.id}/settings"
    new_deadline = clock.to_local(cohort.application_deadline_at, cohort.timezone).date() + timedelta(days=14)
    saved = client.post(path, data={"csrf_token": csrf_token(client, path), **_settings_form(
        cohort, name="2027 to 2028", capacity="20", offer_response_days="10", guest_capacity="45", blind_review="",
        application_deadline=new_deadline.isoformat())}, follow_redirects=True)
    page = text(saved)
    assert "Saved: name, places, application deadline, days to answer an offer, guest places, blind review." in page
    assert "emailed" in page
    assert (cohort.name, cohort.capacity, cohort.offer_response_days, cohort.guest_capacity, cohort.blind_review) == (
        "2027 to 2028", 20, 10, 45, False)
    assert clock.to_local(cohort.application_deadline_at, cohort.timezone).replace(tzinfo=None) == datetime.combine(
        new_deadline, time(23, 59))
    told = {m.recipient for m in outbox("deadline-moved:")}
    assert told == {draft.applicant.email, waiting.applicant.email, declined.applicant.email}  # not the approved one
    assert ready.applicant.email not in told
    moved = outbox(f"deadline-moved:{draft.id}:")[0]
    assert "it is now" in moved.body_text and new_deadline.strftime("%B") in moved.body_text
    # The reminder planned for the old deadline is cancelled; the next pass plans one for the new date.
    assert {m.status for m in outbox(f"deadline-reminder:{draft.id}:")} == {"cancelled"}
    frozen_now.move_to(cohort.application_deadline_at - timedelta(days=7, hours=1))
    plan_application_reminders(clock.now())
    replanned = [m for m in outbox(f"deadline-reminder:{draft.id}:") if m.status == "pending"]
    assert replanned and all(m.due_at >= cohort.application_deadline_at - timedelta(days=7) for m in replanned)
    event = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "cohort_settings_changed")).one()
    assert event.actor_id == team.id and event.detail["capacity"] == [28, 20] and event.detail["name"][1] == "2027 to 2028"


def test_cohort_changes_that_would_break_promises_are_refused_and_keep_what_was_typed(client, login_as, frozen_now):
    cohort = open_cohort(starts_on=LATER, capacity=5)
    team = make_team()
    for application in (approved(cohort), approved(cohort)):
        services.set_decision(actor=team, application=application, decision=Decision.OFFER, now=clock.now())
    from app.celebration.models import Guest
    from app.celebration.services import invite_guest

    host = make_participant(cohort)
    guests = [invite_guest(actor=host, cohort=cohort, name=f"Guest {n}", email=f"guest{n}@example.org",
                           relationship="colleague", now=clock.now()) for n in range(3)]
    for guest in guests:
        guest.rsvp = "yes"
    db.session.commit()
    login_as(team)
    path = f"/cohorts/{cohort.id}/settings"
    token = csrf_token(client, path)
    cases = [({"capacity": "1"}, "2 places are already accepted, offered or decided as offers", "capacity"),
             ({"guest_capacity": "2"}, "3 guests have said they are coming", "guest_capacity"),
             ({"application_deadline": (clock.local_today() - timedelta(days=1)).isoformat()},
              "That deadline has already passed", "application_deadline"),
             ({"application_deadline": LATER.isoformat()}, "must be before the cohort starts", "application_deadline"),
             ({"offer_response_days": "0"}, "between 1 and 60", "offer_response_days")]
    for changes, message, field in cases:
        response = client.post(path, data={"csrf_token": token, **_settings_form(cohort, **changes)})
        page = response.get_data(as_text=True)
        assert response.status_code == 200 and message in page, (changes, message)
        assert f'href="#{field}"' in page  # the error summary links to the field
        value = next(iter(changes.values()))
        assert f'value="{value}"' in page  # what was typed is kept
    db.session.refresh(cohort)
    assert (cohort.capacity, cohort.guest_capacity, cohort.offer_response_days) == (5, 60, 14)
    assert "cohort_settings_changed" not in audit_actions()
    assert db.session.scalar(select(Guest.id).where(Guest.rsvp == "yes")) is not None


def test_only_the_team_changes_a_cohort(client, login_as, frozen_now):
    cohort = open_cohort(starts_on=LATER)
    login_as(make_facilitator())
    assert client.get(f"/cohorts/{cohort.id}/settings").status_code == 403
    with pytest.raises(PermissionDenied):
        programme.change_cohort_settings(actor=make_user(), cohort=cohort, now=clock.now(), settings=programme.CohortSettings(
            name="x", capacity=1, applications_open_at=None, application_deadline_at=None, offer_response_days=1,
            guest_capacity=1, blind_review=True, apologies_excused=False))


# -- a line manager who declines -----------------------------------------------------------------

def test_a_declined_applicant_asks_a_different_line_manager(client, login_as, frozen_now):
    cohort = open_cohort(starts_on=LATER)
    application = make_application(cohort, submit=True)
    first_token = sponsor_token(application)
    services.record_sponsor_decision(token=first_token, approve=False, confirms_release=False,
                                     comment="We cannot release you during the restructure", now=clock.now())
    db.session.commit()
    login_as(application.applicant)
    status = text(client.get(f"/applications/{application.id}"))
    assert "We cannot release you during the restructure" in status
    assert "Ask a different line manager" in status and "withdraw your application" in status
    path = f"/applications/{application.id}/line-manager"
    token = csrf_token(client, path)
    same = client.post(path, data={"csrf_token": token, "sponsor_name": "Pat Manager",
                                   "sponsor_email": application.sponsor_email, "sponsor_job_title": "Chief"})
    assert "has already declined. Ask a different line manager." in text(same)
    asked = client.post(path, data={"csrf_token": token, "sponsor_name": "Sam Director",
                                    "sponsor_email": "sam.director@example.org", "sponsor_job_title": "Director"},
                        follow_redirects=True)
    assert "We have emailed Sam Director" in text(asked)
    assert application.status == ApplicationStatus.AWAITING_SPONSOR
    # The first link shows its answer and cannot be used again; the new one works.
    first_page = text(client.get(f"/sponsor/{first_token}"))
    assert "Send my answer" not in first_page
    second = sponsor_token(application)
    assert second != first_token and application.current_approval.sponsor_email == "sam.director@example.org"
    services.record_sponsor_decision(token=second, approve=True, confirms_release=True, comment="", now=clock.now())
    assert application.status == ApplicationStatus.SPONSOR_APPROVED
    history = [(e.to_status, e.note) for e in application.events]
    assert ("sponsor_declined", "") in history and ("awaiting_sponsor", "Asked Sam Director to sign off") in history
    assert [a.decision for a in application.approvals] == ["declined", "approved"]
    team_page = client  # the team's page shows both answers in the history
    login_as(make_team())
    detail = text(team_page.get(f"/team/applications/{application.id}"))
    assert "Line manager declined" in detail and "The line manager, from their emailed link" in detail


def test_after_the_deadline_a_declined_applicant_cannot_ask_again(frozen_now):
    cohort = open_cohort(starts_on=LATER)
    application = make_application(cohort, submit=True)
    services.record_sponsor_decision(token=sponsor_token(application), approve=False, confirms_release=False,
                                     comment="No", now=clock.now())
    frozen_now.move_to(cohort.application_deadline_at + timedelta(minutes=1))
    with pytest.raises(Conflict, match="Applications have closed"):
        services.change_sponsor(actor=application.applicant, application=application, name="Other",
                                email="other@example.org", job_title="", now=clock.now())


# -- withdrawing cancels every email still to go ------------------------------------------------

def test_withdrawing_cancels_every_pending_email_about_the_application(frozen_now):
    cohort = open_cohort(starts_on=LATER)
    application = make_application(cohort, submit=True)
    other = make_application(cohort, submit=True)
    pending_before = {m.key for m in db.session.scalars(select(OutboxMessage).where(
        OutboxMessage.status == OutboxStatus.PENDING.value))}
    assert any(k.startswith("sponsor-chaser:") for k in pending_before)
    services.withdraw_application(actor=application.applicant, application=application, now=clock.now())
    db.session.flush()
    approval_ids = {a.id for a in application.approvals}
    still = [m.key for m in db.session.scalars(select(OutboxMessage).where(
        OutboxMessage.status == OutboxStatus.PENDING.value))]
    about = [k for k in still if f":{application.id}:" in k or k.endswith(f":{application.id}")
             or any(k.startswith(f"sponsor-{kind}:{i}:") for i in approval_ids for kind in ("request", "chaser"))]
    assert about == []
    assert any(k.startswith(f"sponsor-chaser:{other.current_approval.id}:") for k in still)  # others untouched


# -- organisations applicants add ----------------------------------------------------------------

def test_an_organisation_one_applicant_adds_is_offered_to_others_only_once_accepted(client, login_as, frozen_now):
    cohort = open_cohort(starts_on=LATER)
    make_organisation(name="Harbour Health NHS Trust")
    adder = make_user()
    added = make_application(cohort, applicant=adder, organisation_id=None, new_organisation_name="Gull Island Hospice",
                             new_organisation_kind="charity")
    other = make_application(cohort)
    hospice = db.session.scalars(select(Organisation).where(Organisation.name == "Gull Island Hospice")).one()
    assert hospice.accepted_at is None and added.organisation_id == hospice.id
    db.session.commit()
    login_as(adder)
    assert "Gull Island Hospice" in client.get(f"/applications/{added.id}/edit").get_data(as_text=True)
    login_as(other.applicant)
    edit = client.get(f"/applications/{other.id}/edit").get_data(as_text=True)
    assert "Gull Island Hospice" not in edit and "Harbour Health NHS Trust" in edit
    with pytest.raises(DomainError, match="Choose your organisation from the list"):
        services.save_draft(actor=other.applicant, application=other, now=clock.now(),
                            answers=services.Answers(organisation_id=hospice.id))
    db.session.rollback()

    team = make_team()
    db.session.commit()
    login_as(team)
    listing = text(client.get("/team/organisations"))
    assert "Gull Island Hospice" in listing and f"{adder.name}'s application" in listing
    token = csrf_token(client, "/team/organisations")
    client.post(f"/team/organisations/{hospice.id}/accept", data={"csrf_token": token})
    assert db.session.get(Organisation, hospice.id).accepted_at is not None
    login_as(other.applicant)
    assert "Gull Island Hospice" in client.get(f"/applications/{other.id}/edit").get_data(as_text=True)
    assert "organisation_accepted" in audit_actions()


def test_a_variant_spelling_is_merged_into_the_organisation_on_the_list(client, login_as, frozen_now):
    cohort = open_cohort(starts_on=LATER)
    harbour = make_organisation(name="Harbour Health NHS Trust")
    application = make_application(cohort, organisation_id=None, new_organisation_name="Harbour Health Trust",
                                   new_organisation_kind="nhs_trust")
    variant = application.organisation
    team = make_team()
    db.session.commit()
    login_as(team)
    token = csrf_token(client, "/team/organisations")
    bad = client.post(f"/team/organisations/{variant.id}/merge", data={"csrf_token": token, f"o{variant.id}-into": "0"},
                      follow_redirects=True)
    assert "Choose the organisation on the list that this one is." in text(bad)
    done = client.post(f"/team/organisations/{variant.id}/merge",
                       data={"csrf_token": token, f"o{variant.id}-into": str(harbour.id)}, follow_redirects=True)
    assert "Harbour Health Trust is now Harbour Health NHS Trust" in text(done)
    assert db.session.get(Application, application.id).organisation_id == harbour.id
    names = db.session.scalars(select(Organisation.name)).all()
    assert "Harbour Health NHS Trust" in names and "Harbour Health Trust" not in names


# -- reviewers and blind review ------------------------------------------------------------------

def test_a_reviewer_sees_only_their_assignments_and_no_scores_until_they_have_scored(client, login_as, frozen_now):
    cohort = open_cohort(starts_on=LATER)
    team = make_team(name="Tess Team")
    reviewer = make_facilitator(name="Rhys Reviewer")
    other_reviewer = make_facilitator(name="Orla Other")
    mine, not_mine = approved(cohort), approved(cohort)
    services.assign_reviewers(actor=team, application=mine, reviewer_ids=[reviewer.id, other_reviewer.id],
                              now=clock.now())
    services.assign_reviewers(actor=team, application=not_mine, reviewer_ids=[other_reviewer.id], now=clock.now())
    services.score_application(actor=other_reviewer, application=mine, boundary=5, ambition=5, readiness=4,
                               comment="Strong work across boundaries")
    db.session.commit()
    login_as(reviewer)
    listing = text(client.get("/team/reviews"))
    assert mine.applicant.name in listing and not_mine.applicant.name not in listing and "1 of 1 still to score" in listing
    assert client.get(f"/team/reviews/{not_mine.id}").status_code == 404
    assert client.get(f"/team/applications/{mine.id}").status_code == 403  # the team's page is the team's
    before = text(client.get(f"/team/reviews/{mine.id}"))
    assert "Strong work across boundaries" not in before and "14 of 15" not in before
    assert "you see other reviewers' scores once you have saved yours" in before
    token = csrf_token(client, f"/team/reviews/{mine.id}")
    refused = client.post(f"/team/applications/{not_mine.id}/review",
                          data={"csrf_token": token, "boundary": "1", "ambition": "1", "readiness": "1"})
    assert refused.status_code == 404 and len(not_mine.reviews) == 0
    client.post(f"/team/applications/{mine.id}/review",
                data={"csrf_token": token, "boundary": "3", "ambition": "4", "readiness": "4", "comment": "Promising"})
    after = text(client.get(f"/team/reviews/{mine.id}"))
    assert "Strong work across boundaries" in after and "14 of 15" in after
    assert "0 of 1 still to score" in text(client.get("/team/reviews"))

    # The team sees every score and comment, and each reviewer's progress.
    login_as(team)
    detail = text(client.get(f"/team/applications/{mine.id}"))
    assert "Strong work across boundaries" in detail and "Promising" in detail
    progress = text(client.get(f"/team/cohorts/{cohort.id}/reviewers"))
    assert "Orla Other 2 1 1" in progress and "Rhys Reviewer 1 1 0" in progress


def test_blind_review_covers_a_team_member_who_is_reviewing_and_can_be_turned_off(frozen_now):
    cohort = open_cohort(starts_on=LATER)
    lead, reviewing_team_member, facilitator = make_team(), make_team(), make_facilitator()
    application = approved(cohort)
    services.assign_reviewers(actor=lead, application=application,
                              reviewer_ids=[reviewing_team_member.id, facilitator.id], now=clock.now())
    services.score_application(actor=facilitator, application=application, boundary=4, ambition=4, readiness=4)
    assert services.can_see_scores(lead, application)  # deciding, not reviewing
    assert not services.can_see_scores(reviewing_team_member, application)
    assert not services.can_see_scores(make_facilitator(), application)  # not a reviewer of it at all
    cohort.blind_review = False
    assert services.can_see_scores(reviewing_team_member, application)
    with pytest.raises(PermissionDenied):
        services.score_application(actor=make_facilitator(), application=application, boundary=1, ambition=1,
                                   readiness=1)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(applications=st.integers(min_value=1, max_value=12), reviewers=st.integers(min_value=1, max_value=5),
       per=st.integers(min_value=1, max_value=3), data=st.data())
def test_sharing_out_spreads_the_load_and_nobody_reviews_their_own(frozen_now, applications, reviewers, per, data):
    per = min(per, reviewers)
    cohort = open_cohort(starts_on=LATER)
    team = make_team()
    people = [make_facilitator() for _ in range(reviewers)]
    submitted = [make_application(cohort, submit=True) for _ in range(applications)]
    # Some applications already have a reviewer; one reviewer may also be an applicant.
    for application in data.draw(st.lists(st.sampled_from(submitted), max_size=3, unique=True)):
        services.assign_reviewers(actor=team, application=application, reviewer_ids=[people[0].id], now=clock.now())
    services.share_out(actor=team, cohort=cohort, reviewer_ids=[p.id for p in people], per_application=per,
                       now=clock.now())
    load = Counter()
    for application in submitted:
        chosen = [a.reviewer_id for a in application.assignments]
        assert len(chosen) == len(set(chosen)) >= per
        assert application.applicant_id not in chosen
        load.update(chosen)
    counts = [load[p.id] for p in people]
    assert max(counts) - min(counts) <= 1 + (3 if per < reviewers else 0)  # the pre-assigned three may tip it
    assert sum(counts) == sum(len(a.assignments) for a in submitted)
    db.session.rollback()
    for table in reversed(db.metadata.sorted_tables):
        db.session.execute(table.delete())
    db.session.commit()


def test_reviewers_are_chosen_from_the_team_and_facilitators_only(frozen_now):
    cohort = open_cohort(starts_on=LATER)
    team = make_team()
    application = approved(cohort)
    with pytest.raises(DomainError, match="only the team and facilitators"):
        services.assign_reviewers(actor=team, application=application, reviewer_ids=[make_user().id],
                                  now=clock.now())
    with pytest.raises(PermissionDenied):
        services.assign_reviewers(actor=make_facilitator(), application=application, reviewer_ids=[], now=clock.now())
    services.assign_reviewers(actor=team, application=application, reviewer_ids=[team.id], now=clock.now())
    assert db.session.scalar(select(ReviewAssignment.reviewer_id)) == team.id
    assert "reviewers_assigned" in audit_actions()


# -- deciding in bulk and releasing outcomes ---------------------------------------------------

def test_decisions_for_many_applications_at_once_all_or_none(client, login_as, frozen_now):
    cohort = open_cohort(starts_on=LATER, capacity=3)
    team = make_team()
    pool = [approved(cohort) for _ in range(4)]
    db.session.commit()
    login_as(team)
    path = f"/team/cohorts/{cohort.id}/selection"
    token = csrf_token(client, path)
    too_many = client.post(path, data={"csrf_token": token, "decision": "offer", "applications": [a.id for a in pool]})
    page = text(too_many)
    assert "Only 3 of 3 places are free, and this would offer 4 more." in page
    assert too_many.get_data(as_text=True).count(" checked>") == 4  # the ticks are kept
    assert [a.decision for a in pool] == [None] * 4
    nothing = client.post(path, data={"csrf_token": token, "decision": "offer"})
    assert "Tick the applications this decision is for." in text(nothing)
    client.post(path, data={"csrf_token": token, "decision": "offer", "applications": [a.id for a in pool[:3]]})
    client.post(path, data={"csrf_token": token, "decision": "waitlist", "applications": [pool[3].id]})
    assert [a.decision for a in pool] == ["offer", "offer", "offer", "waitlist"]
    assert audit_actions().count("selection_decision") == 4


def test_release_previews_each_email_with_the_teams_words_and_an_end_of_day_deadline(client, login_as, frozen_now):
    cohort = open_cohort(starts_on=LATER, capacity=5)
    team = make_team()
    offer, waitlist, no = approved(cohort), approved(cohort), approved(cohort)
    services.set_decisions(actor=team, applications=[offer], decision=Decision.OFFER, now=clock.now())
    services.set_decisions(actor=team, applications=[waitlist], decision=Decision.WAITLIST, now=clock.now())
    services.set_decisions(actor=team, applications=[no], decision=Decision.UNSUCCESSFUL, now=clock.now())
    db.session.commit()
    login_as(team)
    path = f"/team/cohorts/{cohort.id}/selection/release"
    page = text(client.get(path))
    assert "Release outcomes to 3 applicants" in page and "Release outcomes and send 3 emails" in page
    assert "The email" in page and "We are delighted to offer you a place" in page and "waiting list" in page
    token = csrf_token(client, path)
    deadline = date(2026, 12, 11)
    preview = text(client.post(path, data={"csrf_token": token, "action": "preview", "offer_deadline": "2026-12-11",
                                           "offer_message": "Questions? Call Tess on 0100 000 0000."}))
    assert "Questions? Call Tess on 0100 000 0000." in preview and "11 December 2026" in preview
    assert offer.status == "sponsor_approved" and not outbox("outcome:")  # a preview sends nothing
    past = text(client.post(path, data={"csrf_token": token, "action": "release", "offer_deadline": "2026-11-20"}))
    assert "must be after today" in past and not outbox("outcome:")
    client.post(path, data={"csrf_token": token, "action": "release", "offer_deadline": "2026-12-11",
                            "offer_message": "Questions? Call Tess on 0100 000 0000.",
                            "unsuccessful_message": "We hope to see you apply again."})
    assert (offer.status, waitlist.status, no.status) == ("offered", "waitlisted", "unsuccessful")
    assert clock.to_local(offer.offer_expires_at, cohort.timezone).replace(tzinfo=None) == datetime.combine(
        deadline, time(23, 59))
    offered = outbox(f"outcome:{offer.id}:")[0]
    assert "Questions? Call Tess" in offered.body_text and "11 December 2026" in offered.body_text
    assert "We hope to see you apply again." in outbox(f"outcome:{no.id}:")[0].body_text
    assert "Questions? Call Tess" not in outbox(f"outcome:{waitlist.id}:")[0].body_text
    # With nothing left to release, the page says so and offers no button.
    empty = text(client.get(path))
    assert "No outcomes to release" in empty and "Release outcomes and send" not in empty


def test_an_offer_deadline_in_summer_time_ends_at_midnight_uk_time(frozen_now):
    frozen_now.move_to(datetime.fromisoformat("2027-06-01T09:00:00+00:00"))
    now = clock.now()
    cohort = make_cohort(starts_on=date(2027, 9, 13), applications_open_at=now - timedelta(days=5),
                         application_deadline_at=now + timedelta(days=5))
    team = make_team()
    application = approved(cohort)
    services.set_decisions(actor=team, applications=[application], decision=Decision.OFFER, now=now)
    services.release_outcomes(actor=team, cohort=cohort, now=now, offer_deadline=date(2027, 6, 15))
    assert application.offer_expires_at == datetime.fromisoformat("2027-06-15T22:59:00+00:00")  # 23:59 BST
