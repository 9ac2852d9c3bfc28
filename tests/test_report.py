"""The evaluation report: a known cohort, every number checked, on the page and in the PDF."""

from __future__ import annotations

import io
from datetime import timedelta

import pytest
from pypdf import PdfReader

from app import clock
from app.attendance.models import AttendanceStatus
from app.attendance.services import save_attendance
from app.auth.models import OrganisationKind
from app.evaluation import communities, feedback, impact
from app.evaluation.report import build_report
from app.groups.services import withdraw_participant
from app.programme import services as programme
from tests.factories import make_cohort, make_organisation, make_participant, make_team
from tests.test_impact import story


@pytest.fixture
def known(frozen_now):
    """Four participants (one more withdrew), a postponed module, a cancelled clinic, a register,
    two feedback responses, evidence with and without consent, two stories, two CoPs."""
    team = make_team()
    cohort = make_cohort()
    trust = make_organisation(kind=OrganisationKind.NHS_TRUST)
    council = make_organisation(kind=OrganisationKind.LOCAL_GOVERNMENT)
    people = [make_participant(cohort, name=f"Person {n}", organisation=org)
              for n, org in enumerate((trust, trust, council, None))]
    leaver = make_participant(cohort, name="Leaver")
    enrolment = {e.user_id: e for e in cohort.enrolments}
    withdraw_participant(actor=team, enrolment=enrolment[leaver.id], reason="Moved job", now=clock.now())

    module = cohort.modules[0]
    planned = module.sessions[0].starts_at
    # Recorded afterwards: the module took place a week late (a past date, confirmed); the clinic was
    # cancelled before it was due.
    programme.reschedule_module(actor=team, module=module, now=clock.now(), keep_date=True,
                                first_day=clock.to_local(planned).date() + timedelta(days=7))
    clinic = next(s for s in cohort.sessions if s.kind == "drop_in" and s.ends_at < clock.now())
    programme.cancel_session(actor=team, session=clinic, now=clinic.starts_at - timedelta(days=2))

    welcome = cohort.sessions[0]
    for person, status in zip(people, (AttendanceStatus.PRESENT, AttendanceStatus.PRESENT, AttendanceStatus.LATE,
                                       AttendanceStatus.ABSENT), strict=True):
        save_attendance(welcome.id, enrolment[person.id].id, status, "", team, welcome.ends_at)
    feedback.give_feedback(actor=people[0], session=welcome, now=welcome.ends_at, answers=feedback.Answers(
        worthwhile=5, recommend_yes=True, quote="A consented quote", quote_consent=True, value_cycles=["immediate"]))
    feedback.give_feedback(actor=people[1], session=welcome, now=welcome.ends_at, answers=feedback.Answers(
        worthwhile=3, recommend_yes=False, quote="A secret quote", value_cycles=["applied"], anonymous=True))
    feedback.close_feedback(actor=team, session=welcome, now=welcome.ends_at)  # releases the anonymous answer
    impact.add_evidence(actor=people[2], cohort=cohort, kind="change", text="A shared change", cycles=["realised"],
                        consent=True)
    impact.add_evidence(actor=people[2], cohort=cohort, kind="reflection", text="A private reflection",
                        cycles=["reframing"], consent=False)
    published = story(cohort, people[0], title="The published story")
    impact.review_story(actor=team, story=published, decision="publish", note="", now=clock.now())
    story(cohort, people[1], title="The unpublished story")

    for person, title in ((people[0], "Busy community"), (people[1], "New community")):
        communities.save_community(actor=person, cohort=cohort, now=clock.now(),
                                   details=communities.CommunityDetails(title=title, status="launched"))
    for days, attendance in ((60, 10), (40, 20), (20, 30)):
        communities.log_meeting(actor=people[0], cohort=cohort, today=clock.local_today(), now=clock.now(),
                                details=communities.MeetingDetails(held_on=clock.local_today() - timedelta(days=days),
                                                                   attendance=attendance,
                                                                   methods=["Liberating Structures"]))
    return team, cohort


