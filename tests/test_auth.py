"""Accounts: register, sign in and out, password reset by email, create-admin."""

import re
from datetime import timedelta

import pytest
from sqlalchemy import select

from app.audit import AuditEvent
from app.auth import services
from app.auth.models import PasswordResetToken, User
from app.db import db
from app.errors import Conflict, DomainError, InvalidToken
from app.notifications.models import OutboxMessage
from app.notifications.services import open_links
from app.tokens import hash_token
from tests.conftest import csrf_token
from tests.factories import PASSWORD, make_cohort, make_participant, make_team, make_user


def _reset_link() -> str:
    message = db.session.scalars(select(OutboxMessage).where(OutboxMessage.category == "account")).one()
    return re.search(r"http://convene\.test(/password/reset/\S+)", open_links(message.body_text)).group(1)


def _confirmation_link() -> str:
    message = db.session.scalars(select(OutboxMessage).where(OutboxMessage.key.startswith("email-confirmation:"))
                                 .order_by(OutboxMessage.id.desc())).first()
    return re.search(r"http://convene\.test(/register/confirm/\S+)", open_links(message.body_text)).group(1)


def test_register_then_the_emailed_link_signs_you_in_with_a_case_folded_email(client):
    token = csrf_token(client, "/register")
    response = client.post("/register", data={
        "csrf_token": token, "name": "Rosa Delgado", "email": "Rosa.Delgado@Example.ORG", "job_title": "Nurse",
        "password": "a long enough phrase", "confirm": "a long enough phrase",
    }, follow_redirects=True)
    assert "Check your email" in response.get_data(as_text=True)
    assert client.get("/my-applications").status_code == 302  # not signed in yet
    user = db.session.scalars(select(User)).one()
    assert user.email == "rosa.delgado@example.org" and user.email_confirmed_at is None
    assert user.password_hash.startswith("scrypt:")
    link = _confirmation_link()
    done = client.post(link, data={"csrf_token": csrf_token(client, link)}, follow_redirects=True)
    assert "Your email address is confirmed" in done.get_data(as_text=True)
    assert client.get("/my-applications").status_code == 200
    assert db.session.get(User, user.id).email_confirmed_at is not None


def test_register_form_errors_keep_what_was_typed(client):
    make_user(email="taken@example.org")
    token = csrf_token(client, "/register")
    page = client.post("/register", data={
        "csrf_token": token, "name": "Sam", "email": "TAKEN@example.org", "password": "short", "confirm": "other",
    }).get_data(as_text=True)
    assert "<title>Error: Create an account" in page
    assert 'value="Sam"' in page and 'value="TAKEN@example.org"' in page
    assert "Password must be between 8 and 128 characters" in page
    assert "The passwords do not match" in page
    assert 'value="short"' not in page  # passwords are never echoed back


def test_register_with_an_existing_email_changes_nothing_and_emails_its_owner(client):
    make_user(email="taken@example.org", name="Owner")
    token = csrf_token(client, "/register")
    page = client.post("/register", data={
        "csrf_token": token, "name": "Sam", "email": "Taken@example.org", "password": "long enough pass",
        "confirm": "long enough pass",
    }).get_data(as_text=True)
    assert "Check your email" in page and "already exists" not in page
    assert db.session.scalar(select(User).where(User.name == "Sam")) is None
    message = db.session.scalars(select(OutboxMessage)).one()
    assert message.recipient == "taken@example.org" and "sign in" in message.body_text


def test_service_rules():
    make_user(email="a@example.org")
    with pytest.raises(Conflict):
        services.register_user(email=" A@Example.org ", name="Again", password="long enough pass")
    with pytest.raises(DomainError, match="at least 8"):
        services.register_user(email="b@example.org", name="B", password="short")
    with pytest.raises(DomainError, match="full name"):
        services.register_user(email="c@example.org", name="  ", password="long enough pass")


