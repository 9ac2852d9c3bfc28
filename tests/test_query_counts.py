"""Every listing page makes the same number of queries for a tiny cohort and a bigger one (at most 10)."""

from __future__ import annotations

import pytest
from sqlalchemy import insert

from app import clock
from app.applications.models import Application, Review, ReviewAssignment
from app.attendance.models import Attendance
from app.db import db
from app.portal.services import ResourceDetails, add_post, share_resource, start_thread
from tests.conftest import count_queries
from tests.factories import make_cohort, make_facilitator, make_participant, make_team, make_user

LISTING_PAGES = [
    "/cohorts/{id}/schedule",
    "/cohorts/{id}/attendance",
    "/cohorts/{id}/library",
    "/cohorts/{id}/discussion",
    "/cohorts/{id}/people",
    "/team/cohorts/{id}/applications",
    "/team/cohorts/{id}/selection",
    "/team/cohorts/{id}/reviewers",
]


def _fill(cohort, team, *, people: int, resources: int, threads: int, applications: int) -> None:
    now = clock.now()
    participants = [make_participant(cohort) for _ in range(people)]
    enrolments = sorted(cohort.enrolments, key=lambda e: e.id)
    db.session.execute(insert(Attendance), [
        {"session_id": s.id, "enrolment_id": e.id, "status": "present", "recorded_by_id": team.id, "recorded_at": now}
        for e in enrolments for s in cohort.sessions])
    for n in range(resources):
        share_resource(actor=team, cohort=cohort, upload=None, now=now, details=ResourceDetails(
            title=f"Reading {n}", kind="reading", url="https://example.org/r", module_number=n % 5 + 1))
    for n in range(threads):
        thread = start_thread(actor=participants[n % people], cohort=cohort, module_number=None, now=now,
                              title=f"Question {n}", body="What worked for you?")
        add_post(actor=participants[-1], thread=thread, now=now, body="This did.")
    added = [Application(cohort_id=cohort.id, applicant_id=make_user().id, status=status, submitted_at=now)
             for status in (["submitted", "awaiting_sponsor", "sponsor_approved"] * applications)[:applications]]
    db.session.add_all(added)
    db.session.flush()
    # Each application has two reviewers, one of whom has scored it.
    reviewers = [team, make_facilitator()]
    db.session.execute(insert(ReviewAssignment), [
        {"application_id": a.id, "reviewer_id": r.id, "assigned_at": now} for a in added for r in reviewers])
    db.session.execute(insert(Review), [
        {"application_id": a.id, "reviewer_id": team.id, "boundary_score": 3, "ambition_score": 3,
         "readiness_score": 3, "comment": "", "created_at": now, "updated_at": now} for a in added])
    db.session.flush()


@pytest.fixture
def two_cohorts(app, db):
    team = make_team()
    small, big = make_cohort(actor=team), make_cohort(actor=team)
    _fill(small, team, people=1, resources=1, threads=1, applications=3)  # one in each state listed
    _fill(big, team, people=12, resources=30, threads=5, applications=24)
    db.session.commit()
    return team, small.id, big.id


@pytest.mark.parametrize("template", LISTING_PAGES)
def test_a_listing_page_makes_as_many_queries_for_a_bigger_cohort(app, client, login_as, two_cohorts, template):
    team, small, big = two_cohorts
    login_as(team)
    client.get(template.format(id=small))  # warm caches (content, templates)
    few, many = count_queries(app, client, template.format(id=small)), count_queries(app, client, template.format(id=big))
    assert few == many, (template, few, many)
    assert many <= 10, (template, many)


def test_a_reviewers_list_makes_as_many_queries_for_many_assignments(app, client, login_as):
    team = make_team()
    few, many = make_facilitator(), make_facilitator()
    cohort = make_cohort(actor=team)
    now = clock.now()
    applications = [Application(cohort_id=cohort.id, applicant_id=make_user().id, status="sponsor_approved",
                                submitted_at=now) for _ in range(20)]
    db.session.add_all(applications)
    db.session.flush()
    db.session.execute(insert(ReviewAssignment), [{"application_id": a.id, "reviewer_id": few.id, "assigned_at": now}
                                                  for a in applications[:1]]
                       + [{"application_id": a.id, "reviewer_id": many.id, "assigned_at": now} for a in applications])
    db.session.commit()
    counts = []
    for reviewer in (few, many):
        login_as(reviewer)
        client.get("/team/reviews")
        counts.append(count_queries(app, client, "/team/reviews"))
    assert counts[0] == counts[1] <= 10, counts
