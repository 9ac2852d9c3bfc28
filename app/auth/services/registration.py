"""Accounts: the password rules, registering and confirming the address, and the team's own accounts
(create-admin)."""

from __future__ import annotations

from datetime import datetime, timedelta
from functools import cache

from flask import current_app
from sqlalchemy import delete, select, update
from werkzeug.security import generate_password_hash

from app.audit import record
from app.auth.models import EmailConfirmation, StaffRole, User
from app.auth.services.emails import new_single_use_link, queue_account_email
from app.auth.sessions import end_all_sessions
from app.db import db
from app.errors import Conflict, DomainError, InvalidToken
from app.tokens import hash_token
from app.urls import absolute_url

MIN_PASSWORD_LENGTH = 8
MAX_PASSWORD_LENGTH = 128
# At most one new confirmation link per account this often from the sign-in and "new link" pages,
# and one "you already have an account" email per address, so neither can flood someone's inbox.
CONFIRMATION_EMAIL_GAP = timedelta(minutes=10)


def normalise_email(email: str) -> str:
    return email.strip().casefold()


@cache
def _common_passwords() -> frozenset[str]:
    """The 30,000 most common passwords (from zxcvbn's lists), those long enough to be allowed otherwise."""
    from zxcvbn.frequency_lists import FREQUENCY_LISTS

    return frozenset(p for p in FREQUENCY_LISTS["passwords"] if len(p) >= MIN_PASSWORD_LENGTH)


_KEYBOARD_ROWS = ("qwertyuiop", "asdfghjkl", "zxcvbnm", "1234567890")


def _is_trivial(password: str) -> bool:
    """One character repeated, or a run like 12345678, abcdefgh, 87654321 or qwertyui."""
    lowered = password.lower()
    if len(set(lowered)) == 1:
        return True
    steps = {ord(b) - ord(a) for a, b in zip(lowered, lowered[1:], strict=False)}
    if steps in ({1}, {-1}):
        return True
    return any(lowered in row or lowered in row[::-1] for row in _KEYBOARD_ROWS)


def check_password_rules(password: str, *, email: str | None = None) -> None:
    """Length and a check against common and trivial passwords and the person's own address; no
    composition rules (NIST SP 800-63B)."""
    if len(password) < MIN_PASSWORD_LENGTH:
        raise DomainError(f"Password must be at least {MIN_PASSWORD_LENGTH} characters.", field="password")
    if len(password) > MAX_PASSWORD_LENGTH:
        raise DomainError(f"Password must be {MAX_PASSWORD_LENGTH} characters or fewer.", field="password")
    if password.lower() in _common_passwords():
        raise DomainError("That password is one of the most common, so it is easy to guess. Choose another, "
                          "for example three random words.", field="password")
    if _is_trivial(password):
        raise DomainError("That password is a repeated character or a simple sequence, so it is easy to guess. "
                          "Choose another, for example three random words.", field="password")
    local_part = normalise_email(email or "").split("@")[0]
    if len(local_part) >= 3 and local_part in password.casefold():
        raise DomainError("Your password must not contain your email address. Choose another, for example "
                          "three random words.", field="password")


def find_user_by_email(email: str) -> User | None:
    return db.session.scalar(select(User).where(User.email == normalise_email(email)))


def register_user(*, email: str, name: str, password: str, job_title: str = "", profession: str = "",
                  organisation=None, staff_role: StaffRole = StaffRole.NONE,
                  email_confirmed_at: datetime | None = None) -> User:
    """An account made directly (create-admin); people registering themselves go through `start_registration`."""
    email = normalise_email(email)
    name = name.strip()
    if not name:
        raise DomainError("Enter your full name.", field="name")
    if find_user_by_email(email) is not None:
        raise Conflict("An account with this email address already exists. Sign in or reset your password.",
                       field="email")
    check_password_rules(password, email=email)
    user = User(email=email, name=name, job_title=job_title.strip(), profession=profession.strip(),
                organisation=organisation, staff_role=staff_role.value, email_confirmed_at=email_confirmed_at)
    user.set_password(password)
    db.session.add(user)
    db.session.flush()
    return user


# -- registering and confirming the address ---------------------------------------------------

def start_registration(*, email: str, name: str, password: str, job_title: str = "", now: datetime) -> None:
    """Register, proving the address: the answer is the same whether or not it has an account.

    A new address gets an unconfirmed account and a confirmation link. An unconfirmed account's
    details are replaced by what was typed (so nobody can hold a colleague's address by registering
    it first) and its older links die. A confirmed account changes nothing; its owner is told someone
    tried. Every branch hashes a password once, so the time taken does not tell them apart either.
    """
    email = normalise_email(email)
    name = name.strip()
    if not name:
        raise DomainError("Enter your full name.", field="name")
    check_password_rules(password, email=email)
    user = find_user_by_email(email)
    if user is not None and (user.email_confirmed_at is not None or user.is_disabled):
        generate_password_hash(password)  # the work the other branches do, thrown away
        if not user.is_disabled:
            _email_already_registered(user, now=now)
        return
    if user is None:
        user = User(email=email, staff_role=StaffRole.NONE.value)
        db.session.add(user)
    else:
        db.session.execute(delete(EmailConfirmation).where(EmailConfirmation.user_id == user.id))
    user.name, user.job_title = name, job_title.strip()
    user.set_password(password)
    db.session.flush()
    _email_confirmation_link(user, now=now)