def test_sign_in_lands_participants_on_their_home_and_staff_on_cohorts(client):
    cohort = make_cohort()
    make_participant(cohort, email="p@example.org")
    make_team(email="t@example.org")
    token = csrf_token(client, "/sign-in")
    response = client.post("/sign-in", data={"csrf_token": token, "email": "P@example.org", "password": PASSWORD})
    assert response.headers["Location"] == "/home"
    client.post("/sign-out", data={"csrf_token": csrf_token(client, "/my-applications")})
    token = csrf_token(client, "/sign-in")
    response = client.post("/sign-in", data={"csrf_token": token, "email": "t@example.org", "password": PASSWORD})
    assert response.headers["Location"] == "/team/"


def test_unknown_email_and_wrong_password_get_the_same_answer(client):
    make_user(email="known@example.org")
    answers = []
    for email, password in (("known@example.org", "wrong password"), ("nobody@example.org", "wrong password")):
        token = csrf_token(client, "/sign-in")
        response = client.post("/sign-in", data={"csrf_token": token, "email": email, "password": password})
        body = response.get_data(as_text=True).replace(email, "EMAIL")
        body = re.sub(r'value="[^"]{40,}"|nonce="[^"]+"', "", body)
        answers.append((response.status_code, body))
    assert answers[0] == answers[1]
    assert "Enter a correct email address and password" in answers[0][1]


def test_sign_in_only_follows_next_to_our_own_pages(client):
    make_user(email="p@example.org")
    for target, expected in (("/sessions/1", "/sessions/1"), ("https://evil.example/", "/home"),
                             ("//evil.example/x", "/home"), ("/\\evil.example", "/home")):
        token = csrf_token(client, "/sign-in")
        response = client.post(f"/sign-in?next={target}", data={
            "csrf_token": token, "email": "p@example.org", "password": PASSWORD})
        assert response.headers["Location"] == expected, target
        client.post("/sign-out", data={"csrf_token": csrf_token(client, "/my-applications")})


def test_disabled_accounts_cannot_sign_in_and_lose_their_session(client, login_as):
    user = make_user(email="gone@example.org")
    login_as(user)
    assert client.get("/my-applications").status_code == 200
    user.is_disabled = True
    assert client.get("/my-applications").status_code == 302
    token = csrf_token(client, "/sign-in")
    response = client.post("/sign-in", data={"csrf_token": token, "email": "gone@example.org", "password": PASSWORD})
    assert response.status_code == 200 and "Enter a correct email address" in response.get_data(as_text=True)


def test_sign_out_is_a_post_and_ends_the_session(client, login_as):
    login_as(make_user())
    assert client.get("/sign-out").status_code == 405
    client.post("/sign-out", data={"csrf_token": csrf_token(client, "/my-applications")})
    assert client.get("/my-applications").status_code == 302


def test_password_reset_by_emailed_single_use_link(client, login_as, frozen_now):
    user = make_user(email="forgetful@example.org")
    old_session = client.application.test_client()
    login_as(user)  # a session from before the reset, on this client
    token = csrf_token(old_session, "/password/forgot")
    page = old_session.post("/password/forgot", data={"csrf_token": token, "email": "Forgetful@example.org"})
    assert "Check your email" in page.get_data(as_text=True)
    link = _reset_link()
    stored = db.session.scalars(select(PasswordResetToken)).one()
    assert stored.token_hash == hash_token(link.rsplit("/", 1)[1])  # only the hash is stored
    assert link.rsplit("/", 1)[1] not in stored.token_hash

    form = old_session.get(link)
    assert "Choose a new password" in form.get_data(as_text=True)
    token = csrf_token(old_session, link)
    done = old_session.post(link, data={"csrf_token": token, "password": "a brand new phrase",
                                        "confirm": "a brand new phrase"}, follow_redirects=True)
    assert "Your password has been changed" in done.get_data(as_text=True)
    assert user.check_password("a brand new phrase")
    # The link is single-use, and sessions from before the reset are over.
    again = old_session.get(link)
    assert again.status_code == 400 and "already been used" in again.get_data(as_text=True)
    assert client.get("/home").status_code == 302


