"""Feedback after sessions: giving it, anonymity, settings, results and their percentages."""

from __future__ import annotations

import csv
import io
from datetime import date, timedelta

import pytest
from sqlalchemy import inspect, select

from app import clock
from app.attendance.models import AttendanceStatus
from app.attendance.services import save_attendance
from app.db import db
from app.errors import Conflict, DomainError
from app.evaluation import feedback
from app.evaluation.models import FeedbackReceipt, FeedbackResponse, RecommendScale
from app.programme.models import Enrolment
from tests.conftest import csrf_token
from tests.factories import make_cohort, make_participant, make_team


def recent_cohort(**kwargs):
    """A cohort whose first module was a fortnight ago, so its feedback is still open."""
    return make_cohort(starts_on=date(2026, 10, 26), **kwargs)


def ended_module_day(cohort):
    now = clock.now()
    return [s for s in cohort.sessions if s.kind == "module" and s.ends_at < now][-1]


def answers(**kwargs) -> feedback.Answers:
    kwargs.setdefault("worthwhile", 5)
    if "recommend_score" not in kwargs:
        kwargs.setdefault("recommend_yes", True)
    return feedback.Answers(**kwargs)


@pytest.mark.parametrize(("part", "whole", "expected"), [
    (1, 8, 13),     # 12.5 rounds up, not to even
    (3, 8, 38),     # 37.5
    (2, 3, 67), (1, 3, 33), (5, 5, 100), (0, 4, 0),
    (0, 0, None),   # nothing to divide: no percentage at all
    (-1, 8, -13),   # NPS can be negative: half rounds away from zero
])
def test_percentages_are_whole_numbers_rounded_half_up(part, whole, expected):
    assert feedback.percent(part, whole) == expected


def test_a_participant_gives_feedback_once_after_the_session_ends(client, login_as, frozen_now):
    cohort = recent_cohort()
    person = make_participant(cohort, name="Rowan Giver")
    session = ended_module_day(cohort)
    login_as(person)
    page = client.get(f"/sessions/{session.id}/feedback").get_data(as_text=True)
    assert "worthwhile use of my time" in page and "Strongly agree" in page
    token = csrf_token(client, f"/sessions/{session.id}/feedback")

    # Missing answers: the page says what to fix and keeps what was typed.
    refused = client.post(f"/sessions/{session.id}/feedback", data={
        "csrf_token": token, "what_worked": "The small groups"})
    body = refused.get_data(as_text=True)
    assert refused.status_code == 200 and "There is a problem" in body
    assert "Say how far you agree" in body and "Say whether you would recommend it" in body
    assert "The small groups" in body
    assert db.session.scalar(select(FeedbackReceipt.id)) is None

    sent = client.post(f"/sessions/{session.id}/feedback", data={
        "csrf_token": token, "worthwhile": "4", "recommend": "yes", "what_worked": "The small groups",
        "value_cycles": ["immediate", "applied"], "quote": "Worth every minute", "quote_consent": "y"})
    assert sent.status_code == 302
    response = db.session.scalar(select(FeedbackResponse))
    assert (response.worthwhile, response.recommend_yes, response.value_cycles) == (4, True, ["immediate", "applied"])
    assert response.quote_consent and response.enrolment.user.name == "Rowan Giver"
    again = client.get(f"/sessions/{session.id}/feedback").get_data(as_text=True)
    assert "You have given feedback on this session" in again
    with pytest.raises(Conflict, match="already given"):
        feedback.give_feedback(actor=person, session=session, answers=answers(), now=clock.now())


def test_feedback_waits_for_the_end_and_closes_after_thirty_days(frozen_now):
    cohort = recent_cohort()
    person = make_participant(cohort)
    upcoming = next(s for s in cohort.sessions if s.starts_at > clock.now())
    with pytest.raises(Conflict, match="once the session has ended"):
        feedback.give_feedback(actor=person, session=upcoming, answers=answers(), now=clock.now())
    with pytest.raises(Conflict, match="closed"):
        feedback.give_feedback(actor=person, session=upcoming, answers=answers(),
                               now=upcoming.ends_at + feedback.FEEDBACK_WINDOW + timedelta(seconds=1))
    feedback.give_feedback(actor=person, session=upcoming, answers=answers(), now=upcoming.ends_at)
    outsider = make_participant(make_cohort())
    with pytest.raises(DomainError, match="Only participants of this cohort"):
        feedback.give_feedback(actor=outsider, session=upcoming, answers=answers(), now=upcoming.ends_at)


