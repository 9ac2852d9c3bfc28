"""Accounts: registration, sign-in checks, password resets, staff roles."""

from __future__ import annotations

import math
from datetime import datetime, timedelta
from functools import cache

from flask import current_app, render_template
from sqlalchemy import delete, func, select, update
from werkzeug.security import generate_password_hash

from app.audit import AuditEvent, record
from app.auth.models import EmailConfirmation, PasswordResetToken, StaffRole, User
from app.auth.sessions import end_all_sessions
from app.db import db
from app.errors import Conflict, DomainError, InvalidToken, PermissionDenied
from app.notifications.services import cancel_pending_to, queue_email, seal_link
from app.tokens import hash_token, new_token
from app.urls import absolute_url

MIN_PASSWORD_LENGTH = 8
# The outbox category of reminders a person may turn off (sign-off requests, offers and schedule
# changes are never in it).
OPTIONAL_REMINDERS = "reminder"
MAX_PASSWORD_LENGTH = 128
# At most one new confirmation link per account this often from the sign-in and "new link" pages,
# and one "you already have an account" email per address, so neither can flood someone's inbox.
CONFIRMATION_EMAIL_GAP = timedelta(minutes=10)


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
    token, token_hash = new_token()
    ttl = current_app.config["EMAIL_CONFIRM_TTL"]
    confirmation = EmailConfirmation(user_id=user.id, token_hash=token_hash, created_at=now, expires_at=now + ttl)
    db.session.add(confirmation)
    db.session.flush()
    link = seal_link(absolute_url("auth.confirm_email", token=token))
    context = {"user": user, "link": link, "hours": int(ttl.total_seconds() // 3600)}
    queue_email(
        key=f"email-confirmation:{user.id}:{token_hash[:16]}", recipient=user.email,
        subject="Confirm your email address to finish creating your account",
        body_text=render_template("auth/email/confirm.txt", **context),
        body_html=render_template("auth/email/confirm.html", **context),
        due_at=now, category="account",
    )


def _email_already_registered(user: User, *, now: datetime) -> None:
    # The key names a 10-minute window: repeated attempts within it write no second email.
    window = int(now.timestamp() // CONFIRMATION_EMAIL_GAP.total_seconds())
    context = {"user": user, "sign_in_url": absolute_url("auth.login"),
               "reset_url": absolute_url("auth.forgot_password")}
    queue_email(
        key=f"registration-attempt:{user.id}:{window}", recipient=user.email,
        subject="You already have an account",
        body_text=render_template("auth/email/already_registered.txt", **context),
        body_html=render_template("auth/email/already_registered.html", **context),
        due_at=now, category="account",
    )


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
    context = {"user": user, "reset_url": absolute_url("auth.forgot_password"),
               "when": now, "programme_name": current_app.config["PROGRAMME_NAME"]}
    queue_email(
        key=f"password-changed:{user.id}:{int(now.timestamp())}", recipient=user.email,
        subject="Your Convene password was changed",
        body_text=render_template("auth/email/password_changed.txt", **context),
        body_html=render_template("auth/email/password_changed.html", **context),
        due_at=now, category="account",
    )
    db.session.flush()
    return ended


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


def set_reminders(*, user: User, wanted: bool, now: datetime) -> int:
    """Turn optional reminders on or off. Off also cancels those already planned (and anything due
    later is checked again when it is sent). Returns how many were cancelled."""
    user.wants_reminders = wanted
    cancelled = 0 if wanted else cancel_pending_to(user.email, (OPTIONAL_REMINDERS,))
    record(actor=user, action="reminders_turned_on" if wanted else "reminders_turned_off", target_type="user",
           target_id=user.id, now=now, detail={"cancelled": cancelled})
    db.session.flush()
    return cancelled


def opted_out_of_reminders():
    """The addresses of people who turned optional reminders off (checked when each one is due)."""
    return select(User.email).where(User.wants_reminders.is_(False))


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


def request_deletion(*, user: User, now: datetime) -> None:
    """The person asks for their account to be deleted; the team (admin) acts on it within 30 days."""
    if user.is_staff:
        raise Conflict("Staff accounts are closed by the programme team. Ask another member of the team.")
    user.deletion_requested_at = user.deletion_requested_at or now
    record(actor=user, action="deletion_requested", target_type="user", target_id=user.id, now=now)
    db.session.flush()


def cancel_deletion_request(*, user: User, now: datetime) -> None:
    user.deletion_requested_at = None
    record(actor=user, action="deletion_request_withdrawn", target_type="user", target_id=user.id, now=now)
    db.session.flush()
