"""Applying, line-manager sign-off, review, selection, offers and the waiting list."""

from __future__ import annotations

import csv
import io
import re
import threading
from datetime import time, timedelta

import openpyxl
import pytest
from sqlalchemy import func, select

from app import clock
from app.applications import services
from app.applications.models import Application, ApplicationStatus, Decision, SponsorApproval
from app.audit import AuditEvent
from app.auth.models import OrganisationKind
from app.db import db
from app.errors import Conflict, DomainError, InvalidToken, PermissionDenied
from app.notifications.models import OutboxMessage
from app.notifications.services import open_links
from app.programme.models import Enrolment
from tests.conftest import csrf_token
from tests.factories import (
    make_application,
    make_cohort,
    make_facilitator,
    make_organisation,
    make_team,
    make_user,
    open_cohort,
)


def outbox(prefix: str = "") -> list[OutboxMessage]:
    return list(db.session.scalars(select(OutboxMessage).where(OutboxMessage.key.startswith(prefix))
                                   .order_by(OutboxMessage.id)))


def sponsor_token(application: Application) -> str:
    approval = application.current_approval
    message = [m for m in outbox(f"sponsor-request:{approval.id}:")][-1]
    return re.search(r"/sponsor/([A-Za-z0-9_\-]+)", open_links(message.body_text)).group(1)


def approved(cohort, **kwargs) -> Application:
    application = make_application(cohort, submit=True, **kwargs)
    services.record_sponsor_decision(token=sponsor_token(application), approve=True, confirms_release=True,
                                     comment="", now=clock.now())
    return application


# -- applying --------------------------------------------------------------------------------

def test_applications_are_refused_before_opening_and_after_the_deadline(frozen_now):
    now = clock.now()
    early = make_cohort(applications_open_at=now + timedelta(days=1), application_deadline_at=now + timedelta(days=9))
    late = make_cohort(applications_open_at=now - timedelta(days=9), application_deadline_at=now - timedelta(seconds=1))
    with pytest.raises(DomainError, match="not opened yet"):
        services.start_application(applicant=make_user(), cohort=early, now=now)
    with pytest.raises(DomainError, match="deadline has passed"):
        services.start_application(applicant=make_user(), cohort=late, now=now)


def test_a_draft_keeps_partial_answers_and_can_add_an_organisation(frozen_now):
    cohort = open_cohort()
    user = make_user()
    application = services.start_application(applicant=user, cohort=cohort, now=clock.now())
    services.save_draft(actor=user, application=application, now=clock.now(), answers=services.Answers(
        cop_title="Half-finished", new_organisation_name="Seaview Hospice", new_organisation_kind="charity",
        new_organisation_region="South West"))
    assert application.status == "draft"
    assert application.cop_title == "Half-finished"
    assert application.organisation.name == "Seaview Hospice" and application.organisation.kind == "charity"
    with pytest.raises(DomainError) as raised:
        services.save_draft(actor=user, application=application, now=clock.now(),
                            answers=services.Answers(new_organisation_name="Nowhere", new_organisation_kind="castle"))
    assert raised.value.field == "new_organisation_kind"


def test_only_the_applicant_can_change_their_application(frozen_now):
    application = make_application(open_cohort())
    with pytest.raises(PermissionDenied):
        services.save_draft(actor=make_user(), application=application, answers=services.Answers(), now=clock.now())
    with pytest.raises(PermissionDenied):
        services.submit_application(actor=make_team(), application=application, now=clock.now())


def test_an_incomplete_application_is_not_submitted_and_says_what_is_missing(frozen_now):
    cohort = open_cohort()
    user = make_user()
    application = services.start_application(applicant=user, cohort=cohort, now=clock.now())
    services.save_draft(actor=user, application=application, answers=services.Answers(cop_title="Only this"),
                        now=clock.now())
    with pytest.raises(services.IncompleteApplication) as raised:
        services.submit_application(actor=user, application=application, now=clock.now())
    assert {"job_title", "sponsor_email", "eligibility", "crosses_boundaries", "organisation_id"} <= set(
        raised.value.errors)
    assert "cop_title" not in raised.value.errors
    assert application.status == "draft" and outbox() == []


