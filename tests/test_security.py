"""Requests and accounts: CSRF on every state change, mass assignment, links from BASE_URL, sessions
that the server can end, password rules, rate limits and two-step sign-in."""

from __future__ import annotations

import re
from datetime import timedelta

import pyotp
import pytest
from sqlalchemy import func, select

from app import clock
from app.auth.models import User, UserSession
from app.db import db
from app.errors import DomainError
from app.evaluation.models import ParticipantCommunity
from app.notifications.models import OutboxMessage
from app.notifications.services import open_links
from tests.conftest import csrf_token, sign_in_client
from tests.factories import (
    PASSWORD,
    make_application,
    make_cohort,
    make_participant,
    make_team,
    make_user,
    open_cohort,
)
from tests.test_access import EXPECTED, row_counts, world  # noqa: F401  (world is a fixture)

POSTS = {endpoint: path for endpoint, (method, path, _) in EXPECTED.items() if method == "POST"}


@pytest.mark.parametrize("who", ["team", "participant"])
def test_every_state_change_refuses_a_missing_or_foreign_csrf_token(app, world, who):  # noqa: F811
    people, ids, _ = world
    stranger = app.test_client()
    foreign = csrf_token(stranger, "/password/forgot")  # a valid token, but for another browser
    for endpoint, path in POSTS.items():
        client = sign_in_client(app.test_client(), people[who])
        url = path.format(**ids)
        for data in ({}, {"csrf_token": foreign}, {"csrf_token": "not-a-token"}):
            before = row_counts()
            response = client.post(url, data=data)
            assert response.status_code == 400, f"{who} {endpoint} {data}: {response.status_code}"
            assert "This form has expired" in response.get_data(as_text=True)
            assert row_counts() == before, f"{endpoint} changed data without a valid token"


def test_sign_in_and_sign_out_need_a_csrf_token_too(client, login_as):
    make_user(email="csrf@example.org")
    assert client.post("/sign-in", data={"email": "csrf@example.org", "password": PASSWORD}).status_code == 400
    login_as(make_user())
    assert client.post("/sign-out").status_code == 400


def test_extra_fields_cannot_raise_a_role_or_move_records(client, login_as, frozen_now):
    token = csrf_token(client, "/register")
    client.post("/register", data={"csrf_token": token, "name": "Eve Extra", "email": "eve@example.org",
                                   "password": "a long enough phrase", "confirm": "a long enough phrase",
                                   "staff_role": "team", "is_disabled": "y", "id": "1"})
    eve = db.session.scalar(select(User).where(User.email == "eve@example.org"))
    assert (eve.staff_role, eve.is_disabled) == ("none", False)

    cohort, other = open_cohort(), make_cohort()
    application = make_application(cohort)
    applicant, application_id = application.applicant, application.id
    login_as(applicant)
    token = csrf_token(client, f"/applications/{application_id}/edit")
    client.post(f"/applications/{application_id}/edit", data={
        "csrf_token": token, "job_title": "Changed title", "status": "accepted", "cohort_id": other.id,
        "applicant_id": make_user().id, "action": "save"})
    db.session.expire_all()
    application = db.session.get(type(application), application_id)
    assert (application.status, application.cohort_id, application.applicant_id) == ("draft", cohort.id, applicant.id)

    person = make_participant(cohort)
    login_as(person)
    token = csrf_token(client, f"/cohorts/{cohort.id}/my-community")
    client.post(f"/cohorts/{cohort.id}/my-community", data={
        "csrf_token": token, "cop-title": "Mine", "cop-status": "planning", "enrolment_id": 1, "id": 99})
    community = db.session.scalar(select(ParticipantCommunity))
    assert community.enrolment.user_id == person.id


def test_emailed_links_use_base_url_whatever_the_host_header(app, frozen_now):
    from app.celebration.services import invite_guest

    forged = {"Host": "attacker.example"}
    cohort = open_cohort()
    with app.test_request_context("/", headers=forged):
        make_application(cohort, submit=True)
        invite_guest(actor=make_participant(cohort), cohort=cohort, name="A Guest", email="guest@example.org",
                     relationship="colleague", now=clock.now())
    bodies = [open_links(m.body_text) + open_links(m.body_html) for m in db.session.scalars(select(OutboxMessage))]
    assert len(bodies) >= 2
    assert all("attacker.example" not in body for body in bodies)
    assert any("http://convene.test/sponsor/" in body for body in bodies)
    assert any("http://convene.test/rsvp/" in body for body in bodies)


# -- sessions ----------------------------------------------------------------------------------

def _sign_in(client, email: str, password: str = PASSWORD):
    token = csrf_token(client, "/sign-in")
    return client.post("/sign-in", data={"csrf_token": token, "email": email, "password": password})


def _signed_in(client) -> bool:
    return client.get("/settings").status_code == 200


def test_signing_in_starts_a_new_session_and_signing_out_ends_it_on_the_server(app):
    make_user(email="replay@example.org")
    db.session.commit()
    client = app.test_client()
    client.get("/sign-in")
    with client.session_transaction() as before:
        before["planted"] = "by an attacker"
    assert _sign_in(client, "replay@example.org").status_code == 302
    with client.session_transaction() as after:
        assert "planted" not in after and after["sid"]
    stolen = client.get_cookie("session").value
    token = csrf_token(client, "/settings")
    client.post("/sign-out", data={"csrf_token": token})
    assert not _signed_in(client)
    replay = app.test_client()
    replay.set_cookie("session", stolen)
    assert not _signed_in(replay), "a copied cookie still worked after sign-out"


