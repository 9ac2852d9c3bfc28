"""Participants' own communities of practice and the meetings they convene."""

from __future__ import annotations

import csv
import io
from datetime import date, timedelta

import pytest
from sqlalchemy import select

from app import clock
from app.communities.models import Community, CommunityMeeting
from app.db import db
from app.errors import DomainError
from app.evaluation import communities
from tests.conftest import csrf_token
from tests.factories import make_application, make_cohort, make_participant, make_team, open_cohort


def described(cohort, person, title="Safer medicines together"):
    return communities.save_community(actor=person, cohort=cohort, now=clock.now(),
                                      details=communities.CommunityDetails(title=title, status="launched"))


def log(cohort, person, days_ago=10, attendance=12, **kwargs):
    return communities.log_meeting(actor=person, cohort=cohort, today=clock.local_today(), now=clock.now(),
                                   details=communities.MeetingDetails(
                                       held_on=clock.local_today() - timedelta(days=days_ago),
                                       attendance=attendance, **kwargs))


def test_the_form_starts_from_the_application_and_saves_the_community(client, login_as, frozen_now):
    cohort = open_cohort()
    person = make_participant(cohort)
    make_application(cohort, applicant=person, cop_title="Medicines safety across the system")
    login_as(person)
    page = client.get(f"/cohorts/{cohort.id}/my-community").get_data(as_text=True)
    assert 'value="Medicines safety across the system"' in page
    assert "Hospitals, practices and care homes together" in page
    token = csrf_token(client, f"/cohorts/{cohort.id}/my-community")

    refused = client.post(f"/cohorts/{cohort.id}/my-community", data={
        "csrf_token": token, "cop-title": "", "cop-domain": "Kept domain text", "cop-crosses_boundaries": "y",
        "cop-status": "launched"})
    body = refused.get_data(as_text=True)
    assert "Give your community of practice a name" in body and "Kept domain text" in body
    assert db.session.scalar(select(Community.id)) is None

    saved = client.post(f"/cohorts/{cohort.id}/my-community", data={
        "csrf_token": token, "cop-title": "Medicines safety", "cop-domain": "Transfers of care",
        "cop-crosses_boundaries": "y", "cop-boundaries_how": "Hospital and care homes", "cop-status": "launched"})
    assert saved.status_code == 302
    community = db.session.scalar(select(Community))
    assert (community.title, community.status, community.crosses_boundaries) == ("Medicines safety", "launched", True)


def test_logging_meetings_checks_dates_and_shows_progress_on_home(client, login_as, frozen_now):
    cohort = make_cohort()
    person = make_participant(cohort)
    described(cohort, person)
    cohort_id = cohort.id
    login_as(person)
    url = f"/cohorts/{cohort_id}/my-community/meetings"
    token = csrf_token(client, f"/cohorts/{cohort_id}/my-community")
    future = clock.local_today() + timedelta(days=1)
    refused = client.post(url, data={"csrf_token": token, "meeting-held_on": future.isoformat(),
                                     "meeting-attendance": "12", "meeting-reflection": "Kept reflection"})
    body = refused.get_data(as_text=True)
    assert refused.status_code == 400
    assert "must be today or in the past" in body and "Kept reflection" in body
    refused = client.post(url, data={"csrf_token": token, "meeting-held_on": "2026-11-02",
                                     "meeting-attendance": "-3"})
    assert "Enter how many people came: at least 1" in refused.get_data(as_text=True)
    for day in ("2026-10-05", "2026-11-02"):
        assert client.post(url, data={"csrf_token": token, "meeting-held_on": day, "meeting-attendance": "14",
                                      "meeting-methods": ["Liberating Structures"],
                                      "meeting-other_method": "Walking meeting"}).status_code == 302
    meetings = db.session.scalars(select(CommunityMeeting).order_by(CommunityMeeting.meets_on)).all()
    assert [m.held_on for m in meetings] == [date(2026, 10, 5), date(2026, 11, 2)]
    assert meetings[0].methods == ["Liberating Structures", "Walking meeting"]
    home = client.get("/home").get_data(as_text=True)
    assert "2 of 3 meetings" in home