def test_submitting_asks_the_line_manager_with_a_hashed_expiring_token(frozen_now):
    application = make_application(open_cohort(), submit=True)
    assert application.status == ApplicationStatus.AWAITING_SPONSOR
    assert [e.to_status for e in application.events] == ["draft", "submitted", "awaiting_sponsor"]
    approval = application.current_approval
    token = sponsor_token(application)
    assert len(token) >= 22  # 128 bits and more, URL-safe
    assert approval.token_hash != token and len(approval.token_hash) == 64
    assert approval.expires_at - approval.requested_at == timedelta(days=14)
    request = outbox(f"sponsor-request:{approval.id}:")[0]
    assert request.recipient == "pat.manager@example.org"
    assert "http://convene.test/sponsor/" in open_links(request.body_text)  # from BASE_URL
    chasers = outbox(f"sponsor-chaser:{approval.id}:")
    assert [m.due_at - approval.requested_at for m in chasers] == [timedelta(days=3), timedelta(days=7)]
    assert outbox("application-submitted:")[0].recipient == application.applicant.email


def test_the_deadline_is_exact_to_the_second(time_machine):
    deadline = clock.now().replace(microsecond=0) + timedelta(days=2)
    cohort = make_cohort(applications_open_at=deadline - timedelta(days=30), application_deadline_at=deadline)
    time_machine.move_to(deadline - timedelta(days=1), tick=False)
    on_time, late = make_application(cohort), make_application(cohort)  # both opened before the deadline
    time_machine.move_to(deadline - timedelta(seconds=1), tick=False)
    services.submit_application(actor=on_time.applicant, application=on_time, now=clock.now())
    time_machine.move_to(deadline + timedelta(seconds=1), tick=False)
    with pytest.raises(DomainError, match="deadline has passed"):
        services.submit_application(actor=late.applicant, application=late, now=clock.now())
    assert (on_time.status, late.status) == ("awaiting_sponsor", "draft")


def test_a_submitted_application_cannot_be_submitted_again(frozen_now):
    application = make_application(open_cohort(), submit=True)
    with pytest.raises(Conflict):
        services.submit_application(actor=application.applicant, application=application, now=clock.now())
    assert db.session.scalar(select(func.count()).select_from(SponsorApproval)) == 1


# -- the line manager ------------------------------------------------------------------------

def test_opening_the_link_changes_nothing_and_the_answer_is_recorded_once(client, frozen_now):
    application = make_application(open_cohort(), submit=True)
    token = sponsor_token(application)
    before = len(outbox())
    page = client.get(f"/sponsor/{token}")
    assert page.status_code == 200 and page.headers["Cache-Control"] == "no-store"
    assert "Medicines safety across the system" in page.get_data(as_text=True)
    assert application.status == "awaiting_sponsor" and len(outbox()) == before

    form_token = csrf_token(client, f"/sponsor/{token}")
    missing = client.post(f"/sponsor/{token}", data={"csrf_token": form_token, "decision": "approve",
                                                     "comment": "Happy to support"})
    body = missing.get_data(as_text=True)
    assert "Confirm that the organisation will release them" in body and "Happy to support" in body
    assert application.status == "awaiting_sponsor"

    done = client.post(f"/sponsor/{token}", data={"csrf_token": form_token, "decision": "approve",
                                                  "confirms_release": "y", "comment": "Happy to support"},
                       follow_redirects=True)
    assert "Support confirmed" in done.get_data(as_text=True)
    assert application.status == "sponsor_approved"
    assert application.current_approval.confirms_release
    assert [m.status for m in outbox("sponsor-chaser:")] == ["cancelled", "cancelled"]
    assert outbox("sponsor-decided:")[0].recipient == application.applicant.email

    again = client.post(f"/sponsor/{token}", data={"csrf_token": form_token, "decision": "decline",
                                                   "comment": "Changed my mind"}, follow_redirects=True)
    assert "Support confirmed" in again.get_data(as_text=True)
    assert application.status == "sponsor_approved"