def test_anonymous_feedback_cannot_be_joined_to_the_person(client, login_as, frozen_now):
    cohort = recent_cohort()
    team = make_team()
    named, hidden = make_participant(cohort, name="Named Person"), make_participant(cohort, name="Hidden Person")
    session = ended_module_day(cohort)
    feedback.give_feedback(actor=named, session=session, now=clock.now(),
                           answers=answers(what_worked="Said with my name"))
    feedback.give_feedback(actor=hidden, session=session, now=clock.now(),
                           answers=answers(worthwhile=2, what_worked="Said anonymously", anonymous=True))

    # The schema: responses carry no time and no link to receipts; receipts carry no answers.
    db.session.commit()
    columns = {c["name"] for c in inspect(db.engine).get_columns("feedback_responses")}
    assert not columns & {"created_at", "updated_at", "given_at", "receipt_id", "id"}
    assert {fk["referred_table"] for fk in inspect(db.engine).get_foreign_keys("feedback_responses")} == {
        "programme_sessions", "enrolments"}
    receipt_columns = {c["name"] for c in inspect(db.engine).get_columns("feedback_receipts")}
    assert receipt_columns == {"id", "session_id", "enrolment_id", "given_at"}
    anonymous = db.session.scalar(select(FeedbackResponse).where(FeedbackResponse.what_worked == "Said anonymously"))
    assert anonymous.enrolment_id is None and len(anonymous.key) == 32
    assert db.session.scalar(select(FeedbackReceipt).where(
        FeedbackReceipt.enrolment_id == hidden_enrolment(hidden, cohort))) is not None

    # The team's page and export: the anonymous answer has no name anywhere near it.
    session_id, cohort_id = session.id, cohort.id
    login_as(team)
    page = client.get(f"/sessions/{session_id}/feedback/results").get_data(as_text=True)
    assert "Said anonymously" in page and "Hidden Person" not in page
    assert "Named Person" in page
    rows = list(csv.reader(io.StringIO(client.get(f"/cohorts/{cohort_id}/feedback.csv").get_data(as_text=True))))
    by_text = {row[5]: row for row in rows[1:]}
    assert by_text["Said anonymously"][-1] == "Anonymous"
    assert by_text["Said with my name"][-1] == "Named Person"
    assert "Hidden Person" not in "".join(",".join(row) for row in rows)


def hidden_enrolment(user, cohort) -> int:
    return db.session.scalar(select(Enrolment.id).where(Enrolment.user_id == user.id, Enrolment.cohort_id == cohort.id))


def test_the_team_configures_the_form_per_kind_of_session(client, login_as, frozen_now):
    cohort = recent_cohort()
    team = make_team()
    person = make_participant(cohort)
    login_as(team)
    token = csrf_token(client, f"/cohorts/{cohort.id}/feedback/settings?kind=module")
    saved = client.post(f"/cohorts/{cohort.id}/feedback/settings?kind=module", data={
        "csrf_token": token, "kind": "module", "enabled": "y", "recommend_scale": "zero_ten", "ask_free_text": "y"})
    assert saved.status_code == 302
    settings = feedback.settings_for(cohort.id)
    assert settings["module"].recommend_scale == RecommendScale.ZERO_TEN
    assert (settings["module"].ask_quote, settings["module"].allow_anonymous) == (False, False)
    assert settings["welcome"] == feedback.Settings("welcome")  # other kinds keep the defaults

    session = ended_module_day(cohort)
    login_as(person)
    page = client.get(f"/sessions/{session.id}/feedback").get_data(as_text=True)
    assert "0 is not at all likely" in page and "Send my feedback anonymously" not in page
    assert "we could quote" not in page
    with pytest.raises(DomainError, match="not anonymous"):
        feedback.give_feedback(actor=person, session=session, now=clock.now(),
                               answers=answers(recommend_score=8, anonymous=True))
    with pytest.raises(DomainError, match="0 to 10"):
        feedback.give_feedback(actor=person, session=session, now=clock.now(), answers=answers(recommend_score=11))

    feedback.save_settings(actor=team, cohort=cohort, settings=feedback.Settings("module", enabled=False))
    assert "There is no feedback form" in client.get(f"/sessions/{session.id}/feedback").get_data(as_text=True)