def test_meetings_need_a_described_community_and_only_the_owner_removes_them(frozen_now):
    cohort = make_cohort()
    person, other = make_participant(cohort), make_participant(cohort)
    with pytest.raises(DomainError, match="Describe your community"):
        log(cohort, person)
    described(cohort, person)
    meeting = log(cohort, person)
    with pytest.raises(DomainError, match="Choose methods from the list"):
        log(cohort, person, methods=["<script>"])
    with pytest.raises(DomainError):
        communities.delete_meeting(actor=other, meeting=meeting)
    communities.delete_meeting(actor=person, meeting=meeting)
    assert db.session.scalar(select(CommunityMeeting.id)) is None


def test_the_team_sees_every_community_with_progress_and_exports_them(client, login_as, frozen_now):
    cohort = make_cohort()
    busy, quiet = make_participant(cohort, name="Busy Convenor"), make_participant(cohort, name="Quiet Convenor")
    make_participant(cohort, name="Not Yet Described")
    described(cohort, busy, title="Busy community")
    for days in (90, 60, 30):
        log(cohort, busy, days_ago=days, attendance=20)
    described(cohort, quiet, title="Quiet community")
    rows = {row.enrolment.user.name: row for row in communities.cohort_communities(cohort)}
    assert (rows["Busy Convenor"].meetings, rows["Busy Convenor"].total_attendance) == (3, 60)
    assert rows["Busy Convenor"].progress.met_expectation and not rows["Quiet Convenor"].progress.met_expectation
    assert rows["Not Yet Described"].community is None
    cohort_id = cohort.id
    login_as(make_team())
    page = client.get(f"/cohorts/{cohort_id}/communities").get_data(as_text=True)
    assert "2 of 3 participants have described their community; 1 have logged at least three" in page
    exported = list(csv.reader(io.StringIO(client.get(f"/cohorts/{cohort_id}/communities.csv").get_data(as_text=True).lstrip("\ufeff"))))
    assert exported[0][:2] == ["Participant", "Community of practice"]
    busy_row = next(r for r in exported if r[0] == "Busy Convenor")
    assert busy_row[7:9] == ["3", "60"]


def test_a_meeting_nobody_came_to_is_refused_and_keeps_what_was_typed(client, login_as, frozen_now):
    cohort = make_cohort()
    person = make_participant(cohort)
    described(cohort, person)
    with pytest.raises(DomainError, match="at least 1") as refused:
        log(cohort, person, attendance=0)
    assert refused.value.field == "attendance"
    cohort_id = cohort.id
    login_as(person)
    token = csrf_token(client, f"/cohorts/{cohort_id}/my-community")
    response = client.post(f"/cohorts/{cohort_id}/my-community/meetings", data={
        "csrf_token": token, "meeting-held_on": "2026-11-02", "meeting-attendance": "0",
        "meeting-reflection": "Kept reflection", "meeting-other_method": "Kept method"})
    body = response.get_data(as_text=True)
    assert response.status_code == 400
    assert "Enter how many people came: at least 1" in body
    assert 'id="meeting-attendance-error"' in body  # shown beside the field, not only above the form
    assert "Kept reflection" in body and 'value="Kept method"' in body and 'value="2026-11-02"' in body
    assert db.session.scalar(select(CommunityMeeting.id)) is None


def _four_meetings(cohort, person):
    described(cohort, person, title="Busy community")
    for days in (120, 90, 60, 30):
        log(cohort, person, days_ago=days)


def test_more_meetings_than_expected_never_read_as_more_than_all_of_them(client, login_as, frozen_now):
    cohort = make_cohort()
    person = make_participant(cohort, name="Busy Convenor")
    _four_meetings(cohort, person)
    cohort_id = cohort.id
    login_as(person)
    mine = client.get(f"/cohorts/{cohort_id}/my-community").get_data(as_text=True)
    assert "4 of 3" not in mine
    assert "4 meetings logged (the programme asks for 3)" in mine
    assert 'max="3" value="3"' in mine  # a full progress bar
    login_as(make_team())
    listing = client.get(f"/cohorts/{cohort_id}/communities").get_data(as_text=True)
    assert "4 of 3" not in listing and "4 (the programme asks for 3)" in listing


def test_the_home_page_never_reads_more_meetings_than_expected(client, login_as, frozen_now):
    cohort = make_cohort()
    person = make_participant(cohort)
    _four_meetings(cohort, person)
    login_as(person)
    home = client.get("/home").get_data(as_text=True)
    assert "4 meetings logged (the programme asks for 3)" in home and "4 of 3" not in home