def test_password_reset_disabling_and_sign_out_everywhere_end_every_session(app, frozen_now):
    from app.auth import services

    person, team = make_user(email="many@example.org"), make_team()
    browsers = [sign_in_client(app.test_client(), person) for _ in range(2)]
    assert all(_signed_in(b) for b in browsers)
    services.sign_out_everywhere(actor=team, person=person, now=clock.now())
    db.session.commit()
    assert not any(_signed_in(b) for b in browsers)

    browser = sign_in_client(app.test_client(), person)
    services.set_disabled(actor=team, person=person, disabled=True, now=clock.now())
    db.session.commit()
    assert not _signed_in(browser)
    services.set_disabled(actor=team, person=person, disabled=False, now=clock.now())

    keep, other = (sign_in_client(app.test_client(), person) for _ in range(2))
    token = csrf_token(keep, "/settings")
    keep.post("/settings/sessions", data={"csrf_token": token, "scope": "others"})
    assert _signed_in(keep) and not _signed_in(other)
    services.request_password_reset(email=person.email, now=clock.now())
    link = open_links(db.session.scalars(select(OutboxMessage).order_by(OutboxMessage.id.desc())).first().body_text)
    reset_token = re.search(r"/password/reset/(\S+)", link).group(1)
    services.reset_password(token=reset_token, password="a brand new phrase", now=clock.now())
    db.session.commit()
    assert not _signed_in(keep)
    assert db.session.scalar(select(func.count()).select_from(UserSession).where(
        UserSession.user_id == person.id, UserSession.revoked_at.is_(None))) == 0


def test_staff_are_signed_out_after_thirty_idle_minutes_participants_are_not(app, frozen_now):
    staff = sign_in_client(app.test_client(), make_team())
    participant = sign_in_client(app.test_client(), make_participant(make_cohort()))
    frozen_now.shift(timedelta(minutes=29))
    assert _signed_in(staff)                          # a request resets the idle clock ...
    frozen_now.shift(timedelta(minutes=29))
    assert _signed_in(staff)
    frozen_now.shift(timedelta(minutes=31))           # ... 31 quiet minutes end it
    assert not _signed_in(staff)
    assert _signed_in(participant)


def test_common_passwords_are_refused_with_a_reason(client):
    from app.auth.services import check_password_rules

    for weak in ("password1", "iloveyou", "sunshine", "Password1"):
        with pytest.raises(DomainError, match="most common"):
            check_password_rules(weak)
    check_password_rules("correct horse battery")
    token = csrf_token(client, "/register")
    page = client.post("/register", data={"csrf_token": token, "name": "Weak", "email": "weak@example.org",
                                          "password": "qwertyuiop", "confirm": "qwertyuiop"})
    assert "most common" in page.get_data(as_text=True)


def test_sign_in_is_rate_limited_per_client_with_a_clear_message(app):
    from app import create_app
    from app.extensions import limiter

    make_user(email="limited@example.org")
    db.session.commit()
    limited = create_app({**app.config, "RATELIMIT_ENABLED": True, "RATELIMIT_STORAGE_URI": "memory://"})
    try:
        client = limited.test_client()
        statuses = [_sign_in(client, "limited@example.org", "wrong password").status_code for _ in range(11)]
        assert statuses[:10] == [200] * 10 and statuses[10] == 429
        page = _sign_in(client, "limited@example.org", "wrong password").get_data(as_text=True)
        assert "Too many attempts" in page and "Wait 15 minutes" in page
        assert _sign_in(limited.test_client(), "limited@example.org").status_code == 429  # same address
    finally:
        limiter.reset()
        limiter.enabled = False
        with limited.app_context():
            db.session.remove()
            db.engine.dispose()


# -- two-step sign-in --------------------------------------------------------------------------

def test_two_step_sign_in_needs_a_fresh_code_each_time(app, frozen_now):
    person = make_user(email="totp@example.org")
    db.session.commit()
    client = sign_in_client(app.test_client(), person)
    client.get("/settings/two-step")
    with client.session_transaction() as session:
        secret = session["two_step_secret"]
    token = csrf_token(client, "/settings/two-step")
    wrong = client.post("/settings/two-step", data={"csrf_token": token, "code": "000000"})
    assert wrong.status_code == 400 and "did not match" in wrong.get_data(as_text=True)
    code = pyotp.TOTP(secret).at(clock.now())
    assert client.post("/settings/two-step", data={"csrf_token": token, "code": code}).status_code == 302
    db.session.expire_all()
    assert db.session.get(User, person.id).totp_enabled_at is not None

    fresh = app.test_client()
    assert _sign_in(fresh, "totp@example.org").headers["Location"].endswith("/sign-in/code")
    assert not _signed_in(fresh)
    token = csrf_token(fresh, "/sign-in/code")
    assert fresh.post("/sign-in/code", data={"csrf_token": token, "code": code}).status_code == 400  # used already
    frozen_now.shift(timedelta(seconds=30))
    assert fresh.post("/sign-in/code", data={"csrf_token": token,
                                             "code": pyotp.TOTP(secret).at(clock.now())}).status_code == 302
    assert _signed_in(fresh)


def test_when_required_the_team_must_turn_on_two_step_first(app, frozen_now):
    app.config["REQUIRE_TEAM_TWO_STEP"] = True
    try:
        team = sign_in_client(app.test_client(), make_team())
        participant = sign_in_client(app.test_client(), make_participant(make_cohort()))
        assert team.get("/team/").headers["Location"].endswith("/settings/two-step")
        assert "Required for the programme team" in team.get("/settings/two-step").get_data(as_text=True)
        assert participant.get("/home").status_code == 200
    finally:
        app.config["REQUIRE_TEAM_TWO_STEP"] = False