def test_results_by_session_and_kind_with_response_rates_and_nps(client, login_as, frozen_now):
    cohort = recent_cohort()
    team = make_team()
    people = [make_participant(cohort) for _ in range(4)]
    feedback.save_settings(actor=team, cohort=cohort, settings=feedback.Settings(
        "module", recommend_scale=RecommendScale.ZERO_TEN.value))
    day = ended_module_day(cohort)
    welcome = cohort.sessions[0]
    for person, worthwhile, score in zip(people, (5, 4, 2, 3), (10, 9, 7, 3), strict=True):
        feedback.give_feedback(actor=person, session=day, now=clock.now(),
                               answers=answers(worthwhile=worthwhile, recommend_score=score))
    # The welcome had a register: two attended, one answered.
    for person, status in zip(people, (AttendanceStatus.PRESENT, AttendanceStatus.LATE, AttendanceStatus.ABSENT,
                                       AttendanceStatus.APOLOGIES), strict=True):
        save_attendance(welcome.id, hidden_enrolment(person, cohort), status, "", team, welcome.ends_at)
    feedback.give_feedback(actor=people[0], session=welcome, now=welcome.ends_at,
                           answers=answers(worthwhile=4, recommend_yes=False))

    tallies = feedback.tallies([day, welcome])
    module = tallies[day.id]
    assert (module.responses, module.invited, module.response_rate) == (4, 4, 100)
    assert module.worthwhile_percent == 50      # 5 and 4 agree; 2 and 3 do not
    assert module.recommend_percent == 50       # 10 and 9 are promoters
    assert module.nps == 25                     # 2 promoters - 1 detractor (3), of 4
    first = tallies[welcome.id]
    assert (first.responses, first.invited, first.response_rate) == (1, 2, 50)
    assert (first.worthwhile_percent, first.recommend_percent, first.nps) == (100, 0, None)

    cohort_id = cohort.id
    login_as(team)
    page = client.get(f"/cohorts/{cohort_id}/feedback").get_data(as_text=True)
    assert "<svg" in page and "The chart's figures" in page
    # All sessions so far: 5 responses, from the 2 the welcome register shows attended and the 4
    # participants at each of the two module days (no register taken).
    assert "5 of the 10 people who could answer (50%)" in page and "60% agree (3 of 5)" in page


def test_no_responses_show_no_percentage_not_zero(client, login_as, frozen_now):
    cohort = recent_cohort()
    make_participant(cohort)
    session = ended_module_day(cohort)
    tally = feedback.tallies([session])[session.id]
    assert (tally.responses, tally.response_rate, tally.worthwhile_percent, tally.recommend_percent, tally.nps) == (
        0, 0, None, None, None)
    login_as(make_team())
    page = client.get(f"/sessions/{session.id}/feedback/results").get_data(as_text=True)
    assert "no answers" in page and "0%" not in page.split("Worthwhile")[0][-200:]


def test_year_on_year_compares_cohorts_of_the_programme(client, login_as, frozen_now):
    last_year = make_cohort(name="Last year", starts_on=clock.now().date() - timedelta(days=400))
    this_year = make_cohort(name="This year")
    for cohort, scores in ((last_year, (5, 2)), (this_year, (5, 4))):
        people = [make_participant(cohort) for _ in scores]
        session = [s for s in cohort.sessions if s.ends_at < clock.now()][0]
        for person, score in zip(people, scores, strict=True):
            feedback.give_feedback(actor=person, session=session, now=session.ends_at, answers=answers(worthwhile=score))
    years = {c.name: overall for c, _, overall in feedback.year_on_year(this_year, clock.now())}
    assert years["Last year"].worthwhile_percent == 50 and years["This year"].worthwhile_percent == 100
    login_as(make_team())
    page = client.get(f"/cohorts/{this_year.id}/feedback").get_data(as_text=True)
    assert "Year on year" in page and "Last year" in page


def test_staff_cannot_give_feedback_and_the_home_page_asks_participants(client, login_as, frozen_now):
    cohort = recent_cohort()
    person = make_participant(cohort)
    session = ended_module_day(cohort)
    login_as(person)
    home = client.get("/home").get_data(as_text=True)
    assert "Your feedback, please" in home and f"/sessions/{session.id}/feedback" in home
    feedback.give_feedback(actor=person, session=session, answers=answers(), now=clock.now())
    db.session.commit()
    assert f"/sessions/{session.id}/feedback\"" not in client.get("/home").get_data(as_text=True)
    login_as(make_team())
    assert client.get(f"/sessions/{session.id}/feedback").status_code == 302
