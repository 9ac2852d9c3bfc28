"""Programmes of work: the programme team sets one up with a team of its own and puts communities in it;
that team sees and manages all of its communities and its report; conveners and members of one of its
communities see nothing of the others. Communities record value evidence and value stories; the report
gives attendance per community and meeting, value by cycle and consented stories. Seed 003's Appendix 1
is entered through the pages and read back from the report."""

from __future__ import annotations

import re
from datetime import date, time

import pytest
from sqlalchemy import func, select

from app import clock
from app.admin.retention import erase_person
from app.communities.models import Community, CommunityMeeting
from app.communities.programme_models import ProgrammeOfWork
from app.communities.services import meetings, programmes, spaces, value
from app.db import db
from app.errors import Conflict, NotFound, PermissionDenied
from app.programme.models import Enrolment
from tests.conftest import count_queries, csrf_token
from tests.factories import make_team, make_user
from tests.test_community_spaces import member_of

# -- helpers ---------------------------------------------------------------------------------------


def programme_with(*names: str, team=None):
    """A programme of work set up by the team, with communities set up inside it."""
    team = team or make_team()
    programme = programmes.create_programme(actor=team, now=clock.now(), details=programmes.ProgrammeDetails(
        name="Northshire Cancer Alliance Communities of Practice", run_by="Northshire Cancer Alliance"))
    communities = [spaces.start_community(actor=team, now=clock.now(), programme_of_work_id=programme.id,
                                          details=spaces.CommunityDetails(name=name)) for name in names]
    return team, programme, communities


def held_meeting(community, actor, day: date, guests: int, status: str = "held", notes: str = ""):
    meeting = meetings.add_meeting(actor=actor, community=community, now=clock.now(), details=meetings.MeetingDetails(
        meets_on=day, starts=time(14, 0), ends=time(15, 30), format="online", status=status, notes=notes))
    if status == "held":
        meetings.record_register(actor=actor, meeting=meeting, statuses={}, guest_count=guests, now=clock.now())
    return meeting


def post(client, path: str, data: dict, form_page: str | None = None):
    return client.post(path, data={"csrf_token": csrf_token(client, form_page or path), **data})


def meeting_cells(page: str, community: str) -> tuple[list[str], str]:
    """The attendance cell of each meeting of one community in the report, and its total."""
    table = re.search(rf'<table[^>]*data-community="{re.escape(community)}">(.*?)</table>', page, re.S).group(1)
    cells = [re.sub(r"<[^>]+>", "", cell).strip()
             for cell in re.findall(r"<td[^>]*data-attendance>(.*?)</td>", table, re.S)]
    total = re.search(r"<td[^>]*data-total>(.*?)</td>", table, re.S).group(1).strip()
    return cells, total


# -- seed 003, Appendix 1 -------------------------------------------------------------------------

# Attendance per CoP session as the appendix lists it: people who came, counted without names.
APPENDIX_1 = {
    "Patient Involvement": [38, 32, 30],
    "Rehabilitation and Personalised Care": [36, 34, 24],
    "Operational Teams": [14, 10, 10],
    "Ultrasound Imaging": [15, 13, "Postponed due to Covid-19"],
}
# The appendix gives no dates: these are invented, a few months apart, the last in spring 2020.
DAYS = [date(2019, 7, 10), date(2019, 11, 6), date(2020, 3, 18)]


