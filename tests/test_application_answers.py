"""The applicant's copy of their answers, length limits shown before they bite, answers kept when
sign-in ends while typing, and exports in people's language."""

from __future__ import annotations

import csv
import io
import re
from datetime import timedelta
from urllib.parse import parse_qs, urlsplit

import openpyxl
from flask_login import login_user
from sqlalchemy import func, select

from app import clock
from app.applications import services
from app.applications.models import Application
from app.auth import held_forms
from app.auth.models import HeldForm
from app.auth.sessions import end_all_sessions
from app.db import db
from app.exports import safe_cell, to_csv, to_xlsx
from app.notifications.models import OutboxMessage
from app.notifications.services import open_links
from app.tokens import hash_token
from tests.conftest import csrf_token
from tests.factories import PASSWORD, make_application, make_organisation, make_team, make_user, open_cohort


def outbox(prefix: str) -> list[OutboxMessage]:
    return list(db.session.scalars(select(OutboxMessage).where(OutboxMessage.key.startswith(prefix))
                                   .order_by(OutboxMessage.id)))


def held_count() -> int:
    return db.session.scalar(select(func.count()).select_from(HeldForm))


def error_summary(page: str) -> str:
    match = re.search(r'nhsuk-error-summary__list.*?</ul>', page, re.S)
    assert match, "no error summary on the page"
    return match.group(0)


# -- A: the applicant's copy -------------------------------------------------------------------

def test_the_applicant_sees_a_read_only_copy_of_what_they_submitted(client, login_as, frozen_now):
    cohort = open_cohort()
    application = make_application(cohort, submit=True, hopes="To learn <b>together</b>\nand to keep going",
                                   phone="+44 20 7946 0000", crosses_boundaries=False, cop_status="planning")
    db.session.commit()
    login_as(application.applicant)
    page = client.get(f"/applications/{application.id}/answers").get_data(as_text=True)
    assert "<h1>Your answers</h1>" in page and "nhsuk-summary-list" in page
    # The form's own wording for each question, the answers as plain (escaped) text.
    for question in ("Job title", "Phone number (optional)", "Your organisation", "Which of these apply to you?",
                     "What do you hope to gain from the programme?", "Is your community running yet?",
                     "Does it cross professional or organisational boundaries?", "Line manager&#39;s email address"):
        assert question in page, question
    assert "To learn &lt;b&gt;together&lt;/b&gt;\nand to keep going" in page and "<b>together" not in page
    assert "I am planning it" in page and "+44 20 7946 0000" in page and "pat.manager@example.org" in page
    assert "I am a member of the national improvement community" in page
    assert "<textarea" not in page and 'name="hopes"' not in page  # read-only
    assert "convene-answers" in page  # the print rules keep each question with its answer

    answers_link = f'href="/applications/{application.id}/answers"'
    assert answers_link in client.get(f"/applications/{application.id}").get_data(as_text=True)
    assert answers_link in client.get("/my-applications").get_data(as_text=True)

    login_as(make_user())
    assert client.get(f"/applications/{application.id}/answers").status_code == 404


def test_a_draft_has_no_link_yet_and_its_copy_says_it_is_not_submitted(client, login_as, frozen_now):
    application = make_application(open_cohort())
    db.session.commit()
    login_as(application.applicant)
    assert f"/applications/{application.id}/answers" not in client.get(
        f"/applications/{application.id}").get_data(as_text=True)
    page = client.get(f"/applications/{application.id}/answers").get_data(as_text=True)
    assert "You have not submitted this application yet" in page


def test_the_confirmation_email_carries_a_copy_of_the_answers(frozen_now):
    application = make_application(open_cohort(), submit=True, cop_title="Ward <script>alert(1)</script> network",
                                   hopes="Line one\nLine two", crosses_boundaries=False, boundaries_how="")
    [message] = outbox(f"application-submitted:{application.id}")
    assert "A copy of your answers" in message.body_text and "A copy of your answers" in message.body_html
    assert "What do you hope to gain from the programme?\n  Line one\n  Line two" in message.body_text
    assert "Name of your community of practice\n  Ward <script>alert(1)</script> network" in message.body_text
    assert "How does it cross boundaries?\n  Not answered" in message.body_text
    assert "Ward &lt;script&gt;alert(1)&lt;/script&gt; network" in message.body_html
    assert "<script>" not in message.body_html
    # Nothing secret: the only link is the applicant's own status page, as before.
    assert open_links(message.body_text).count("http") == 1


