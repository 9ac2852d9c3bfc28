"""Signing in: wrong-password limits, the password check, resetting a forgotten password and
changing it."""

from __future__ import annotations

import math
from datetime import datetime, timedelta

from flask import current_app
from sqlalchemy import func, select, update
from werkzeug.security import generate_password_hash

from app.audit import AuditEvent, record
from app.auth.models import PasswordResetToken, User
from app.auth.services.emails import new_single_use_link, queue_account_email
from app.auth.services.registration import (
    _confirmation_sent_recently,
    _email_confirmation_link,
    check_password_rules,
    find_user_by_email,
    normalise_email,
)
from app.auth.sessions import end_all_sessions
from app.db import db
from app.errors import DomainError, InvalidToken
from app.tokens import hash_token
from app.urls import absolute_url

# Wrong passwords are remembered this long for the growing refusal (a success or a new password forgets them).
FAILURE_MEMORY = timedelta(hours=24)
# What ends a run of wrong passwords for an account.
FRESH_START_ACTIONS = ("login_succeeded", "password_reset", "password_changed")


class SignInLocked(DomainError):
    """Too many wrong passwords for this account (or this typed address): try again later. The same
    for addresses with and without an account."""

    status_code = 429


class EmailNotConfirmed(DomainError):
    """The password was right, but the address is not confirmed yet. A new link may be on its way:
    the audit row and the email are written before this is raised, for the caller to commit."""

    status_code = 403


def _recent_failures(user: User | None, email: str, now: datetime) -> list[datetime]:
    """When this account (or, with no account, this typed address) last had wrong passwords, newest
    first: those since its last sign-in or new password, within FAILURE_MEMORY."""
    since = now - FAILURE_MEMORY
    query = select(AuditEvent.at, AuditEvent.detail).where(AuditEvent.action == "login_failed",
                                                           AuditEvent.target_type == "user", AuditEvent.at > since)
    if user is None:
        query = query.where(AuditEvent.target_id.is_(None), AuditEvent.detail["email"].as_string() == email)
    else:
        query = query.where(AuditEvent.target_id == user.id)
        fresh_start = db.session.scalar(select(func.max(AuditEvent.at)).where(
            AuditEvent.target_type == "user", AuditEvent.target_id == user.id,
            AuditEvent.action.in_(FRESH_START_ACTIONS), AuditEvent.at > since))
        if fresh_start is not None:
            query = query.where(AuditEvent.at > fresh_start)
    cap = current_app.config["SIGN_IN_FAILURES_BEFORE_LOCK"] + 8  # enough rows to reach the longest refusal
    rows = db.session.execute(query.order_by(AuditEvent.at.desc(), AuditEvent.id.desc()).limit(cap)).all()
    # A right password for an unconfirmed address is not a guess.
    return [row.at for row in rows if (row.detail or {}).get("reason") != "email not confirmed"]


def _lock_until(failures: list[datetime]) -> datetime | None:
    """After SIGN_IN_FAILURES_BEFORE_LOCK wrong passwords, refused until 1, 2, 4 ... minutes (at most
    SIGN_IN_LOCK_MAX_MINUTES) after the latest."""
    config = current_app.config
    extra = len(failures) - config["SIGN_IN_FAILURES_BEFORE_LOCK"]
    if extra < 0:
        return None
    minutes = min(2 ** min(extra, 16), config["SIGN_IN_LOCK_MAX_MINUTES"])
    return failures[0] + timedelta(minutes=minutes)


def check_not_locked(*, user: User | None, email: str, now: datetime) -> None:
    """Raise SignInLocked while this account (or typed address) is refused after wrong passwords."""
    until = _lock_until(_recent_failures(user, normalise_email(email)[:254], now))
    if until is not None and until > now:
        minutes = max(1, math.ceil((until - now).total_seconds() / 60))
        raise SignInLocked(f"Too many wrong passwords for this account. Try again in {minutes} "
                           f"minute{'s' if minutes != 1 else ''}, or reset your password.", field="email")


def authenticate(*, email: str, password: str, now: datetime) -> User | None:
    """The user for these credentials, or None. Same answer for unknown email and wrong password.

    Raises SignInLocked, without checking the password, while the account (or the typed address, when
    there is no account) is refused after too many wrong passwords; nothing is written then.
    Raises EmailNotConfirmed (after emailing a new link, at most one per CONFIRMATION_EMAIL_GAP) when
    the password is right but the address is not confirmed: commit before showing it.
    """
    user = find_user_by_email(email)
    check_not_locked(user=user, email=email, now=now)
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
    if user.email_confirmed_at is None:
        record(actor=None, action="login_failed", target_type="user", target_id=user.id, now=now,
               detail={"reason": "email not confirmed"})
        if not _confirmation_sent_recently(user, now):
            _email_confirmation_link(user, now=now)
        raise EmailNotConfirmed("Confirm your email address first. We have sent you a new link.", field="email")
    user.last_login_at = now
    record(actor=user, action="login_succeeded", target_type="user", target_id=user.id, now=now)
    db.session.flush()
    return user