def test_seed_003_appendix_1_is_entered_through_the_pages_and_read_back_from_the_report(
        app, client, login_as, frozen_now):
    """The programme team sets up the programme of work and its team; a team member who is not staff
    sets up the four communities and enters their meetings through the pages, with everyone who came
    counted without names: nobody is enrolled on the programme, nobody is invented."""
    team = make_team()
    lead = make_user(name="Priya Alliance-Lead", email="alliance.lead@example.org")
    db.session.commit()
    login_as(team)
    response = post(client, "/programmes-of-work/new", {
        "name": "Northshire Cancer Alliance Communities of Practice", "run_by": "Northshire Cancer Alliance",
        "description": "Four communities of practice", "starts_on": "2019-06-01", "ends_on": "2020-06-30",
        "story_questions": "What was happening before the community?\nWhat has changed because of it?"})
    assert response.status_code == 302
    programme_id = db.session.scalar(select(ProgrammeOfWork.id))
    page = f"/programmes-of-work/{programme_id}"
    assert post(client, f"{page}/team", {"email": "alliance.lead@example.org"}, page).status_code == 302

    login_as(lead)
    for name, sessions in APPENDIX_1.items():
        response = post(client, f"{page}/communities/new", {"name": name, "status": "meeting_regularly"})
        assert response.status_code == 302, response.get_data(as_text=True)
        community_id = int(response.headers["Location"].rsplit("/", 1)[1])
        for day, attended in zip(DAYS, sessions, strict=True):
            postponed = isinstance(attended, str)
            response = post(client, f"/communities/{community_id}/meetings/new", {
                "meets_on": day.isoformat(), "starts": "14:00", "ends": "16:00", "format": "in_person",
                "status": "postponed" if postponed else "held", "notes": attended if postponed else ""})
            assert response.status_code == 302, response.get_data(as_text=True)
            if not postponed:
                register = response.headers["Location"] + "/register"
                assert post(client, register, {"guest_count": str(attended)}).status_code == 302

    assert db.session.scalar(select(func.count()).select_from(Enrolment)) == 0
    assert db.session.scalar(select(func.count()).select_from(CommunityMeeting)) == 12
    report = client.get(f"{page}/report")
    assert report.status_code == 200
    body = report.get_data(as_text=True)
    for name, sessions in APPENDIX_1.items():
        cells, total = meeting_cells(body, name)
        assert cells == [f"Postponed: {s}" if isinstance(s, str) else str(s) for s in sessions]
        assert total == str(sum(s for s in sessions if isinstance(s, int)))
    assert "11 meetings held, with 256 attendances in all" in body
    assert "1 postponed" in body
    # Typed and shown in UK time (British Summer Time in July, GMT in March), stored in UTC.
    assert "Wednesday 10 July 2019 at 2pm to 4pm" in body and "Wednesday 18 March 2020 at 2pm to 4pm" in body
    first = db.session.scalar(select(CommunityMeeting).order_by(CommunityMeeting.id))
    assert first.starts_at.hour == 13 and first.starts_at.utcoffset().total_seconds() == 0


# -- who sees what --------------------------------------------------------------------------------

def test_only_the_programme_team_sets_up_programmes_of_work(client, login_as, frozen_now):
    someone = make_user()
    db.session.commit()
    with pytest.raises(PermissionDenied):
        programmes.create_programme(actor=someone, now=clock.now(), details=programmes.ProgrammeDetails(name="Mine"))
    team, programme, [community] = programme_with("Frailty")
    lead = make_user()
    programmes.add_team_member(actor=team, programme=programme, email=lead.email, now=clock.now())
    db.session.commit()
    with pytest.raises(PermissionDenied):
        programmes.add_team_member(actor=lead, programme=programme, email=someone.email, now=clock.now())
    login_as(lead)
    assert client.get("/programmes-of-work/new").status_code == 403
    assert client.post("/programmes-of-work/new", data={"name": "Mine"}).status_code in (400, 403)
    assert db.session.scalar(select(func.count()).select_from(ProgrammeOfWork)) == 1
    assert client.get(f"/programmes-of-work/{programme.id}/edit").status_code == 403


def test_a_convener_sees_only_their_community_until_they_join_the_programmes_team(client, login_as, frozen_now):
    team, programme, (own, other) = programme_with("Patient voice", "Imaging")
    convener = member_of(own, name="Cora Convener", role="convener")
    member = member_of(own, name="Milo Member")
    held_meeting(other, team, date(2026, 10, 1), 12)
    db.session.commit()
    for person in (convener, member):
        login_as(person)
        own_page = client.get(f"/communities/{own.id}")
        assert own_page.status_code == 200 and "Northshire" not in own_page.get_data(as_text=True)
        assert client.get(f"/communities/{other.id}").status_code == 404
        assert "Imaging" not in client.get("/communities").get_data(as_text=True)
        for path in (f"/programmes-of-work/{programme.id}", f"/programmes-of-work/{programme.id}/report",
                     f"/programmes-of-work/{programme.id}/report.pdf"):
            response = client.get(path)
            assert response.status_code == 404, path
            assert "Imaging" not in response.get_data(as_text=True)
    programmes.add_team_member(actor=team, programme=programme, email=convener.email, now=clock.now())
    db.session.commit()
    login_as(convener)
    other_page = client.get(f"/communities/{other.id}").get_data(as_text=True)
    assert "Part of" in other_page and "Northshire Cancer Alliance Communities of Practice" in other_page
    assert "Imaging" in client.get("/communities").get_data(as_text=True)
    assert "Imaging" in client.get(f"/programmes-of-work/{programme.id}/report").get_data(as_text=True)
    login_as(member)
    assert client.get(f"/communities/{other.id}").status_code == 404


