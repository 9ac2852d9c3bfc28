"""Accounts: registration, sign-in checks, password resets, staff roles."""

from __future__ import annotations

from datetime import datetime
from functools import cache

from flask import current_app, render_template
from sqlalchemy import select, update
from werkzeug.security import generate_password_hash

from app.audit import record
from app.auth.models import PasswordResetToken, StaffRole, User
from app.auth.sessions import end_all_sessions
from app.db import db
from app.errors import Conflict, DomainError, InvalidToken, PermissionDenied
from app.notifications.services import queue_email, seal_link
from app.tokens import hash_token, new_token
from app.urls import absolute_url

MIN_PASSWORD_LENGTH = 8
MAX_PASSWORD_LENGTH = 128


def normalise_email(email: str) -> str:
    return email.strip().casefold()


@cache
def _common_passwords() -> frozenset[str]:
    """The 30,000 most common passwords (from zxcvbn's lists), those long enough to be allowed otherwise."""
    from zxcvbn.frequency_lists import FREQUENCY_LISTS

    return frozenset(p for p in FREQUENCY_LISTS["passwords"] if len(p) >= MIN_PASSWORD_LENGTH)


def check_password_rules(password: str) -> None:
    """Length and a check against common passwords; no composition rules (NIST SP 800-63B)."""
    if len(password) < MIN_PASSWORD_LENGTH:
        raise DomainError(f"Password must be at least {MIN_PASSWORD_LENGTH} characters.", field="password")
    if len(password) > MAX_PASSWORD_LENGTH:
        raise DomainError(f"Password must be {MAX_PASSWORD_LENGTH} characters or fewer.", field="password")
    if password.lower() in _common_passwords():
        raise DomainError("That password is one of the most common, so it is easy to guess. Choose another, "
                          "for example three random words.", field="password")


def find_user_by_email(email: str) -> User | None:
    return db.session.scalar(select(User).where(User.email == normalise_email(email)))


def register_user(*, email: str, name: str, password: str, job_title: str = "", profession: str = "",
                  organisation=None, staff_role: StaffRole = StaffRole.NONE) -> User:
    email = normalise_email(email)
    name = name.strip()
    if not name:
        raise DomainError("Enter your full name.", field="name")
    if find_user_by_email(email) is not None:
        raise Conflict("An account with this email address already exists. Sign in or reset your password.",
                       field="email")
    check_password_rules(password)
    user = User(email=email, name=name, job_title=job_title.strip(), profession=profession.strip(),
                organisation=organisation, staff_role=staff_role.value)
    user.set_password(password)
    db.session.add(user)
    db.session.flush()
    return user


def authenticate(*, email: str, password: str, now: datetime) -> User | None:
    """The user for these credentials, or None. Same answer for unknown email and wrong password."""
    user = find_user_by_email(email)
    if user is None:
        # Spend the same time as a real check so response times do not reveal who has an account.
        User(password_hash=_DUMMY_HASH).check_password(password)
        record(actor=None, action="login_failed", target_type="user", target_id=None, now=now,
               detail={"email": normalise_email(email)[:254], "reason": "unknown email"})
        return None
    if not user.check_password(password) or user.is_disabled:
        record(actor=None, action="login_failed", target_type="user", target_id=user.id, now=now,
               detail={"reason": "disabled" if user.is_disabled else "wrong password"})
        return None
    user.last_login_at = now
    record(actor=user, action="login_succeeded", target_type="user", target_id=user.id, now=now)
    db.session.flush()
    return user


_DUMMY_HASH = generate_password_hash("not-a-real-password")


