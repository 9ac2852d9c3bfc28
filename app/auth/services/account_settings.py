"""A person's own settings (reminders, calendar link, asking for deletion) and the team's actions on
an account (role, disabling, signing out everywhere)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select

from app.audit import record
from app.auth.models import StaffRole, User
from app.auth.sessions import end_all_sessions
from app.db import db
from app.errors import Conflict, DomainError, PermissionDenied
from app.notifications.services import cancel_pending_to
from app.tokens import hash_token, new_token

# The outbox category of reminders a person may turn off (sign-off requests, offers and schedule
# changes are never in it).
OPTIONAL_REMINDERS = "reminder"


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