def test_the_programmes_team_manages_every_community_in_it_and_no_other(client, login_as, frozen_now):
    team, programme, (first, second) = programme_with("Patient voice", "Imaging")
    outside = spaces.start_community(actor=team, now=clock.now(), details=spaces.CommunityDetails(name="Elsewhere"))
    lead = make_user(name="Lee Lead")
    programmes.add_team_member(actor=team, programme=programme, email=lead.email, now=clock.now())
    db.session.commit()
    login_as(lead)
    for community in (first, second):
        assert client.get(f"/communities/{community.id}/edit").status_code == 200
        assert client.get(f"/communities/{community.id}/meetings/new").status_code == 200
        assert client.get(f"/communities/{community.id}/value").status_code == 200
    assert client.get(f"/communities/{outside.id}").status_code == 404
    # They set up a community inside the programme, and invite its convener.
    response = post(client, f"/programmes-of-work/{programme.id}/communities/new", {"name": "Operational teams",
                                                                                  "status": "planning"})
    created = db.session.get(Community, int(response.headers["Location"].rsplit("/", 1)[1]))
    assert created.programme_of_work_id == programme.id and created.cohort_id is None
    response = post(client, f"/communities/{created.id}/invitations", {"email": "new.convener@example.org",
                                                                       "role": "convener"},
                    f"/communities/{created.id}")
    assert response.status_code == 302
    # Off the team, they see none of it.
    programmes.remove_team_member(actor=team, programme=programme, member_id=programme.team[0].id, now=clock.now())
    db.session.commit()
    assert client.get(f"/communities/{first.id}").status_code == 404
    assert client.get(f"/programmes-of-work/{programme.id}").status_code == 404


def test_a_community_belongs_to_at_most_one_programme_of_work(client, login_as, frozen_now):
    team, first, [community] = programme_with("Patient voice")
    _team, second, _ = programme_with(team=team)
    loose = spaces.start_community(actor=team, now=clock.now(), details=spaces.CommunityDetails(name="Loose"))
    with pytest.raises(Conflict, match="another programme of work"):
        programmes.add_community(actor=team, programme=second, community_id=community.id, now=clock.now())
    db.session.commit()
    login_as(team)
    page = f"/programmes-of-work/{second.id}"
    assert post(client, f"{page}/communities", {"community_id": str(loose.id)}, page).status_code == 302
    assert db.session.get(Community, loose.id).programme_of_work_id == second.id
    response = post(client, f"{page}/communities", {"community_id": str(community.id)}, page)
    assert response.status_code == 400 and "another programme of work" in response.get_data(as_text=True)
    post(client, f"{page}/communities/{loose.id}/remove", {}, page)
    assert db.session.get(Community, loose.id).programme_of_work_id is None
    with pytest.raises(NotFound):
        programmes.remove_community(actor=team, programme=first, community_id=loose.id, now=clock.now())


# -- value, and the report ----------------------------------------------------------------------

