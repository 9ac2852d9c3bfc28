"""Two-step sign-in, as a person meets it: the codes an authenticator app shows and which of them are
taken, the code page after the password (where it leads, what a wrong code does, how long it waits),
setting it up, turning it off with a code, and the team turning it off for someone who lost their phone.

tests/test_security.py already covers turning it on (a wrong code, the password asked for) and a code
used once being refused on the next sign-in; these tests do not repeat that."""

from __future__ import annotations

from datetime import timedelta

import pyotp
import pytest
from sqlalchemy import select

from app import clock
from app.audit import AuditEvent
from app.auth import two_step
from app.auth.models import StaffRole, User
from app.db import db
from app.errors import DomainError
from tests.conftest import csrf_token, sign_in_client
from tests.factories import PASSWORD, make_facilitator, make_team, make_user

SECRET = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"  # fixed, so the codes at the frozen instant are too


def _with_two_step(email: str = "careful@example.org", **fields) -> User:
    user = make_user(email=email, totp_secret=SECRET, totp_enabled_at=clock.now(), **fields)
    db.session.commit()
    return user


def _code(seconds_from_now: int = 0) -> str:
    return pyotp.TOTP(SECRET).at(clock.now() + timedelta(seconds=seconds_from_now))


def _reload(user: User) -> User:
    db.session.expire_all()
    return db.session.get(User, user.id)


def _audit(action: str) -> list[AuditEvent]:
    return list(db.session.scalars(select(AuditEvent).where(AuditEvent.action == action)))


def _password_step(client, email: str, path: str = "/sign-in"):
    token = csrf_token(client, "/sign-in")
    return client.post(path, data={"csrf_token": token, "email": email, "password": PASSWORD})


def _signed_in(client) -> bool:
    return client.get("/settings").status_code == 200


# -- which codes are taken ------------------------------------------------------------------------

@pytest.mark.parametrize(("seconds", "accepted"), [(-60, False), (-30, True), (0, True), (30, True), (60, False)])
def test_a_code_from_the_step_either_side_is_taken_for_clock_drift_but_no_further(frozen_now, seconds, accepted):
    user = _with_two_step()
    assert two_step.check_code(user=user, code=_code(seconds), now=clock.now()) is accepted
    assert bool(_audit("two_step_failed")) is not accepted


def test_spaces_in_a_code_are_ignored_and_anything_but_six_digits_is_refused(frozen_now):
    user = _with_two_step()
    code = _code()
    for wrong in ("", code[:5], code + "1", "abcdef", f"{code[:3]}-{code[3:]}"):
        assert two_step.check_code(user=user, code=wrong, now=clock.now()) is False
    assert len(_audit("two_step_failed")) == 5
    assert two_step.check_code(user=user, code=f" {code[:3]} {code[3:]} ", now=clock.now()) is True


def test_once_a_code_is_used_neither_it_nor_an_earlier_one_is_taken_again(frozen_now):
    user = _with_two_step()
    assert two_step.check_code(user=user, code=_code(), now=clock.now())
    assert not two_step.check_code(user=user, code=_code(), now=clock.now())
    assert not two_step.check_code(user=user, code=_code(-30), now=clock.now())  # still in the drift window
    frozen_now.shift(timedelta(seconds=30))
    assert two_step.check_code(user=user, code=_code(), now=clock.now())


def test_no_code_signs_in_someone_who_has_not_turned_it_on(frozen_now):
    user = make_user(totp_secret=SECRET)  # a secret from a setup never finished
    assert two_step.check_code(user=user, code=_code(), now=clock.now()) is False


# -- the code page after the password -------------------------------------------------------------

def test_after_the_password_the_code_signs_you_in_where_you_were_going(app, frozen_now):
    _with_two_step()
    client = app.test_client()
    response = _password_step(client, "careful@example.org", "/sign-in?next=/settings/two-step")
    assert response.headers["Location"].endswith("/sign-in/code")
    assert not _signed_in(client)
    token = csrf_token(client, "/sign-in/code")
    signed = client.post("/sign-in/code", data={"csrf_token": token, "code": _code()})
    assert signed.status_code == 302 and signed.headers["Location"].endswith("/settings/two-step")
    assert _signed_in(client)


def test_a_wrong_code_says_so_is_recorded_and_signs_nobody_in(app, frozen_now):
    user = _with_two_step()
    client = app.test_client()
    _password_step(client, "careful@example.org")
    token = csrf_token(client, "/sign-in/code")
    wrong = client.post("/sign-in/code", data={"csrf_token": token, "code": "000000" if _code() != "000000" else "111111"})
    page = wrong.get_data(as_text=True)
    assert wrong.status_code == 400 and "That code did not match" in page and 'aria-describedby="code-error"' in page
    assert not _signed_in(client)
    assert [(e.action, e.target_id) for e in _audit("two_step_failed")] == [("two_step_failed", user.id)]
    # The person can try again with the right code in the same five minutes.
    assert client.post("/sign-in/code", data={"csrf_token": token, "code": _code()}).status_code == 302
    assert _signed_in(client)


def test_the_code_must_come_within_five_minutes_of_the_password(app, frozen_now):
    _with_two_step()
    client = app.test_client()
    _password_step(client, "careful@example.org")
    token = csrf_token(client, "/sign-in/code")
    frozen_now.shift(timedelta(minutes=5, seconds=1))
    late = client.post("/sign-in/code", data={"csrf_token": token, "code": _code()})
    assert late.status_code == 302 and late.headers["Location"].endswith("/sign-in")
    assert "the time to enter your code ran out" in client.get("/sign-in").get_data(as_text=True)
    # The pending sign-in is gone: even a correct code now leads back to the password.
    again = client.post("/sign-in/code", data={"csrf_token": token, "code": _code(30)})
    assert again.headers["Location"].endswith("/sign-in") and not _signed_in(client)