def test_reset_link_expires_after_an_hour(client, frozen_now):
    make_user(email="late@example.org")
    services.request_password_reset(email="late@example.org", now=_now())
    link = _reset_link()
    frozen_now.shift(timedelta(minutes=59))
    assert client.get(link).status_code == 200
    frozen_now.shift(timedelta(minutes=2))
    response = client.get(link)
    assert response.status_code == 400
    assert "expired" in response.get_data(as_text=True)


def _now():
    from app import clock

    return clock.now()


def test_reset_request_for_an_unknown_email_says_the_same_and_sends_nothing(client):
    token = csrf_token(client, "/password/forgot")
    page = client.post("/password/forgot", data={"csrf_token": token, "email": "nobody@example.org"})
    assert "Check your email" in page.get_data(as_text=True)
    assert db.session.scalars(select(OutboxMessage)).all() == []


def test_reset_tokens_cannot_be_used_twice_even_in_a_race():
    user = make_user(email="race@example.org")
    services.request_password_reset(email=user.email, now=_now())
    token = _reset_link().rsplit("/", 1)[1]
    services.reset_password(token=token, password="first new phrase", now=_now())
    with pytest.raises(InvalidToken):
        services.reset_password(token=token, password="second new phrase", now=_now())


def test_reset_link_uses_base_url_not_the_host_header(client):
    make_user(email="host@example.org")
    page = client.get("/password/forgot", headers={"Host": "attacker.example"}).get_data(as_text=True)
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page).group(1)
    client.post("/password/forgot", data={"csrf_token": token, "email": "host@example.org"},
                headers={"Host": "attacker.example"})
    message = db.session.scalars(select(OutboxMessage)).one()
    assert "attacker.example" not in message.body_text + message.body_html
    assert "http://convene.test/password/reset/" in open_links(message.body_text)


def test_create_admin_command(runner):
    result = runner.invoke(args=["create-admin", "--email", "Lead@Example.org", "--name", "Lead"],
                           input="a strong admin phrase\na strong admin phrase\n")
    assert result.exit_code == 0, result.output
    assert "lead@example.org is a programme team account" in result.output
    user = db.session.scalars(select(User)).one()
    assert user.is_team and user.check_password("a strong admin phrase")
    assert user.email_confirmed_at is not None  # whoever runs the command vouches for the address
    audit = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "admin_created")).one()
    assert (audit.actor_id, audit.target_type, audit.target_id) == (None, "user", user.id)
    assert audit.detail == {"email": "lead@example.org"}
    short = runner.invoke(args=["create-admin", "--email", "x@example.org", "--name", "X"], input="short\nshort\n")
    assert short.exit_code != 0 and "at least 8" in short.output
    assert db.session.scalars(select(AuditEvent).where(AuditEvent.action.startswith("admin_"))).all() == [audit]


def test_create_admin_promotes_an_existing_account_and_says_so_in_the_audit_log(runner, login_as, client):
    person = make_user(email="waiting@example.org", email_confirmed_at=None)
    login_as(person)
    result = runner.invoke(args=["create-admin", "--email", "Waiting@example.org", "--name", "Ignored"],
                           input="a strong admin phrase\na strong admin phrase\n")
    assert result.exit_code == 0, result.output
    db.session.expire_all()
    person = db.session.get(User, person.id)
    assert person.is_team and person.check_password("a strong admin phrase") and person.email_confirmed_at
    audit = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "admin_promoted")).one()
    assert audit.target_id == person.id and audit.detail == {"email": "waiting@example.org", "from": "none"}
    assert client.get("/settings").status_code == 302  # a new password and role: older sign-ins end