def test_value_evidence_and_consented_stories_reach_the_report(client, login_as, frozen_now):
    team, programme, [community] = programme_with("Rehabilitation")
    convener = member_of(community, name="Rowan Convener", role="convener")
    member = member_of(community, name="Mina Member")
    db.session.commit()
    login_as(convener)
    page = f"/communities/{community.id}/value"
    response = post(client, f"{page}/evidence", {"kind": "quote", "text": "We finally talk to each other",
                                                 "cycles": ["immediate", "applied"]}, page)
    assert response.status_code == 302
    response = post(client, f"{page}/evidence", {"kind": "change", "text": "", "cycles": []}, page)
    assert response.status_code == 400 and "Write the quote" in response.get_data(as_text=True)
    new_story = f"{page}/stories/new"
    form = client.get(new_story).get_data(as_text=True)
    assert "What was happening before the community?" in form  # the default questions
    response = post(client, new_story, {"interviewee": str(convener.id), "interviewed_on": "2026-11-02",
                                        "question_1": "What was happening before the community?",
                                        "answer_1": "Each team rebuilt the same leaflets", "question_2": "What changed?",
                                        "answer_2": "One shared set of leaflets", "consent_to_share": "y"})
    assert response.status_code == 302
    post(client, new_story, {"interviewee": "", "interviewee_name": "A physiotherapist",
                             "question_1": "What next?", "answer_1": "Not for the report"})
    login_as(member)
    assert client.get(page).status_code == 403
    login_as(team)
    body = client.get(f"/programmes-of-work/{programme.id}/report").get_data(as_text=True)
    assert "Each team rebuilt the same leaflets" in body and "One shared set of leaflets" in body
    assert "Not for the report" not in body
    assert "Rehabilitation: Rowan Convener" in body
    immediate = re.search(r"<td[^>]*>Immediate</td><td[^>]*>(\d+)</td>", body).group(1)
    assert immediate == "1"
    assert 'id="value-by-cycle-title"' in body  # the chart, beside its data table
    # Withdrawing consent takes the story out.
    story = value.stories_of(community)[0]
    login_as(convener)
    edit = f"{page}/stories/{story.id}/edit"
    post(client, edit, {"interviewee": str(convener.id), "question_1": "What was happening before the community?",
                        "answer_1": "Each team rebuilt the same leaflets"})
    login_as(team)
    assert "Each team rebuilt" not in client.get(f"/programmes-of-work/{programme.id}/report").get_data(as_text=True)


def test_the_report_shows_postponed_and_cancelled_meetings_without_counting_them_and_the_team_writes_next_steps(
        client, login_as, frozen_now):
    team, programme, [community] = programme_with("Imaging")
    convener = member_of(community, name="Ivy Convener", role="convener")
    meeting = held_meeting(community, convener, date(2026, 9, 1), 7)
    meetings.record_register(actor=convener, meeting=meeting, statuses={convener.id: "present"}, guest_count=7,
                             now=clock.now())
    held_meeting(community, convener, date(2026, 10, 1), 0, status="cancelled", notes="Room flooded")
    held_meeting(community, convener, date(2026, 12, 1), 0, status="planned")
    lead = make_user()
    programmes.add_team_member(actor=team, programme=programme, email=lead.email, now=clock.now())
    db.session.commit()
    login_as(lead)
    report = f"/programmes-of-work/{programme.id}/report"
    body = client.get(report).get_data(as_text=True)
    cells, total = meeting_cells(body, "Imaging")
    assert cells == ["8", "Cancelled: Room flooded", "Planned"] and total == "8"
    assert "1 meeting held, with 8 attendances in all" in body
    assert "Tuesday 1 September 2026 at 2pm to 3:30pm" in body
    response = post(client, f"/programmes-of-work/{programme.id}/report/next-steps",
                    {"next_steps": "Hand the communities to the trusts"}, report)
    assert response.status_code == 302
    assert "Hand the communities to the trusts" in client.get(report).get_data(as_text=True)
    pdf = client.get(f"{report}.pdf")
    assert pdf.status_code == 200 and pdf.data.startswith(b"%PDF")


def test_the_report_runs_as_many_queries_for_ten_communities_as_for_one(app, client, login_as, frozen_now):
    team, small, [one] = programme_with("Only one")
    member_of(one, name="The one convener", role="convener")
    held_meeting(one, team, date(2026, 9, 1), 5)
    _team, big, many = programme_with(*[f"Community {n}" for n in range(10)], team=team)
    for community in many:
        for month in (7, 8, 9):
            meeting = held_meeting(community, team, date(2026, month, 3), 4)
            person = member_of(community, name=f"Named {community.id}-{month}")
            meetings.record_register(actor=team, meeting=meeting, statuses={person.id: "present"}, guest_count=4,
                                     now=clock.now())
        value.add_evidence(actor=team, community=community, kind="quote", text="Useful", cycles=["applied"],
                           now=clock.now())
        value.save_story(actor=team, community=community, story=None, now=clock.now(), draft=value.StoryDraft(
            interviewee_name="A convener", questions=["What next?"], answers=["More"], consent_to_share=True))
    db.session.commit()
    login_as(team)
    assert (count_queries(app, client, f"/programmes-of-work/{small.id}/report")
            == count_queries(app, client, f"/programmes-of-work/{big.id}/report"))