_DUMMY_HASH = generate_password_hash("not-a-real-password")


def request_password_reset(*, email: str, now: datetime) -> None:
    """Email a single-use reset link if an account exists. Says nothing either way (the page answers
    no sooner than a floor, so its time says nothing either); a request for an address without a
    working account is written to the audit log, where repeated guessing shows."""
    user = find_user_by_email(email)
    if user is None or user.is_disabled:
        record(actor=None, action="password_reset_refused", target_type="user", target_id=getattr(user, "id", None),
               now=now, detail={"reason": "disabled" if user else "unknown email"})
        return
    # At most a few reset emails an hour to one person, whoever asks from wherever.
    sent_lately = db.session.scalar(select(func.count()).select_from(PasswordResetToken).where(
        PasswordResetToken.user_id == user.id, PasswordResetToken.created_at > now - timedelta(hours=1)))
    if sent_lately >= current_app.config["PASSWORD_RESETS_PER_ACCOUNT_PER_HOUR"]:
        record(actor=None, action="password_reset_refused", target_type="user", target_id=user.id, now=now,
               detail={"reason": "too many requests this hour"})
        return
    ttl = current_app.config["PASSWORD_RESET_TTL"]
    reset, _, link = new_single_use_link(PasswordResetToken, user=user, endpoint="auth.reset_password",
                                         ttl=ttl, now=now)
    queue_account_email(key=f"password-reset:{reset.id}", user=user, subject="Reset your Convene password",
                        template="reset", now=now, link=link, minutes=int(ttl.total_seconds() // 60))


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
    """Set a new password from a reset link. The link dies, as do the account's other reset links and
    existing sign-ins.

    The link came by email, so using it also confirms the address.
    """
    reset = _reset_token(token, now)
    check_password_rules(password, email=reset.user.email)
    # Claim the token with a conditional update so two submissions cannot both use it.
    claimed = db.session.execute(
        update(PasswordResetToken).where(PasswordResetToken.id == reset.id, PasswordResetToken.used_at.is_(None))
        .values(used_at=now).execution_options(synchronize_session=False)
    ).rowcount
    if claimed != 1:
        raise InvalidToken("This reset link has already been used. Ask for a new one if you need to.")
    user = reset.user
    # Every other link of the account dies too: an older email in someone else's hands opens nothing.
    db.session.execute(update(PasswordResetToken).where(PasswordResetToken.user_id == user.id,
                                                        PasswordResetToken.used_at.is_(None))
                       .values(used_at=now).execution_options(synchronize_session=False))
    user.set_password(password)
    if user.email_confirmed_at is None:
        user.email_confirmed_at = now
    end_all_sessions(user, now=now)
    record(actor=user, action="password_reset", target_type="user", target_id=user.id, now=now)
    db.session.flush()
    return user


def check_current_password(*, user: User, password: str | None, now: datetime,
                           field: str = "current_password") -> None:
    """A signed-in person proves it is still them before a sensitive change. A wrong password is
    written as a failed sign-in (commit it before showing the message), so it counts towards the
    account's limit, and SignInLocked is raised while that limit holds."""
    check_not_locked(user=user, email=user.email, now=now)
    if not user.check_password(password or ""):
        record(actor=user, action="login_failed", target_type="user", target_id=user.id, now=now,
               detail={"reason": "wrong current password"})
        raise DomainError("Your current password is not right.", field=field)


def change_password(*, user: User, current_password: str, new_password: str, now: datetime) -> int:
    """A signed-in person sets a new password, proving the current one. Their other sign-ins end (the
    caller's browser stays signed in) and they are emailed. Returns how many sign-ins ended.

    A wrong current password counts as a wrong password for the account (and is refused alike).
    """
    check_current_password(user=user, password=current_password, now=now)
    check_password_rules(new_password, email=user.email)
    if user.check_password(new_password):
        raise DomainError("Choose a password different from your current one.", field="password")
    user.set_password(new_password)
    ended = end_all_sessions(user, now=now, keep_current=True)
    record(actor=user, action="password_changed", target_type="user", target_id=user.id, now=now,
           detail={"sessions_ended": ended})
    queue_account_email(key=f"password-changed:{user.id}:{int(now.timestamp())}", user=user,
                        subject="Your Convene password was changed", template="password_changed", now=now,
                        reset_url=absolute_url("auth.forgot_password"), when=now,
                        programme_name=current_app.config["PROGRAMME_NAME"])
    db.session.flush()
    return ended