def test_an_account_disabled_while_its_code_is_awaited_is_not_signed_in(app, frozen_now):
    user = _with_two_step()
    client = app.test_client()
    _password_step(client, "careful@example.org")
    token = csrf_token(client, "/sign-in/code")
    _reload(user).is_disabled = True
    db.session.commit()
    refused = client.post("/sign-in/code", data={"csrf_token": token, "code": _code()})
    assert refused.headers["Location"].endswith("/sign-in") and not _signed_in(client)


# -- setting it up ---------------------------------------------------------------------------------

def test_the_setup_page_keeps_its_secret_across_reloads_and_shows_it_as_a_qr_code(app, frozen_now):
    person = make_user(email="setup@example.org")
    client = sign_in_client(app.test_client(), person)
    first = client.get("/settings/two-step").get_data(as_text=True)
    with client.session_transaction() as session:
        secret = session["two_step_secret"]
    assert "<svg" in first and secret in first  # scanned, or typed in by hand
    assert secret in client.get("/settings/two-step").get_data(as_text=True)
    with client.session_transaction() as session:
        assert session["two_step_secret"] == secret
    uri = two_step.provisioning_uri(person, secret)
    assert uri.startswith("otpauth://totp/Convene:setup%40example.org?secret=") and "issuer=Convene" in uri


def test_a_setup_whose_secret_was_lost_asks_to_scan_again(app, frozen_now):
    person = make_user()
    client = sign_in_client(app.test_client(), person)
    token = csrf_token(client, "/settings/two-step")
    with client.session_transaction() as session:
        secret = session.pop("two_step_secret")
    response = client.post("/settings/two-step", data={"csrf_token": token, "password": PASSWORD,
                                                       "code": pyotp.TOTP(secret).at(clock.now())})
    assert response.status_code == 400 and "Your setup expired" in response.get_data(as_text=True)
    assert _reload(person).totp_enabled_at is None


def test_turning_it_on_is_recorded_and_the_page_then_offers_only_turning_it_off(app, frozen_now):
    person = make_user()
    client = sign_in_client(app.test_client(), person)
    token = csrf_token(client, "/settings/two-step")
    with client.session_transaction() as session:
        secret = session["two_step_secret"]
    done = client.post("/settings/two-step", data={"csrf_token": token, "password": PASSWORD,
                                                   "code": pyotp.TOTP(secret).at(clock.now())})
    assert done.headers["Location"].endswith("/settings")
    assert "Two-step sign-in is on" in client.get("/settings").get_data(as_text=True)
    with client.session_transaction() as session:
        assert "two_step_secret" not in session  # the secret now lives only on the account
    assert _reload(person).totp_secret == secret
    assert [e.actor_id for e in _audit("two_step_enabled")] == [person.id]
    page = client.get("/settings/two-step").get_data(as_text=True)
    assert "<svg" not in page and secret not in page


# -- turning it off --------------------------------------------------------------------------------

def test_you_turn_it_off_with_a_current_code_and_then_sign_in_with_the_password_alone(app, frozen_now):
    person = _with_two_step()
    client = sign_in_client(app.test_client(), person)
    token = csrf_token(client, "/settings/two-step")
    for wrong in ("", "123", "000000" if _code() != "000000" else "111111"):
        refused = client.post("/settings/two-step", data={"csrf_token": token, "action": "off", "code": wrong})
        assert refused.status_code == 400 and "That code did not match" in refused.get_data(as_text=True)
    assert _reload(person).totp_enabled_at is not None
    done = client.post("/settings/two-step", data={"csrf_token": token, "action": "off", "code": _code()})
    assert done.status_code == 302
    assert "Two-step sign-in is off." in client.get("/settings").get_data(as_text=True)
    person = _reload(person)
    assert (person.totp_secret, person.totp_enabled_at, person.totp_last_step) == (None, None, None)
    assert [e.actor_id for e in _audit("two_step_disabled")] == [person.id]

    fresh = app.test_client()
    assert _password_step(fresh, "careful@example.org").status_code == 302
    assert _signed_in(fresh)


def test_the_team_turns_it_off_for_someone_who_lost_their_phone(app, login_as, client, frozen_now):
    person = _with_two_step()
    team = make_team()
    db.session.commit()
    login_as(team)
    token = csrf_token(client, f"/team/people/{person.id}")
    assert client.post(f"/team/people/{person.id}/two-step-off", data={"csrf_token": token}).status_code == 302
    assert "Two-step sign-in is off for" in client.get(f"/team/people/{person.id}").get_data(as_text=True)
    assert _reload(person).totp_enabled_at is None
    assert [(e.actor_id, e.target_id) for e in _audit("two_step_disabled")] == [(team.id, person.id)]
    fresh = app.test_client()
    _password_step(fresh, "careful@example.org")
    assert _signed_in(fresh)


def test_the_team_cannot_use_the_recovery_on_its_own_account(app, login_as, client, frozen_now):
    team = _with_two_step(email="lead@example.org", role=StaffRole.TEAM)
    login_as(team)
    token = csrf_token(client, f"/team/people/{team.id}")
    client.post(f"/team/people/{team.id}/two-step-off", data={"csrf_token": token})
    assert "Turn off your own two-step sign-in from your settings" in client.get(
        f"/team/people/{team.id}").get_data(as_text=True)
    assert _reload(team).totp_enabled_at is not None


def test_only_the_team_turns_it_off_for_someone_else(frozen_now):
    person = _with_two_step()
    with pytest.raises(DomainError, match="Only the programme team"):
        two_step.turn_off(actor=make_facilitator(), user=person, code=None, now=clock.now())
    assert person.totp_enabled_at is not None and not _audit("two_step_disabled")