def test_erasing_a_programme_team_member_or_the_last_convener_keeps_the_programmes_communities(frozen_now):
    team, programme, [community] = programme_with("Patient voice")
    convener = member_of(community, name="Only Convener", role="convener")
    held_meeting(community, convener, date(2026, 9, 1), 9)
    programmes.add_team_member(actor=team, programme=programme, email=convener.email, now=clock.now())
    value.save_story(actor=convener, community=community, story=None, now=clock.now(), draft=value.StoryDraft(
        interviewee_id=convener.id, questions=["What next?"], answers=["Their own words"], consent_to_share=True))
    db.session.commit()
    erase_person(actor=team, person=convener, now=clock.now(), reason="asked")
    db.session.commit()
    kept = db.session.get(Community, community.id)
    assert kept is not None and len(kept.meetings) == 1 and kept.meetings[0].guest_count == 9
    assert db.session.get(ProgrammeOfWork, programme.id).team == []
    assert value.stories_of(kept) == []


def test_the_demo_has_a_programme_of_work_whose_lead_opens_its_report(client, runner, frozen_now):
    result = runner.invoke(args=["seed-demo"])
    assert result.exit_code == 0, result.output
    assert "alliance@example.org" in result.output
    token = csrf_token(client, "/sign-in")
    client.post("/sign-in", data={"csrf_token": token, "email": "alliance@example.org", "password": "demo-password"})
    programme = db.session.scalar(select(ProgrammeOfWork))
    body = client.get(f"/programmes-of-work/{programme.id}/report").get_data(as_text=True)
    for name in ("Patient Involvement", "Rehabilitation and Personalised Care", "Operational Teams",
                 "Ultrasound Imaging"):
        assert f'data-community="{name}"' in body
    cells, total = meeting_cells(body, "Ultrasound Imaging")
    assert cells[-1] == "Postponed: The venue closed at short notice" and total == str(sum(int(c) for c in cells[:2]))
    assert "Not agreed to share yet" not in body
    assert db.session.scalar(select(func.count()).select_from(Enrolment).join(
        Community, Community.cohort_id == Enrolment.cohort_id).where(Community.programme_of_work_id == programme.id)) == 0


def test_the_report_gives_each_meetings_feedback_beside_its_attendance(client, login_as, frozen_now):
    from app.communities.services import feedback

    team, programme, [community] = programme_with("Patient Involvement")
    people = [member_of(community, name=f"Member {n}") for n in range(3)]
    frozen_now.move_to(clock.local_instant(date(2026, 11, 18), time(16, 0)))
    meeting = meetings.add_meeting(actor=team, community=community, now=clock.now(), details=meetings.MeetingDetails(
        meets_on=date(2026, 11, 18), starts=time(14, 0), ends=time(15, 30), format="online", status="held"))
    meetings.record_register(actor=team, meeting=meeting, statuses={p.id: "present" for p in people}, guest_count=2,
                             now=clock.now())
    feedback.save_settings(actor=team, community=community, now=clock.now(),
                           settings=feedback.Settings(answers_are="named"))
    for person, rating in zip(people[:2], (4, 5), strict=True):
        feedback.give_feedback(actor=person, meeting=meeting, now=clock.now(),
                               answers=feedback.Answers(rating=rating, anonymous=False))
    programme_id = programme.id
    db.session.commit()
    login_as(team)
    page = client.get(f"/programmes-of-work/{programme_id}/report").get_data(as_text=True)
    assert "2 of 5 answered; rated 4.5 of 5" in page  # 3 named people present and 2 counted without names


def test_meetings_nobody_answered_about_show_no_feedback_column(client, login_as, frozen_now):
    team, programme, [community] = programme_with("Operational Teams")
    held_meeting(community, team, date(2019, 7, 10), 14)
    programme_id = programme.id
    db.session.commit()
    login_as(team)
    page = client.get(f"/programmes-of-work/{programme_id}/report").get_data(as_text=True)
    assert "answered" not in page and ">Feedback<" not in page