def test_declining_needs_a_reason(frozen_now):
    application = make_application(open_cohort(), submit=True)
    token = sponsor_token(application)
    with pytest.raises(DomainError) as raised:
        services.record_sponsor_decision(token=token, approve=False, confirms_release=False, comment=" ",
                                         now=clock.now())
    assert raised.value.field == "comment"
    services.record_sponsor_decision(token=token, approve=False, confirms_release=False,
                                     comment="We are short-staffed this year", now=clock.now())
    assert application.status == "sponsor_declined"


def test_an_expired_link_says_so_and_how_to_get_a_new_one(client, frozen_now):
    application = make_application(open_cohort(), submit=True)
    token = sponsor_token(application)
    frozen_now.shift(timedelta(days=14, seconds=1))
    page = client.get(f"/sponsor/{token}").get_data(as_text=True)
    assert "This link expired" in page and "send you a new one" in page
    with pytest.raises(InvalidToken):
        services.record_sponsor_decision(token=token, approve=True, confirms_release=True, comment="",
                                         now=clock.now())
    # The applicant sends a new link, which works.
    services.resend_sponsor_request(actor=application.applicant, application=application, now=clock.now())
    fresh = sponsor_token(application)
    assert fresh != token
    services.record_sponsor_decision(token=fresh, approve=True, confirms_release=True, comment="", now=clock.now())
    assert application.status == "sponsor_approved"


def test_an_unknown_or_tampered_token_shows_nothing(client, frozen_now):
    application = make_application(open_cohort(), submit=True)
    token = sponsor_token(application)
    for bad in ("nonsense", token[:-1] + ("A" if token[-1] != "A" else "B")):
        response = client.get(f"/sponsor/{bad}")
        assert response.status_code == 404
        assert "Medicines safety" not in response.get_data(as_text=True)


def test_changing_the_line_manager_kills_the_old_link(client, frozen_now):
    application = make_application(open_cohort(), submit=True)
    old = sponsor_token(application)
    services.change_sponsor(actor=application.applicant, application=application, name="Lee Newboss",
                            email="Lee.Newboss@example.org", job_title="Head of service", now=clock.now())
    new = sponsor_token(application)
    assert "replaced by a newer one" in client.get(f"/sponsor/{old}").get_data(as_text=True)
    with pytest.raises(InvalidToken):
        services.record_sponsor_decision(token=old, approve=True, confirms_release=True, comment="", now=clock.now())
    assert outbox(f"sponsor-request:{application.current_approval.id}:")[0].recipient == "lee.newboss@example.org"
    assert all(m.status == "cancelled" for m in outbox("sponsor-chaser:")
               if m.recipient == "pat.manager@example.org")
    services.record_sponsor_decision(token=new, approve=True, confirms_release=True, comment="", now=clock.now())
    assert application.status == "sponsor_approved"


def test_resending_too_soon_is_refused_with_a_reason(frozen_now):
    application = make_application(open_cohort(), submit=True)
    with pytest.raises(Conflict, match="a few minutes ago"):
        services.resend_sponsor_request(actor=application.applicant, application=application, now=clock.now())