@pytest.mark.parametrize(("path", "data", "kept", "message"), [
    ("/sign-in", {"email": "not-an-email", "password": ""}, 'value="not-an-email"', "Enter your password"),
    ("/password/forgot", {"email": "nobody-at-example"}, 'value="nobody-at-example"',
     "Enter an email address in the correct format"),
])
def test_forms_keep_what_was_typed_and_say_what_to_fix(client, path, data, kept, message):
    token = csrf_token(client, path)
    response = client.post(path, data={"csrf_token": token, **data})
    page = response.get_data(as_text=True)
    assert response.status_code == 200
    assert page.count(message) >= 2  # in the error summary and beside the field
    assert kept in page
    assert "<title>Error:" in page


def test_reset_form_errors_name_the_field(client):
    user = make_user(email="mismatch@example.org")
    services.request_password_reset(email=user.email, now=_now())
    link = _reset_link()
    token = csrf_token(client, link)
    page = client.post(link, data={"csrf_token": token, "password": "a long new phrase",
                                   "confirm": "different phrase"}).get_data(as_text=True)
    assert "The passwords do not match" in page and 'href="#confirm"' in page


def test_resetting_with_the_newer_link_ends_every_older_reset_link(client, frozen_now):
    from app import clock

    make_user(email="twice@example.org")
    db.session.commit()
    for _ in range(2):
        services.request_password_reset(email="twice@example.org", now=clock.now())
    db.session.commit()
    messages = db.session.scalars(select(OutboxMessage).where(OutboxMessage.category == "account")
                                  .order_by(OutboxMessage.id)).all()
    older, newer = (re.search(r"/password/reset/(\S+)", open_links(m.body_text)).group(1) for m in messages)
    services.reset_password(token=newer, password="a brand new phrase", now=clock.now())
    db.session.commit()
    with pytest.raises(InvalidToken):
        services.check_reset_token(token=older, now=clock.now())
    assert client.get(f"/password/reset/{older}").status_code == 400
    assert db.session.scalar(select(AuditEvent).where(AuditEvent.action == "password_reset")) is not None


def test_a_signed_in_person_changes_their_password_with_the_current_one(app, client, login_as, mailbox, frozen_now):
    from app import clock
    from app.auth.models import UserSession
    from app.notifications.services import send_due
    from tests.conftest import sign_in_client

    person = make_user(email="changer@example.org")
    other_browser = sign_in_client(app.test_client(), person)
    login_as(person)
    token = csrf_token(client, "/settings")
    wrong = client.post("/settings/password", data={"csrf_token": token, "current_password": "not it",
                                                     "password": "a brand new phrase", "confirm": "a brand new phrase"})
    assert wrong.status_code == 400 and "current password is not right" in wrong.get_data(as_text=True)
    weak = client.post("/settings/password", data={"csrf_token": token, "current_password": PASSWORD,
                                                    "password": "changer-2026", "confirm": "changer-2026"})
    assert weak.status_code == 400 and "must not contain your email address" in weak.get_data(as_text=True)
    done = client.post("/settings/password", data={"csrf_token": token, "current_password": PASSWORD,
                                                    "password": "a brand new phrase", "confirm": "a brand new phrase"},
                       follow_redirects=True)
    assert "Your password has been changed and signed out of 1 other browser" in done.get_data(as_text=True)
    assert client.get("/settings").status_code == 200, "this browser stays signed in"
    assert other_browser.get("/settings").status_code == 302, "every other browser is signed out"
    assert db.session.get(User, person.id).check_password("a brand new phrase")
    assert db.session.scalar(select(AuditEvent).where(AuditEvent.action == "password_changed")) is not None
    send_due(clock.now())
    db.session.commit()
    assert [m["Subject"] for m in mailbox] == ["Your Convene password was changed"]
    live = db.session.scalars(select(UserSession).where(UserSession.revoked_at.is_(None))).all()
    assert len(live) == 1
