"""Sign-in limits that a cohort behind one address never meets and a password guesser always does: wrong
passwords are counted per account (or per typed address), successes never count, and reset emails to one
person are capped whoever asks."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from app import clock
from app.audit import AuditEvent
from app.auth import services
from app.db import db
from app.notifications.models import OutboxMessage
from tests.conftest import csrf_token
from tests.factories import PASSWORD, make_participant, make_user, open_cohort

LOCKED = re.compile(r"Too many wrong passwords for this account\. Try again in (\d+) minutes?, or reset your password\.")


def _sign_in(client, email: str, password: str, address: str = "10.0.0.1"):
    token = csrf_token(client, "/sign-in")
    return client.post("/sign-in", data={"csrf_token": token, "email": email, "password": password},
                       environ_base={"REMOTE_ADDR": address})


def _locked_for(response) -> int | None:
    match = LOCKED.search(response.get_data(as_text=True))
    return int(match.group(1)) if match else None


def _failures() -> int:
    return db.session.scalar(select(func.count()).select_from(AuditEvent).where(AuditEvent.action == "login_failed"))


@pytest.fixture
def limited_app(app):
    """The application with rate limiting on, as in production."""
    from app import create_app
    from app.extensions import limiter

    limited = create_app({**app.config, "RATELIMIT_ENABLED": True, "RATELIMIT_STORAGE_URI": "memory://"})
    yield limited
    limiter.reset()
    limiter.enabled = False
    with limited.app_context():
        db.session.remove()
        db.engine.dispose()


def test_a_whole_cohort_signs_in_from_one_address(limited_app, frozen_now):
    """One NHS trust's network: 28 participants, one address, one after the other; two of them mistype first."""
    cohort = open_cohort()
    emails = [make_participant(cohort, email=f"trust{n}@example.nhs.uk").email for n in range(28)]
    db.session.commit()
    db.session.close()  # the limited app has its own connections: hold no read lock between its requests
    for n, email in enumerate(emails):
        client = limited_app.test_client()
        if n in (3, 17):
            assert _sign_in(client, email, "not my password").status_code == 200
        response = _sign_in(client, email, PASSWORD)
        assert response.status_code == 302, f"participant {n + 1} of 28 could not sign in"
        assert client.get("/home").status_code == 200


def test_wrong_passwords_lock_the_account_with_a_growing_delay_whatever_the_address(app, frozen_now):
    """96 wrong passwords from 12 addresses: five are checked, the rest refused unchecked; the refusal
    grows 1, 2, 4, 8, then at most 15 minutes; the right password waits too, then works."""
    make_user(email="target@example.org")
    db.session.commit()
    client = app.test_client()
    answers = [_sign_in(client, "target@example.org", f"guess {n}", address=f"192.0.2.{n % 12 + 1}")
               for n in range(96)]
    assert [a.status_code for a in answers[:5]] == [200] * 5
    assert all("Enter a correct email address and password" in a.get_data(as_text=True) for a in answers[:5])
    assert {a.status_code for a in answers[5:]} == {429}
    assert {_locked_for(a) for a in answers[5:]} == {1}
    assert _failures() == 5, "refused attempts are not checked (nor written)"
    locked = _sign_in(client, "target@example.org", PASSWORD)
    assert locked.status_code == 429 and _locked_for(locked) == 1, "the right password waits too"

    for minutes in (1, 2, 4, 8, 15, 15):
        frozen_now.shift(timedelta(minutes=minutes, seconds=1))
        assert _sign_in(client, "target@example.org", "one more guess").status_code == 200
        refused = _sign_in(client, "target@example.org", "and another")
        expected = min(minutes * 2, 15)
        assert refused.status_code == 429 and _locked_for(refused) == expected, (minutes, _locked_for(refused))
    frozen_now.shift(timedelta(minutes=15, seconds=1))
    assert _sign_in(client, "target@example.org", PASSWORD).status_code == 302
    # A success starts afresh: the next wrong password is just wrong.
    assert _sign_in(app.test_client(), "target@example.org", "a typo").status_code == 200


def test_an_unknown_address_is_refused_alike_so_the_answer_says_nothing(app, frozen_now):
    make_user(email="known@example.org")
    db.session.commit()
    client = app.test_client()
    for email in ("known@example.org", "unknown@example.org"):
        for n in range(5):
            assert _sign_in(client, email, f"guess {n}").status_code == 200
    known, unknown = (_sign_in(client, email, "guess") for email in ("known@example.org", "unknown@example.org"))
    assert known.status_code == unknown.status_code == 429
    assert _locked_for(known) == _locked_for(unknown) == 1
    # Someone else's account is not affected by guesses at another.
    other = make_user(email="other@example.org")
    db.session.commit()
    assert _sign_in(client, other.email, PASSWORD).status_code == 302


def test_a_new_password_from_a_reset_link_lifts_the_refusal(app, frozen_now):
    make_user(email="forgetful@example.org")
    db.session.commit()
    client = app.test_client()
    for n in range(6):
        _sign_in(client, "forgetful@example.org", f"guess {n}")
    assert _locked_for(_sign_in(client, "forgetful@example.org", PASSWORD)) == 1
    services.request_password_reset(email="forgetful@example.org", now=clock.now())
    db.session.commit()
    from app.notifications.services import open_links

    body = open_links(db.session.scalars(select(OutboxMessage)).one().body_text)
    token = re.search(r"/password/reset/(\S+)", body).group(1)
    services.reset_password(token=token, password="a fresh long phrase", now=clock.now())
    db.session.commit()
    assert _sign_in(client, "forgetful@example.org", "a fresh long phrase").status_code == 302


def test_reset_emails_to_one_person_are_capped_whoever_asks(app, frozen_now):
    make_user(email="victim@example.org")
    db.session.commit()
    pages = []
    for n in range(8):
        client = app.test_client()
        token = csrf_token(client, "/password/forgot")
        pages.append(client.post("/password/forgot", data={"csrf_token": token, "email": "victim@example.org"},
                                 environ_base={"REMOTE_ADDR": f"198.51.100.{n + 1}"}))
    assert {p.status_code for p in pages} == {200}
    assert len({re.sub(r'(value|nonce)="[^"]+"', "", p.get_data(as_text=True)) for p in pages}) == 1, "the page answers the same"
    sent = db.session.scalars(select(OutboxMessage).where(OutboxMessage.recipient == "victim@example.org")).all()
    assert len(sent) == 3
    refused = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "password_reset_refused")).all()
    assert len(refused) == 5 and {r.detail["reason"] for r in refused} == {"too many requests this hour"}
    frozen_now.shift(timedelta(hours=1, seconds=1))
    services.request_password_reset(email="victim@example.org", now=clock.now())
    db.session.commit()
    assert db.session.scalar(select(func.count()).select_from(OutboxMessage).where(
        OutboxMessage.recipient == "victim@example.org")) == 4


def test_registration_per_address_is_generous(limited_app, frozen_now):
    """Thirty colleagues register from one trust's address in an hour."""
    for n in range(30):
        client = limited_app.test_client()
        token = csrf_token(client, "/register")
        response = client.post("/register", data={
            "csrf_token": token, "name": f"Colleague {n}", "email": f"colleague{n}@example.nhs.uk",
            "password": "a long enough phrase", "confirm": "a long enough phrase"})
        assert response.status_code == 200 and "Check your email" in response.get_data(as_text=True), n