# -- B: length limits ----------------------------------------------------------------------------

def test_long_answers_show_a_character_count_and_the_limit_without_javascript(client, login_as, frozen_now):
    application = make_application(open_cohort())
    db.session.commit()
    login_as(application.applicant)
    page = client.get(f"/applications/{application.id}/edit").get_data(as_text=True)
    assert page.count('data-module="nhsuk-character-count"') == 4
    assert 'data-maxlength="3000"' in page
    assert page.count("You can enter up to 3,000 characters") == 4
    assert 'id="hopes-info"' in page and 'aria-describedby="hopes-info"' in page
    assert 'class="nhsuk-textarea nhsuk-js-character-count"' in page


def test_too_long_answers_are_refused_naming_the_question(client, login_as, frozen_now):
    application = make_application(open_cohort())
    db.session.commit()
    login_as(application.applicant)
    path = f"/applications/{application.id}/edit"
    response = client.post(path, data={"csrf_token": csrf_token(client, path), "action": "save",
                                       "hopes": "x" * 3001, "phone": "0" * 41, "cop_title": "Kept"})
    assert response.status_code == 200
    summary = error_summary(response.get_data(as_text=True))
    assert "What do you hope to gain from the programme? must be 3,000 characters or fewer" in summary
    assert "Phone number must be 40 characters or fewer" in summary
    assert 'href="#hopes"' in summary
    assert db.session.get(Application, application.id).cop_title != "Kept"
    # A line break counts once, as the character count in the page counts it.
    ok = client.post(path, data={"csrf_token": csrf_token(client, path), "action": "save",
                                 "hopes": "ab\r\n" * 1000})
    assert ok.status_code == 302


# -- C: answers kept when sign-in ended while typing ----------------------------------------

def _sign_in(client, user, next_path: str):
    login_page = "/sign-in?next=" + next_path
    return client.post(login_page, data={"csrf_token": csrf_token(client, login_page), "email": user.email,
                                         "password": PASSWORD})


def test_answers_typed_after_sign_in_ended_are_put_back_once(app, client, login_as, frozen_now):
    application = make_application(open_cohort(), hopes="Saved before")
    user = application.applicant
    db.session.commit()
    login_as(user)
    path = f"/applications/{application.id}/edit"
    token = csrf_token(client, path)
    end_all_sessions(user, now=clock.now())  # signed out everywhere, from another device
    db.session.commit()

    response = client.post(path, data={"csrf_token": token, "action": "save", "hopes": "Typed while signed out",
                                       "cop_title": "Typed title", "new_password": "hunter2"})
    assert response.status_code == 302
    location = urlsplit(response.headers["Location"])
    assert location.path == "/sign-in"
    next_path = parse_qs(location.query)["next"][0]
    assert next_path.startswith(path + "?restore=")
    restore_token = next_path.split("restore=")[1]
    held = db.session.scalar(select(HeldForm))
    assert held.user_id == user.id and held.path == path
    assert held.token_hash == hash_token(restore_token) and restore_token not in held.token_hash
    assert held.expires_at == clock.now() + timedelta(hours=1)
    assert "csrf_token" not in held.data and "new_password" not in held.data
    assert held.data["hopes"] == ["Typed while signed out"]
    login_page = client.get("/sign-in?next=" + next_path).get_data(as_text=True)
    assert "You were signed out, so your answers were not saved yet." in login_page

    signed_in = _sign_in(client, user, next_path)
    assert signed_in.status_code == 302 and signed_in.headers["Location"] == next_path
    page = client.get(next_path).get_data(as_text=True)
    assert "We have put back what you typed. Save it to keep it." in page
    assert "Typed while signed out" in page and 'value="Typed title"' in page
    db.session.expire_all()
    assert db.session.get(Application, application.id).hopes == "Saved before"  # nothing saved yet
    assert held_count() == 0

    again = client.get(next_path).get_data(as_text=True)
    assert "Typed while signed out" not in again and "Saved before" in again
    assert "We have put back what you typed" not in again