def test_every_number_in_the_report_comes_from_the_data(known):
    _team, cohort = known
    report = build_report(cohort, clock.now())
    assert (report.participants, report.withdrawn) == (4, 1)
    assert report.by_organisation_kind == [("NHS trust", 2), ("Local government", 1), ("Not recorded", 1)]
    assert report.by_role == [("Not recorded", 4)]

    states = {line.session.title: line.state for line in report.sessions}
    module_days = [line for line in report.sessions if line.session.module_id == cohort.modules[0].id]
    assert [line.state for line in module_days] == ["postponed", "postponed"]
    assert all(line.planned_on + timedelta(days=7) == line.session.starts_at for line in module_days)
    assert report.cancelled == 1 and list(states.values()).count("cancelled") == 1
    ended = [s for s in cohort.sessions if s.ends_at <= clock.now() and s.status == "scheduled"]
    assert len(report.delivered) == len(ended) and report.postponed == 2
    welcome = report.sessions[0]
    assert (welcome.attended, welcome.expected, welcome.registered, welcome.attendance_percent) == (3, 4, True, 75)
    assert not any(line.registered for line in report.sessions[1:])

    fb = report.feedback_overall
    assert (fb.responses, fb.worthwhile_percent, fb.recommend_percent) == (2, 50, 50)
    # The welcome's register shows 3 attended; every other session delivered had no register: 4 each.
    assert fb.invited == 3 + 4 * (len(ended) - 1)
    assert report.feedback_by_kind["welcome"].response_rate == 67

    assert report.cycle_counts == {"immediate": 1, "potential": 0, "applied": 1, "realised": 1, "reframing": 1,
                                   "strategic": 0, "enabling": 0, "transformative": 0}
    assert report.quotes_by_cycle["immediate"] == ["A consented quote"]
    assert report.quotes_by_cycle["realised"] == ["A shared change"]
    assert report.quotes_by_cycle["applied"] == [] and report.quotes_by_cycle["reframing"] == []

    assert [s.title for s in report.stories] == ["The published story"]
    assert (report.communities_recorded, report.meetings_total, report.meeting_attendance_total) == (2, 3, 60)
    assert report.met_expectation == 1
    assert report.community_status == [("Launched", 2)]
    assert report.methods == [("Liberating Structures", 3)]


def test_the_page_and_the_pdf_say_the_same_and_respect_consent(client, login_as, known):
    team, cohort = known
    cohort_id = cohort.id
    login_as(team)
    page = client.get(f"/cohorts/{cohort_id}/report").get_data(as_text=True)
    pdf = client.get(f"/cohorts/{cohort_id}/report.pdf")
    assert pdf.status_code == 200 and pdf.mimetype == "application/pdf"
    assert pdf.headers["Content-Disposition"].startswith('attachment; filename="evaluation-report-')
    text = " ".join(page_.extract_text() for page_ in PdfReader(io.BytesIO(pdf.data)).pages)
    text = " ".join(text.split())
    for expected in ("4 participants (1 withdrew)", "50% said taking part was a worthwhile use of their time",
                     "50% would recommend", "A consented quote", "A shared change", "The published story",
                     "3 meetings with 60 attendances", "postponed after it was due (planned for"):
        assert expected in " ".join(page.split()), expected
        assert expected in text, expected
    for private in ("A secret quote", "A private reflection", "The unpublished story"):
        assert private not in page and private not in text
    assert "<svg" in page and "Times each kind of value was named" in page


def test_a_narrative_is_saved_and_shown_and_the_report_needs_no_data(client, login_as, frozen_now):
    team = make_team()
    cohort = make_cohort(starts_on=clock.now().date() + timedelta(days=30))
    report = build_report(cohort, clock.now())
    assert (report.participants, report.feedback_overall.response_rate, len(report.delivered)) == (0, None, 0)
    cohort_id = cohort.id
    login_as(team)
    assert client.get(f"/cohorts/{cohort_id}/report").status_code == 200
    from tests.conftest import csrf_token

    token = csrf_token(client, f"/cohorts/{cohort_id}/report")
    client.post(f"/cohorts/{cohort_id}/report/narrative", data={"csrf_token": token, "summary": "Our summary",
                                                                "next_steps": "Our next steps"})
    page = client.get(f"/cohorts/{cohort_id}/report").get_data(as_text=True)
    assert "Our summary" in page and "Our next steps" in page
    assert client.get(f"/cohorts/{cohort_id}/report.pdf").status_code == 200