def test_two_simultaneous_answers_record_one_decision(app, frozen_now):
    application = make_application(open_cohort(), submit=True)
    token = sponsor_token(application)
    db.session.commit()
    barrier = threading.Barrier(2)
    outcomes, arrivals = [], []

    def answer(approve: bool):
        with app.app_context():
            arrivals.append(barrier.wait(timeout=30))  # a thread that never arrives fails, not hangs
            try:
                services.record_sponsor_decision(token=token, approve=approve, confirms_release=True,
                                                 comment="reason", now=clock.now())
                db.session.commit()
                outcomes.append("recorded")
            except (Conflict, InvalidToken):
                db.session.rollback()
                outcomes.append("refused")
            finally:
                db.session.remove()

    threads = [threading.Thread(target=answer, args=(flag,)) for flag in (True, False)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(arrivals) == [0, 1] and not barrier.broken  # both threads were at the start line together
    assert sorted(outcomes) == ["recorded", "refused"]
    db.session.expire_all()
    decided = [e for e in application.events if e.to_status in ("sponsor_approved", "sponsor_declined")]
    assert len(decided) == 1
    assert len(outbox("sponsor-decided:")) == 1


def test_the_team_can_record_an_answer_on_the_line_managers_behalf(frozen_now):
    application = make_application(open_cohort(), submit=True)
    team = make_team()
    with pytest.raises(DomainError):
        services.record_sponsor_decision_for(actor=team, application=application, approve=True, reason=" ",
                                             now=clock.now())
    with pytest.raises(PermissionDenied):
        services.record_sponsor_decision_for(actor=make_facilitator(), application=application, approve=True,
                                             reason="phone", now=clock.now())
    services.record_sponsor_decision_for(actor=team, application=application, approve=True,
                                         reason="Confirmed by phone on Monday", now=clock.now())
    approval = application.current_approval
    assert approval.recorded_by == team and approval.recorded_reason == "Confirmed by phone on Monday"
    event = db.session.scalars(select(AuditEvent)).one()
    assert event.action == "sponsor_decision_on_behalf" and event.actor_id == team.id
    assert event.detail["reason"] == "Confirmed by phone on Monday"


def test_withdrawing_stops_the_line_manager_requests(frozen_now):
    application = make_application(open_cohort(), submit=True)
    token = sponsor_token(application)
    services.withdraw_application(actor=application.applicant, application=application, now=clock.now(),
                                  reason="Changed roles")
    assert application.status == "withdrawn"
    assert all(m.status == "cancelled" for m in outbox("sponsor-chaser:"))
    with pytest.raises(InvalidToken):
        services.record_sponsor_decision(token=token, approve=True, confirms_release=True, comment="", now=clock.now())
    with pytest.raises(Conflict):
        services.withdraw_application(actor=application.applicant, application=application, now=clock.now())


# -- review and selection --------------------------------------------------------------------

def test_scores_from_several_reviewers_give_a_mean(frozen_now):
    application = make_application(open_cohort(), submit=True)
    first, second = make_team(), make_team()
    services.score_application(actor=first, application=application, boundary=5, ambition=4, readiness=3)
    services.score_application(actor=second, application=application, boundary=3, ambition=3, readiness=3)
    assert application.mean_score == 10.5
    services.score_application(actor=second, application=application, boundary=5, ambition=5, readiness=5)
    assert application.mean_score == 13.5 and len(application.reviews) == 2
    with pytest.raises(DomainError):
        services.score_application(actor=first, application=application, boundary=6, ambition=1, readiness=1)


def test_only_sponsor_approved_applications_can_be_offered(frozen_now):
    waiting = make_application(open_cohort(), submit=True)
    with pytest.raises(Conflict, match="line manager has approved"):
        services.set_decision(actor=make_team(), application=waiting, decision=Decision.OFFER, now=clock.now())
    assert waiting.decision is None


def test_offers_stop_at_capacity(frozen_now):
    cohort = open_cohort(capacity=2)
    team = make_team()
    a, b, c = (approved(cohort) for _ in range(3))
    services.set_decision(actor=team, application=a, decision=Decision.OFFER, now=clock.now())
    services.set_decision(actor=team, application=b, decision=Decision.OFFER, now=clock.now())
    with pytest.raises(Conflict, match="All 2 places are taken"):
        services.set_decision(actor=team, application=c, decision=Decision.OFFER, now=clock.now())
    services.set_decision(actor=team, application=c, decision=Decision.WAITLIST, now=clock.now())
    assert services.places_taken(cohort, clock.now()) == 2


def test_outcomes_are_emailed_only_when_released_and_all_at_once(frozen_now):
    cohort = open_cohort(capacity=1)
    team = make_team()
    best, second, third, fourth = (approved(cohort) for _ in range(4))
    for application, score in ((best, 5), (second, 4), (third, 3), (fourth, 1)):
        services.score_application(actor=team, application=application, boundary=score, ambition=score,
                                   readiness=score)
    services.set_decision(actor=team, application=best, decision=Decision.OFFER, now=clock.now())
    services.set_decision(actor=team, application=third, decision=Decision.WAITLIST, now=clock.now())
    services.set_decision(actor=team, application=second, decision=Decision.WAITLIST, now=clock.now())
    services.set_decision(actor=team, application=fourth, decision=Decision.UNSUCCESSFUL, now=clock.now())
    assert outbox("outcome:") == []
    counts = services.release_outcomes(actor=team, cohort=cohort, now=clock.now())
    assert counts == {"offer": 1, "waitlist": 2, "unsuccessful": 1}
    assert (best.status, second.status, third.status, fourth.status) == (
        "offered", "waitlisted", "waitlisted", "unsuccessful")
    assert (second.waitlist_rank, third.waitlist_rank) == (1, 2)  # better score first
    # Offers are answered by the end of a day (UK time): 14 days from today by default.
    assert best.offer_expires_at == clock.local_instant(clock.local_today() + timedelta(days=14), time(23, 59),
                                                        "Europe/London")
    assert sorted(m.key.split(":")[2] for m in outbox("outcome:")) == [
        "offered", "unsuccessful", "waitlisted", "waitlisted"]
    with pytest.raises(Conflict, match="no decisions waiting"):
        services.release_outcomes(actor=team, cohort=cohort, now=clock.now())


def test_accepting_enrols_and_declining_frees_the_place_for_the_waiting_list(frozen_now):
    cohort = open_cohort(capacity=1)
    team = make_team()
    first, waiting = approved(cohort), approved(cohort)
    services.set_decision(actor=team, application=first, decision=Decision.OFFER, now=clock.now())
    services.set_decision(actor=team, application=waiting, decision=Decision.WAITLIST, now=clock.now())
    services.release_outcomes(actor=team, cohort=cohort, now=clock.now())
    with pytest.raises(Conflict, match="no free place"):
        services.offer_to_next(actor=team, cohort=cohort, now=clock.now())

    services.respond_to_offer(actor=first.applicant, application=first, accept=False, now=clock.now())
    assert first.status == "declined"
    from app.auth.models import User

    team_emails = set(db.session.scalars(select(User.email).where(User.staff_role == "team")))
    assert team.email in team_emails
    assert {m.recipient for m in outbox("place-free:")} == team_emails
    promoted = services.offer_to_next(actor=team, cohort=cohort, now=clock.now())
    assert promoted == waiting and waiting.status == "offered" and waiting.waitlist_rank is None

    services.respond_to_offer(actor=waiting.applicant, application=waiting, accept=True, now=clock.now())
    assert waiting.status == "accepted"
    enrolment = db.session.scalars(select(Enrolment).where(Enrolment.user_id == waiting.applicant_id)).one()
    assert enrolment.cohort_id == cohort.id and enrolment.status == "active"


def test_a_lapsed_offer_cannot_be_accepted(frozen_now):
    cohort = open_cohort()
    team = make_team()
    application = approved(cohort)
    services.set_decision(actor=team, application=application, decision=Decision.OFFER, now=clock.now())
    services.release_outcomes(actor=team, cohort=cohort, now=clock.now())
    frozen_now.move_to(application.offer_expires_at + timedelta(seconds=1))
    with pytest.raises(Conflict, match="lapsed"):
        services.respond_to_offer(actor=application.applicant, application=application, accept=True, now=clock.now())
    assert services.places_taken(cohort, clock.now()) == 0  # a lapsed offer frees the place


def test_the_mix_counts_kinds_professions_and_regions(frozen_now):
    cohort = open_cohort()
    nhs = make_organisation(kind=OrganisationKind.NHS_TRUST, region="North East")
    a = approved(cohort, profession="Pharmacy")
    b = approved(cohort, profession="Nursing")
    a.organisation_id = b.organisation_id = nhs.id
    db.session.flush()
    db.session.expire_all()
    mix = services.mix([a, b])
    assert mix["Organisation kind"] == {"NHS trust": 2}
    assert mix["Profession"] == {"Nursing": 1, "Pharmacy": 1}
    assert mix["Region"] == {"North East": 2}


# -- pages -----------------------------------------------------------------------------------

def test_the_form_keeps_what_was_typed_and_lists_what_is_missing_on_submit(client, login_as, frozen_now):
    cohort = open_cohort()
    user = make_user()
    application = services.start_application(applicant=user, cohort=cohort, now=clock.now())
    login_as(user)
    token = csrf_token(client, f"/applications/{application.id}/edit")
    response = client.post(f"/applications/{application.id}/edit", data={
        "csrf_token": token, "action": "submit", "cop_title": "Falls prevention network",
        "sponsor_email": "boss@example.org", "crosses_boundaries": "yes",
    })
    page = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "<title>Error: Your application" in page
    assert 'value="Falls prevention network"' in page and 'value="boss@example.org"' in page
    assert "Enter your job title." in page and 'href="#job_title"' in page
    assert "Say how your community crosses boundaries." in page
    assert application.status == "draft" and application.cop_title == "Falls prevention network"  # saved


def test_the_applicant_journey_through_the_pages(client, login_as, frozen_now):
    cohort = open_cohort(name="2027 to 2028")
    organisation = make_organisation(name="Harbour Health NHS Trust")
    user = make_user(email="applicant@example.org")
    login_as(user)
    assert "Start your application" in client.get("/apply").get_data(as_text=True)
    response = client.post("/apply", data={"csrf_token": csrf_token(client, "/apply"), "cohort_id": cohort.id})
    application = db.session.scalars(select(Application)).one()
    assert response.headers["Location"] == f"/applications/{application.id}/edit"
    data = {k: v for k, v in {
        "job_title": "Nurse consultant", "profession": "Nursing", "organisation_id": str(organisation.id),
        "is_improvement_community_member": "y", "cop_title": "Frailty network", "cop_domain": "Frailty",
        "cop_members": "Nurses and GPs", "crosses_boundaries": "yes", "boundaries_how": "Primary and secondary care",
        "cop_status": "planning", "hopes": "Confidence", "sponsor_name": "Sam Lead",
        "sponsor_email": "sam.lead@example.org", "sponsor_job_title": "Director of nursing"}.items()}
    token = csrf_token(client, f"/applications/{application.id}/edit")
    saved = client.post(f"/applications/{application.id}/edit", data={**data, "csrf_token": token,
                                                                        "action": "save"}, follow_redirects=True)
    assert "Your answers are saved" in saved.get_data(as_text=True)
    submitted = client.post(f"/applications/{application.id}/edit", data={**data, "csrf_token": token,
                                                                            "action": "submit"}, follow_redirects=True)
    page = submitted.get_data(as_text=True)
    assert "Your application has been submitted" in page
    assert "Waiting for line manager" in page and "Change your line manager" in page
    # Once submitted, the form is no longer editable.
    assert client.get(f"/applications/{application.id}/edit").headers["Location"] == f"/applications/{application.id}"


def test_another_person_cannot_see_an_application(client, login_as, frozen_now):
    application = make_application(open_cohort(), cop_title="Someone else's community")
    login_as(make_user())
    for path in (f"/applications/{application.id}", f"/applications/{application.id}/edit"):
        response = client.get(path)
        assert response.status_code == 404
        assert "Someone else's community" not in response.get_data(as_text=True)


def test_team_list_filters_and_counts(client, login_as, frozen_now):
    cohort = open_cohort()
    make_application(cohort, submit=True, cop_title="Waiting community")
    approved(cohort, cop_title="Approved community", crosses_boundaries=False, boundaries_how="")
    make_application(cohort, cop_title="Draft community")
    login_as(make_team())
    page = client.get(f"/team/cohorts/{cohort.id}/applications").get_data(as_text=True)
    assert "3 applications" in page
    assert "Waiting community" in page and "Approved community" in page and "Draft community" in page
    waiting = client.get(f"/team/cohorts/{cohort.id}/applications?sponsor=waiting").get_data(as_text=True)
    assert "Waiting community" in waiting and "Approved community" not in waiting
    crossing = client.get(f"/team/cohorts/{cohort.id}/applications?crosses_boundaries=no").get_data(as_text=True)
    assert "Approved community" in crossing and "Waiting community" not in crossing


def test_exports_neutralise_formulas_and_are_audited(client, login_as, frozen_now):
    cohort = open_cohort()
    make_application(cohort, submit=True, cop_title="=HYPERLINK(\"http://evil.example\")", hopes="+1 learning")
    team = make_team()
    login_as(team)
    response = client.get(f"/team/cohorts/{cohort.id}/applications.csv")
    assert response.headers["Content-Disposition"].startswith("attachment;")
    rows = list(csv.reader(io.StringIO(response.get_data(as_text=True).lstrip("\ufeff"))))
    header, row = rows[0], rows[1]
    assert row[header.index("Community of practice")] == "'=HYPERLINK(\"http://evil.example\")"
    assert row[header.index("Hopes")] == "'+1 learning"
    workbook = openpyxl.load_workbook(io.BytesIO(client.get(f"/team/cohorts/{cohort.id}/applications.xlsx").data))
    sheet = workbook.active
    values = [cell.value for cell in sheet[2]]
    assert '=HYPERLINK("http://evil.example")' in values  # a text cell: inert, and no apostrophe shown
    assert all(cell.data_type != "f" for cell in sheet[2])
    actions = db.session.scalars(select(AuditEvent.action)).all()
    assert actions.count("applications_exported") == 2


def test_team_scores_decides_and_releases_through_the_pages(client, login_as, frozen_now):
    cohort = open_cohort(capacity=5)
    application = approved(cohort)
    login_as(make_team())
    detail = f"/team/applications/{application.id}"
    token = csrf_token(client, detail)
    bad = client.post(f"{detail}/review", data={"csrf_token": token, "boundary": "9", "ambition": "3",
                                                "readiness": ""})
    assert "Scores are from 1 to 5" in bad.get_data(as_text=True) and 'value="9"' in bad.get_data(as_text=True)
    client.post(f"{detail}/review", data={"csrf_token": token, "boundary": "4", "ambition": "5", "readiness": "3"})
    assert application.mean_score == 12
    client.post(f"{detail}/decision", data={"csrf_token": token, "decision": "offer"})
    assert application.decision == "offer" and application.status == "sponsor_approved"
    selection = client.get(f"/team/cohorts/{cohort.id}/selection").get_data(as_text=True)
    assert "1 of 5 places offered or accepted" in selection and "To be offered (not released)" in selection
    confirm = client.get(f"/team/cohorts/{cohort.id}/selection/release").get_data(as_text=True)
    assert "Release outcomes to 1 applicant" in confirm
    released = client.post(f"/team/cohorts/{cohort.id}/selection/release",
                           data={"csrf_token": token, "action": "release",
                                 "offer_deadline": (clock.local_today() + timedelta(days=10)).isoformat()},
                           follow_redirects=True).get_data(as_text=True)
    assert "Outcomes released: 1 offered" in released
    assert application.status == "offered"


def test_two_simultaneous_submits_ask_the_line_manager_once(app, frozen_now):
    application_id = make_application(open_cohort()).id
    db.session.commit()
    barrier = threading.Barrier(2)
    outcomes, arrivals = [], []

    def submit():
        with app.app_context():
            arrivals.append(barrier.wait(timeout=30))  # a thread that never arrives fails, not hangs
            try:
                own = db.session.get(Application, application_id)
                services.submit_application(actor=own.applicant, application=own, now=clock.now())
                db.session.commit()
                outcomes.append("submitted")
            except Conflict:
                db.session.rollback()
                outcomes.append("refused")
            finally:
                db.session.remove()

    threads = [threading.Thread(target=submit) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(arrivals) == [0, 1] and not barrier.broken  # both threads were at the start line together
    assert sorted(outcomes) == ["refused", "submitted"]
    assert db.session.scalar(select(func.count()).select_from(SponsorApproval)) == 1
    assert len(outbox("sponsor-request:")) == 1


def test_a_draft_after_the_deadline_says_it_is_closed(client, login_as, frozen_now):
    cohort = open_cohort()
    application = make_application(cohort)
    login_as(application.applicant)
    cohort.application_deadline_at = clock.now() - timedelta(seconds=1)
    response = client.get(f"/applications/{application.id}/edit", follow_redirects=True)
    assert "The application deadline has passed" in response.get_data(as_text=True)