def test_a_held_form_goes_back_only_to_its_owner_for_its_page_within_the_hour(app, frozen_now):
    owner, other = make_user(), make_user()
    path = "/applications/1/edit"
    token = held_forms.hold_form(user=owner, path=path, data={"hopes": ["Mine"]}, now=clock.now())
    db.session.commit()

    def restore_as(user, url):
        with app.test_request_context(url):
            login_user(user)
            return held_forms.restore()

    assert restore_as(other, f"{path}?restore={token}") is None
    assert restore_as(owner, f"/applications/2/edit?restore={token}") is None
    assert restore_as(owner, f"{path}?restore=not-the-token") is None
    assert held_count() == 1
    assert restore_as(owner, f"{path}?restore={token}").getlist("hopes") == ["Mine"]
    assert restore_as(owner, f"{path}?restore={token}") is None

    late = held_forms.hold_form(user=owner, path=path, data={"hopes": ["Too late"]}, now=clock.now())
    db.session.commit()
    frozen_now.shift(timedelta(hours=1, seconds=1))
    assert restore_as(owner, f"{path}?restore={late}") is None
    assert held_forms.purge_expired_held_forms(clock.now()) == 1


def test_another_person_signing_in_with_the_link_gets_nothing(app, client, login_as, frozen_now):
    application = make_application(open_cohort(), hopes="Saved before")
    db.session.commit()
    login_as(application.applicant)
    path = f"/applications/{application.id}/edit"
    token = csrf_token(client, path)
    end_all_sessions(application.applicant, now=clock.now())
    db.session.commit()
    next_path = parse_qs(urlsplit(client.post(path, data={"csrf_token": token, "hopes": "Private words"})
                                  .headers["Location"]).query)["next"][0]

    stranger = app.test_client()
    _sign_in(stranger, make_user(), next_path)
    response = stranger.get(next_path)
    assert response.status_code == 404 and "Private words" not in response.get_data(as_text=True)
    assert held_count() == 1  # still there for its owner


def test_an_anonymous_post_keeps_nothing_and_still_goes_to_sign_in(client, frozen_now):
    application = make_application(open_cohort())
    db.session.commit()
    token = csrf_token(client, "/password/forgot")
    path = f"/applications/{application.id}/edit"
    response = client.post(path, data={"csrf_token": token, "hopes": "Nobody's words"})
    assert response.status_code == 302
    location = urlsplit(response.headers["Location"])
    assert location.path == "/sign-in" and parse_qs(location.query)["next"] == [path]
    assert held_count() == 0
    assert "Sign in to see that page." in client.get(response.headers["Location"]).get_data(as_text=True)


def test_a_get_that_needs_sign_in_is_redirected_as_before(client, frozen_now):
    response = client.get("/my-applications?tab=1")
    location = urlsplit(response.headers["Location"])
    assert response.status_code == 302 and location.path == "/sign-in"
    assert parse_qs(location.query)["next"] == ["/my-applications?tab=1"]
    assert held_count() == 0


def test_a_staff_member_signed_out_for_being_idle_keeps_their_typing(app, client, login_as, frozen_now):
    application = make_application(open_cohort(), submit=True)
    team = make_team()
    db.session.commit()
    login_as(team)
    token = csrf_token(client, f"/team/applications/{application.id}")
    frozen_now.shift(app.config["STAFF_IDLE_TIMEOUT"] + timedelta(minutes=1))
    path = f"/team/applications/{application.id}/decision"
    response = client.post(path, data={"csrf_token": token, "decision": "offer"})
    assert response.status_code == 302
    assert "restore=" in parse_qs(urlsplit(response.headers["Location"]).query)["next"][0]
    held = db.session.scalar(select(HeldForm))
    assert held.user_id == team.id and held.data == {"decision": ["offer"]}


# -- D: exports in people's language -----------------------------------------------------------