def request_password_reset(*, email: str, now: datetime) -> None:
    """Email a single-use reset link if an account exists. Says nothing either way."""
    user = find_user_by_email(email)
    if user is None or user.is_disabled:
        return
    token, token_hash = new_token()
    ttl = current_app.config["PASSWORD_RESET_TTL"]
    reset = PasswordResetToken(user_id=user.id, token_hash=token_hash, created_at=now, expires_at=now + ttl)
    db.session.add(reset)
    db.session.flush()
    link = seal_link(absolute_url("auth.reset_password", token=token))
    context = {"user": user, "link": link, "minutes": int(ttl.total_seconds() // 60)}
    queue_email(
        key=f"password-reset:{reset.id}", recipient=user.email,
        subject="Reset your Convene password",
        body_text=render_template("auth/email/reset.txt", **context),
        body_html=render_template("auth/email/reset.html", **context),
        due_at=now, category="account",
    )


def _reset_token(token: str, now: datetime) -> PasswordResetToken:
    reset = db.session.scalar(select(PasswordResetToken).where(PasswordResetToken.token_hash == hash_token(token)))
    if reset is None:
        raise InvalidToken("This reset link is not valid. Ask for a new one.")
    if reset.used_at is not None:
        raise InvalidToken("This reset link has already been used. Ask for a new one if you need to.")
    if reset.expires_at <= now:
        raise InvalidToken("This reset link has expired. Ask for a new one.")
    return reset


def check_reset_token(*, token: str, now: datetime) -> User:
    return _reset_token(token, now).user


def reset_password(*, token: str, password: str, now: datetime) -> User:
    """Set a new password from a reset link. The link dies, and so do existing sign-ins."""
    reset = _reset_token(token, now)
    check_password_rules(password)
    # Claim the token with a conditional update so two submissions cannot both use it.
    claimed = db.session.execute(
        update(PasswordResetToken).where(PasswordResetToken.id == reset.id, PasswordResetToken.used_at.is_(None))
        .values(used_at=now).execution_options(synchronize_session=False)
    ).rowcount
    if claimed != 1:
        raise InvalidToken("This reset link has already been used. Ask for a new one if you need to.")
    user = reset.user
    user.set_password(password)
    end_all_sessions(user, now=now)
    return user


def create_admin(*, email: str, name: str, password: str) -> User:
    """A programme team account (the `flask create-admin` command)."""
    user = find_user_by_email(email)
    if user is None:
        return register_user(email=email, name=name, password=password, staff_role=StaffRole.TEAM)
    check_password_rules(password)
    user.staff_role = StaffRole.TEAM.value
    user.set_password(password)
    db.session.flush()
    return user


def create_calendar_token(*, user: User) -> str:
    """A new private calendar link for the user; any earlier link stops working. Shown once."""
    token, token_hash = new_token()
    user.calendar_token_hash = token_hash
    db.session.flush()
    return token


def revoke_calendar_token(*, user: User) -> None:
    user.calendar_token_hash = None
    db.session.flush()


def user_for_calendar_token(token: str) -> User | None:
    user = db.session.scalar(select(User).where(User.calendar_token_hash == hash_token(token)))
    return user if user is not None and not user.is_disabled else None


# -- the team's account actions ---------------------------------------------------------------

def _require_team(actor: User, person: User) -> None:
    if not actor.is_team:
        raise PermissionDenied("Only the programme team manages accounts.")
    if person.id == actor.id:
        raise Conflict("You cannot change your own account here: ask another member of the team.")


def set_role(*, actor: User, person: User, role: str, now: datetime) -> None:
    _require_team(actor, person)
    try:
        new = StaffRole(role)
    except ValueError:
        raise DomainError("Choose a role.", field="role") from None
    if new.value == person.staff_role:
        return
    before = person.staff_role
    person.staff_role = new.value
    end_all_sessions(person, now=now)  # the new role applies from their next sign-in
    record(actor=actor, action="role_changed", target_type="user", target_id=person.id, now=now,
           detail={"from": before, "to": new.value})


def set_disabled(*, actor: User, person: User, disabled: bool, now: datetime) -> None:
    _require_team(actor, person)
    if person.is_disabled == disabled:
        return
    person.is_disabled = disabled
    if disabled:
        end_all_sessions(person, now=now)
    record(actor=actor, action="account_disabled" if disabled else "account_enabled", target_type="user",
           target_id=person.id, now=now)


def sign_out_everywhere(*, actor: User, person: User, now: datetime) -> int:
    if not actor.is_team and actor.id != person.id:
        raise PermissionDenied("Only the programme team can sign someone else out.")
    ended = end_all_sessions(person, now=now)
    record(actor=actor, action="sessions_ended", target_type="user", target_id=person.id, now=now,
           detail={"sessions": ended})
    return ended