def resend_confirmation(*, email: str, now: datetime) -> None:
    """A new confirmation link for an account waiting for one. Says nothing either way."""
    user = find_user_by_email(email)
    if user is None or user.is_disabled or user.email_confirmed_at is not None:
        return
    if not _confirmation_sent_recently(user, now):
        _email_confirmation_link(user, now=now)


def _confirmation_sent_recently(user: User, now: datetime) -> bool:
    latest = db.session.scalar(select(EmailConfirmation.created_at).where(EmailConfirmation.user_id == user.id)
                               .order_by(EmailConfirmation.created_at.desc()).limit(1))
    return latest is not None and now - latest < CONFIRMATION_EMAIL_GAP


def _email_confirmation_link(user: User, *, now: datetime) -> None:
    ttl = current_app.config["EMAIL_CONFIRM_TTL"]
    _, token_hash, link = new_single_use_link(EmailConfirmation, user=user, endpoint="auth.confirm_email",
                                             ttl=ttl, now=now)
    queue_account_email(key=f"email-confirmation:{user.id}:{token_hash[:16]}", user=user,
                        subject="Confirm your email address to finish creating your account", template="confirm",
                        now=now, link=link, hours=int(ttl.total_seconds() // 3600))


def _email_already_registered(user: User, *, now: datetime) -> None:
    # The key names a 10-minute window: repeated attempts within it write no second email.
    window = int(now.timestamp() // CONFIRMATION_EMAIL_GAP.total_seconds())
    queue_account_email(key=f"registration-attempt:{user.id}:{window}", user=user,
                        subject="You already have an account", template="already_registered", now=now,
                        sign_in_url=absolute_url("auth.login"), reset_url=absolute_url("auth.forgot_password"))


def _confirmation(token: str, now: datetime) -> EmailConfirmation:
    confirmation = db.session.scalar(select(EmailConfirmation)
                                     .where(EmailConfirmation.token_hash == hash_token(token)))
    if confirmation is None or confirmation.user.is_disabled:
        raise InvalidToken("This confirmation link is not valid. Ask for a new one.")
    if confirmation.used_at is not None:
        raise InvalidToken("This confirmation link has already been used, or your address is already confirmed. "
                           "Sign in with your email address and password.")
    if confirmation.expires_at <= now:
        raise InvalidToken("This confirmation link has expired. Ask for a new one.")
    return confirmation


def check_confirmation_token(*, token: str, now: datetime) -> User:
    return _confirmation(token, now).user


def confirm_email(*, token: str, now: datetime) -> User:
    """Confirm the address from an emailed link: the link dies, as do the account's other links."""
    confirmation = _confirmation(token, now)
    user = confirmation.user
    # Claim every live link of the account with one conditional update, so two submissions cannot
    # both use this one.
    claimed = db.session.execute(
        update(EmailConfirmation).where(EmailConfirmation.user_id == user.id, EmailConfirmation.used_at.is_(None))
        .values(used_at=now).returning(EmailConfirmation.id).execution_options(synchronize_session=False)
    ).scalars().all()
    if confirmation.id not in claimed:
        raise InvalidToken("This confirmation link has already been used, or your address is already confirmed. "
                           "Sign in with your email address and password.")
    if user.email_confirmed_at is None:
        user.email_confirmed_at = now
    user.last_login_at = now
    record(actor=user, action="email_confirmed", target_type="user", target_id=user.id, now=now)
    db.session.flush()
    return user


def create_admin(*, email: str, name: str, password: str, now: datetime) -> User:
    """A programme team account (the `flask create-admin` command), its address taken as confirmed:
    whoever runs the command on the server vouches for it. Audited either way."""
    user = find_user_by_email(email)
    if user is None:
        user = register_user(email=email, name=name, password=password, staff_role=StaffRole.TEAM,
                             email_confirmed_at=now)
        record(actor=None, action="admin_created", target_type="user", target_id=user.id, now=now,
               detail={"email": user.email})
        return user
    check_password_rules(password, email=user.email)
    before = user.staff_role
    user.staff_role = StaffRole.TEAM.value
    user.set_password(password)
    if user.email_confirmed_at is None:
        user.email_confirmed_at = now
    end_all_sessions(user, now=now)  # a new password and role: sign-ins from before it end
    record(actor=None, action="admin_promoted", target_type="user", target_id=user.id, now=now,
           detail={"email": user.email, "from": before})
    db.session.flush()
    return user