def _exported_application():
    cohort = open_cohort()
    organisation = make_organisation()
    application = make_application(cohort, submit=True, organisation_id=organisation.id, phone="+44 20 7946 0000",
                                   cop_title='=HYPERLINK("http://evil.example")', hopes="-2 and more",
                                   cop_status="running", crosses_boundaries=True, is_improvement_community_member=True,
                                   leads_network_cop=False)
    reviewer = make_team(name="Ada Reviewer")
    services.score_application(actor=reviewer, application=application, boundary=4, ambition=3, readiness=5,
                               comment="Strong boundary crossing")
    services.score_application(actor=make_team(name="Ben Reviewer"), application=application, boundary=2,
                               ambition=2, readiness=2)
    application.decision = "waitlist"
    db.session.commit()
    return cohort, application, organisation


def test_the_csv_export_uses_labels_local_times_and_no_needless_apostrophes(client, login_as, frozen_now):
    cohort, application, organisation = _exported_application()
    login_as(make_team())
    response = client.get(f"/team/cohorts/{cohort.id}/applications.csv")
    header, row = list(csv.reader(io.StringIO(response.get_data(as_text=True).lstrip("\ufeff"))))[:2]
    cell = dict(zip(header, row, strict=True))
    submitted = clock.to_local(application.submitted_at, cohort.timezone)
    assert cell["Submitted"] == f"{submitted.day} {submitted:%b %Y %H:%M}" == "23 Nov 2026 10:00"
    assert cell["Status"] == "Waiting for line manager"
    assert cell["CoP status"] == "Running" and cell["Decision"] == "Waiting list"
    assert cell["Improvement community member"] == "Yes" and cell["Leads a network CoP"] == "No"
    assert cell["Crosses boundaries"] == "Yes"
    assert cell["Organisation kind"] == organisation.kind_label
    assert cell["Reviewers' comments"] == "Ada Reviewer: Strong boundary crossing"
    # Formula injection is still refused in a CSV; a plain number or phone number is left alone.
    assert cell["Community of practice"] == "'=HYPERLINK(\"http://evil.example\")"
    assert cell["Hopes"] == "'-2 and more"
    assert cell["Mean score"] == "9.0"


def test_the_excel_export_has_real_dates_and_text_cells_without_apostrophes(client, login_as, frozen_now):
    cohort, application, _organisation = _exported_application()
    login_as(make_team())
    sheet = openpyxl.load_workbook(io.BytesIO(client.get(f"/team/cohorts/{cohort.id}/applications.xlsx").data)).active
    header = [c.value for c in sheet[1]]
    cells = {h: c for h, c in zip(header, sheet[2], strict=False)}
    submitted = clock.to_local(application.submitted_at, cohort.timezone).replace(tzinfo=None)
    assert cells["Submitted"].is_date and cells["Submitted"].value == submitted
    assert cells["Submitted"].number_format == "d mmm yyyy hh:mm"
    assert cells["Community of practice"].value == '=HYPERLINK("http://evil.example")'
    assert cells["Community of practice"].data_type == "s"
    assert all(c.data_type != "f" for c in sheet[2])
    assert cells["Hopes"].value == "-2 and more"
    assert cells["Decision"].value == "Waiting list" and cells["CoP status"].value == "Running"
    assert cells["Reviewers' comments"].value == "Ada Reviewer: Strong boundary crossing"
    assert cells["Mean score"].value == 9.0


def test_csv_cells_prefix_formulas_but_not_plain_numbers():
    assert safe_cell("+44 20 7946 0000") == "+44 20 7946 0000"
    assert safe_cell("-3") == "-3" and safe_cell("-1,234.50") == "-1,234.50" and safe_cell(-3) == -3
    assert safe_cell("+44 (0)20 7946 0000") == "+44 (0)20 7946 0000"
    for hostile in ("=1+1", "+cmd|' /C calc'!A0", "-2+3+cmd|' /C calc'!A0", "@SUM(A1)", "\t=1", "-", "+"):
        assert safe_cell(hostile) == "'" + hostile, hostile
    body = to_csv(["A"], [["+44 1"], ["=1"]]).decode("utf-8-sig")
    assert body == "A\r\n+44 1\r\n'=1\r\n"
    sheet = openpyxl.load_workbook(io.BytesIO(to_xlsx(["A"], [["#N/A"], [None], ["=1"], [True]]))).active
    assert [c.value for c in sheet["A"]] == ["A", "#N/A", None, "=1", "Yes"]
    assert [c.data_type for c in sheet["A"]] == ["s", "s", "n", "s", "s"]
