"""Registering proves the email address: the same answer for every address, a single-use expiring
link, no sign-in until it is followed; and the line manager's pages give the team's contact address."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from sqlalchemy import select

from app import clock
from app.audit import AuditEvent
from app.auth import services
from app.auth.models import EmailConfirmation, User
from app.db import db
from app.errors import DomainError, InvalidToken
from app.notifications.models import OutboxMessage
from app.notifications.services import open_links
from tests.conftest import csrf_token, sign_in_client
from tests.factories import PASSWORD, make_application, make_team, make_user, open_cohort

NEW_PASSWORD = "a long enough phrase"


def _register(client, email: str, *, name: str = "Rosa Delgado", password: str = NEW_PASSWORD, **extra):
    token = csrf_token(client, "/register")
    return client.post("/register", data={"csrf_token": token, "name": name, "email": email, "job_title": "Nurse",
                                          "password": password, "confirm": password, **extra})


def _sign_in(client, email: str, password: str):
    token = csrf_token(client, "/sign-in")
    return client.post("/sign-in", data={"csrf_token": token, "email": email, "password": password})


def _emails(key_prefix: str) -> list[OutboxMessage]:
    return list(db.session.scalars(select(OutboxMessage).where(OutboxMessage.key.startswith(key_prefix))
                                   .order_by(OutboxMessage.id)))


def _confirmation_link() -> str:
    """The path of the newest confirmation link emailed."""
    message = _emails("email-confirmation:")[-1]
    return re.search(r"http://convene\.test(/register/confirm/\S+)", open_links(message.body_text)).group(1)


def _comparable(page: str, email: str) -> str:
    page = page.replace(email, "EMAIL")
    return re.sub(r'value="[^"]{40,}"|nonce="[^"]+"', "", page)


def _signed_in(client) -> bool:
    return client.get("/settings").status_code == 200


# -- registering ---------------------------------------------------------------------------------

def test_registering_emails_a_link_and_signs_you_in_only_once_it_is_followed(client, frozen_now):
    response = _register(client, "Rosa.Delgado@Example.ORG")
    page = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "<h1>Check your email</h1>" in page and "Rosa.Delgado@Example.ORG" in page
    assert "junk or spam folder" in page and 'href="/register/resend"' in page
    assert not _signed_in(client)
    user = db.session.scalars(select(User)).one()
    assert (user.email, user.name, user.job_title) == ("rosa.delgado@example.org", "Rosa Delgado", "Nurse")
    assert user.password_hash.startswith("scrypt:") and user.email_confirmed_at is None

    [message] = _emails("email-confirmation:")
    assert message.recipient == "rosa.delgado@example.org" and message.category == "account"
    assert "/register/confirm/" not in message.body_text + message.body_html  # sealed in the outbox
    link = _confirmation_link()
    stored = db.session.scalars(select(EmailConfirmation)).one()
    assert stored.token_hash != link.rsplit("/", 1)[1]
    assert stored.expires_at - stored.created_at == timedelta(hours=48)

    # Opening the link changes nothing; the page's one button does, and needs the form's token.
    opened = client.get(link)
    body = opened.get_data(as_text=True)
    assert opened.status_code == 200 and "<h1>Confirm your email address</h1>" in body
    assert body.count('type="submit"') == 1
    # The link is not passed on to other sites, nor kept in a cache.
    assert opened.headers["Referrer-Policy"] in ("same-origin", "no-referrer")
    assert "no-store" in opened.headers["Cache-Control"]
    db.session.expire_all()
    assert db.session.get(User, user.id).email_confirmed_at is None
    assert client.post(link, data={}).status_code == 400
    assert db.session.get(User, user.id).email_confirmed_at is None

    done = client.post(link, data={"csrf_token": csrf_token(client, link)})
    assert done.status_code == 302 and done.headers["Location"] == "/home"
    assert "Your email address is confirmed" in client.get(done.headers["Location"], follow_redirects=True
                                                            ).get_data(as_text=True)
    assert _signed_in(client)
    user = db.session.get(User, user.id)
    assert user.email_confirmed_at == clock.now() and user.last_login_at == clock.now()
    assert db.session.scalars(select(EmailConfirmation)).one().used_at == clock.now()
    assert db.session.scalar(select(AuditEvent).where(AuditEvent.action == "email_confirmed")).target_id == user.id
    # Single use.
    again = client.application.test_client().get(link)
    assert again.status_code == 400 and "already been used" in again.get_data(as_text=True)
    # And signing in with the password now works.
    client.post("/sign-out", data={"csrf_token": csrf_token(client, "/settings")})
    assert _sign_in(client, "rosa.delgado@example.org", NEW_PASSWORD).status_code == 302


def test_register_answers_the_same_page_for_a_new_an_unconfirmed_and_a_confirmed_address(app, frozen_now):
    make_user(email="confirmed@example.org", name="Owner")
    make_user(email="unconfirmed@example.org", name="Squatter", email_confirmed_at=None)
    answers = []
    for email in ("new@example.org", "unconfirmed@example.org", "confirmed@example.org"):
        response = _register(app.test_client(), email)
        answers.append((response.status_code, _comparable(response.get_data(as_text=True), email)))
    assert answers[0] == answers[1] == answers[2]
    assert answers[0][0] == 200 and "Check your email" in answers[0][1]


def test_registering_a_confirmed_address_changes_nothing_and_tells_its_owner(client, frozen_now):
    owner = make_user(email="owner@example.org", name="Owner", job_title="Matron")
    before = owner.password_hash
    _register(client, "Owner@example.org", name="Impostor")
    owner = db.session.get(User, owner.id)
    assert (owner.name, owner.job_title, owner.password_hash) == ("Owner", "Matron", before)
    assert db.session.scalars(select(EmailConfirmation)).all() == []
    [message] = _emails("registration-attempt:")
    assert message.recipient == "owner@example.org"
    assert "tried to create" in message.body_text
    assert "http://convene.test/sign-in" in message.body_text and "http://convene.test/password/forgot" in message.body_text
    assert 'href="http://convene.test/sign-in"' in message.body_html
    assert "[[sealed:" not in message.body_text  # nothing secret in it
    # Asking again within 10 minutes does not send another; later it does.
    _register(client, "owner@example.org", name="Impostor")
    assert len(_emails("registration-attempt:")) == 1
    frozen_now.shift(timedelta(minutes=11))
    _register(client, "owner@example.org", name="Impostor")
    assert len(_emails("registration-attempt:")) == 2


def test_registering_an_unconfirmed_address_replaces_what_was_typed_before_and_kills_its_links(app, frozen_now):
    squatter = app.test_client()
    _register(squatter, "colleague@example.org", name="Squatter", password="the squatters phrase")
    squatters_link = _confirmation_link()
    owner = app.test_client()
    _register(owner, "colleague@example.org", name="Real Colleague", password="the owners own phrase")
    user = db.session.scalars(select(User)).one()
    assert user.name == "Real Colleague" and user.check_password("the owners own phrase")
    assert not user.check_password("the squatters phrase")
    assert user.email_confirmed_at is None
    assert squatter.get(squatters_link).status_code == 400
    link = _confirmation_link()
    assert link != squatters_link
    owner.post(link, data={"csrf_token": csrf_token(owner, link)})
    assert _signed_in(owner)
    assert db.session.scalars(select(EmailConfirmation)).one().used_at is not None


def test_password_rules_apply_and_say_the_same_for_any_address(app):
    make_user(email="confirmed@example.org")
    answers = []
    for email in ("new@example.org", "confirmed@example.org"):
        response = _register(app.test_client(), email, password="qwertyuiop")
        page = response.get_data(as_text=True)
        assert "most common" in page and f'value="{email}"' in page and 'value="Rosa Delgado"' in page
        answers.append(_comparable(page, email))
    assert answers[0] == answers[1]
    assert db.session.scalars(select(OutboxMessage)).all() == []


def test_registration_service_rules():
    with pytest.raises(DomainError, match="full name"):
        services.start_registration(email="a@example.org", name=" ", password=NEW_PASSWORD, now=clock.now())
    with pytest.raises(DomainError, match="at least 8"):
        services.start_registration(email="a@example.org", name="A", password="short", now=clock.now())
    disabled = make_user(email="disabled@example.org", email_confirmed_at=None, is_disabled=True)
    services.start_registration(email="disabled@example.org", name="Someone", password=NEW_PASSWORD,
                                now=clock.now())
    assert disabled.name != "Someone"
    assert db.session.scalars(select(OutboxMessage)).all() == []


def test_confirmation_link_expires(client, frozen_now):
    services.start_registration(email="late@example.org", name="Late", password=NEW_PASSWORD, now=clock.now())
    link = _confirmation_link()
    frozen_now.shift(timedelta(hours=47, minutes=59))
    assert client.get(link).status_code == 200
    frozen_now.shift(timedelta(minutes=2))
    response = client.get(link)
    page = response.get_data(as_text=True)
    assert response.status_code == 400 and "expired" in page and 'href="/register/resend"' in page


def test_a_confirmation_link_confirms_once_even_in_a_race(frozen_now):
    services.start_registration(email="race@example.org", name="Race", password=NEW_PASSWORD, now=clock.now())
    token = _confirmation_link().rsplit("/", 1)[1]
    services.confirm_email(token=token, now=clock.now())
    with pytest.raises(InvalidToken):
        services.confirm_email(token=token, now=clock.now())


def test_confirming_an_account_with_two_step_sign_in_asks_for_the_code_first(client, frozen_now):
    make_user(email="careful@example.org", email_confirmed_at=None, totp_secret="JBSWY3DPEHPK3PXP",
              totp_enabled_at=clock.now())
    services.resend_confirmation(email="careful@example.org", now=clock.now())
    link = _confirmation_link()
    response = client.post(link, data={"csrf_token": csrf_token(client, link)})
    assert response.headers["Location"] == "/sign-in/code"
    assert not _signed_in(client)


def test_unknown_confirmation_links_are_refused(client):
    response = client.get("/register/confirm/not-a-real-token-at-all")
    assert response.status_code == 400 and "not valid" in response.get_data(as_text=True)
    assert client.post("/register/confirm/not-a-real-token-at-all",
                       data={"csrf_token": csrf_token(client, "/register/resend")}).status_code == 400


# -- signing in before confirming ------------------------------------------------------------------

def test_an_unconfirmed_account_cannot_sign_in_and_is_sent_a_new_link_at_most_every_10_minutes(app, frozen_now):
    user = make_user(email="waiting@example.org", email_confirmed_at=None)
    client = app.test_client()
    message = "Confirm your email address first. We have sent you a new link."
    response = _sign_in(client, "waiting@example.org", PASSWORD)
    page = response.get_data(as_text=True)
    assert response.status_code == 200 and "<title>Error:" in page
    assert page.count(message) >= 2 and 'href="#email"' in page  # the error summary and the field
    assert not _signed_in(client)
    assert len(_emails("email-confirmation:")) == 1
    audit = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "login_failed")).one()
    assert audit.detail == {"reason": "email not confirmed"}
    assert db.session.get(User, user.id).last_login_at is None

    _sign_in(client, "waiting@example.org", PASSWORD)
    assert len(_emails("email-confirmation:")) == 1  # not another one yet
    frozen_now.shift(timedelta(minutes=10))
    _sign_in(client, "waiting@example.org", PASSWORD)
    assert len(_emails("email-confirmation:")) == 2
    # Any link sent works.
    link = _confirmation_link()
    client.post(link, data={"csrf_token": csrf_token(client, link)})
    assert _signed_in(client)


def test_a_wrong_password_for_an_unconfirmed_account_says_what_any_wrong_password_says(app):
    make_user(email="waiting@example.org", email_confirmed_at=None)
    make_user(email="ready@example.org")
    answers = []
    for email in ("waiting@example.org", "ready@example.org", "nobody@example.org"):
        response = _sign_in(app.test_client(), email, "wrong password")
        answers.append((response.status_code, _comparable(response.get_data(as_text=True), email)))
    assert answers[0] == answers[1] == answers[2]
    assert "Enter a correct email address and password" in answers[0][1]
    assert db.session.scalars(select(OutboxMessage)).all() == []


# -- asking for a new link ---------------------------------------------------------------------------

def test_the_new_link_page_answers_the_same_for_any_address(app, frozen_now):
    make_user(email="waiting@example.org", email_confirmed_at=None)
    make_user(email="ready@example.org")
    answers = []
    for email in ("waiting@example.org", "ready@example.org", "nobody@example.org"):
        client = app.test_client()
        token = csrf_token(client, "/register/resend")
        response = client.post("/register/resend", data={"csrf_token": token, "email": email})
        answers.append((response.status_code, _comparable(response.get_data(as_text=True), email)))
    assert answers[0] == answers[1] == answers[2]
    assert answers[0][0] == 200 and "<h1>Check your email</h1>" in answers[0][1]
    [message] = _emails("email-confirmation:")
    assert message.recipient == "waiting@example.org"
    assert db.session.scalars(select(OutboxMessage)).all() == [message]
    # A second request within 10 minutes sends nothing more.
    client = app.test_client()
    client.post("/register/resend", data={"csrf_token": csrf_token(client, "/register/resend"),
                                          "email": "waiting@example.org"})
    assert len(_emails("email-confirmation:")) == 1


def test_the_new_link_page_says_what_to_fix(client):
    token = csrf_token(client, "/register/resend")
    page = client.post("/register/resend", data={"csrf_token": token, "email": "not-an-email"}).get_data(as_text=True)
    assert "<title>Error:" in page and page.count("Enter an email address in the correct format") >= 2
    assert 'value="not-an-email"' in page and "<h1>Get a new confirmation link</h1>" in page


# -- other ways of proving the address ---------------------------------------------------------------

def test_completing_a_password_reset_confirms_the_address(client, frozen_now):
    user = make_user(email="waiting@example.org", email_confirmed_at=None)
    services.request_password_reset(email="waiting@example.org", now=clock.now())
    message = db.session.scalars(select(OutboxMessage).where(OutboxMessage.key.startswith("password-reset:"))).one()
    link = re.search(r"http://convene\.test(/password/reset/\S+)", open_links(message.body_text)).group(1)
    client.post(link, data={"csrf_token": csrf_token(client, link), "password": "a brand new phrase",
                            "confirm": "a brand new phrase"})
    assert db.session.get(User, user.id).email_confirmed_at == clock.now()
    assert _sign_in(client, "waiting@example.org", "a brand new phrase").status_code == 302


def test_a_reset_request_says_the_same_for_unconfirmed_confirmed_and_unknown_addresses(app):
    make_user(email="waiting@example.org", email_confirmed_at=None)
    make_user(email="ready@example.org")
    answers = []
    for email in ("waiting@example.org", "ready@example.org", "nobody@example.org"):
        client = app.test_client()
        token = csrf_token(client, "/password/forgot")
        response = client.post("/password/forgot", data={"csrf_token": token, "email": email})
        answers.append((response.status_code, _comparable(response.get_data(as_text=True), email)))
    assert answers[0] == answers[1] == answers[2]


# -- the line manager's pages give the team's contact address ----------------------------------------

CONTACT = "programme-team@convene.example"
MAILTO = f'<a href="mailto:{CONTACT}">{CONTACT}</a>'


def test_the_line_manager_emails_give_the_teams_contact_address(app, frozen_now):
    make_application(open_cohort(), submit=True)
    [request] = _emails("sponsor-request:")
    chasers = _emails("sponsor-chaser:")
    assert chasers
    for message in (request, *chasers):
        assert MAILTO in message.body_html, message.key
        assert CONTACT in message.body_text, message.key


def test_the_line_manager_pages_give_the_teams_contact_address(app, frozen_now):
    make_application(open_cohort(), submit=True)
    [request] = _emails("sponsor-request:")
    path = re.search(r"http://convene\.test(/sponsor/\S+)", open_links(request.body_text)).group(1)
    db.session.commit()
    pending = app.test_client().get(path)
    assert pending.status_code == 200 and MAILTO in pending.get_data(as_text=True)
    invalid = app.test_client().get("/sponsor/not-a-real-token-at-all")
    assert invalid.status_code == 404 and MAILTO in invalid.get_data(as_text=True)
    staff = sign_in_client(app.test_client(), make_team()).get(path)
    assert staff.status_code == 403 and MAILTO in staff.get_data(as_text=True)
    # And once they have answered.
    client = app.test_client()
    client.post(path, data={"csrf_token": csrf_token(client, path), "decision": "approve", "confirms_release": "y"})
    decided = client.get(path).get_data(as_text=True)
    assert "Support confirmed" in decided and MAILTO in decided
