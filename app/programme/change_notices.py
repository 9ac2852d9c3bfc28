"""Telling people a session changed: participants and the session's facilitators get an email with a
calendar invitation that updates the entry they already have; reminders planned for the old time are
cancelled; the domains built on programme hear of it through `session_changed`.

One change is one email per person, however many sessions it moved: a service that changes several
sessions as one action (moving both days of a module) wraps the changes in `one_email_per_person()`,
and the notices made inside it go out together when it ends.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import datetime
from email.utils import parseaddr

from flask import current_app, render_template
from sqlalchemy import select

from app.auth.models import User
from app.db import db
from app.notifications.services import Attachment, cancel_pending, queue_email
from app.programme.calendar import (
    CalendarUser,
    build_invitation,
    calendar_content_type,
    invitation_method,
    session_ics_filename,
)
from app.programme.models import Enrolment, EnrolmentStatus, ProgrammeSession, SessionFacilitator, SessionStatus
from app.programme.signals import session_changed
from app.urls import absolute_url, site_domain


@dataclass(frozen=True)
class SessionNotice:
    """A session that changed, and when it was due to start before the change."""

    session: ProgrammeSession
    was_starting_at: datetime
    # Back on after being cancelled or recorded as not having taken place, or new to the schedule: the
    # email says so.
    reinstated: bool = False
    added: bool = False


@dataclass
class _Recipient:
    name: str
    email: str
    # The sessions of this change that concern them, and which of those they facilitate.
    notices: list[SessionNotice]
    facilitating: set[int]


# The notices held back by the innermost `one_email_per_person()` block, or None outside one.
_held: ContextVar[list[SessionNotice] | None] = ContextVar("convene_held_session_notices", default=None)


@contextmanager
def one_email_per_person(*, now: datetime) -> Iterator[None]:
    """Send the emails of every session changed inside the block together: one email per person.

    Reminders are cancelled and `session_changed` is sent at each change as usual; only the emails
    wait. If the block raises, nothing is sent (the unit of work rolls back anyway). A block inside
    another leaves the sending to the outer one.
    """
    if _held.get() is not None:
        yield
        return
    held: list[SessionNotice] = []
    token = _held.set(held)
    try:
        yield
    finally:
        _held.reset(token)
    notify_sessions_changed(held, now=now)


def notify_session_change(session: ProgrammeSession, *, now: datetime, was_starting_at: datetime,
                          reinstated: bool = False, added: bool = False) -> int:
    """Re-plan a changed session's reminders, announce it, and email everyone concerned.

    Returns how many emails were written (0 while a `one_email_per_person()` block holds them).
    """
    # Reminders planned for the old time no longer fit; the reminder jobs plan them again.
    cancel_pending(f"session-reminder:{session.id}:")
    session_changed.send(session, now=now, was_starting_at=was_starting_at)
    notice = SessionNotice(session, was_starting_at, reinstated, added)
    held = _held.get()
    if held is not None:
        held.append(notice)
        return 0
    return notify_sessions_changed([notice], now=now)


def notify_sessions_changed(notices: Sequence[SessionNotice], *, now: datetime) -> int:
    """Email each participant and facilitator concerned one message for these changes, carrying one
    calendar invitation per session (RFC 5546 allows one UID per invitation). Returns how many emails."""
    notices = _latest_per_session(notices)
    # A session already over needs no calendar update: the entry is history.
    notices = [n for n in notices if n.session.ends_at > now]
    if not notices:
        return 0
    config = current_app.config
    sender = parseaddr(config["MAIL_FROM"])[1]
    organizer = CalendarUser(sender, config["PROGRAMME_NAME"])
    written = 0
    for user_id, recipient in _recipients(notices).items():
        attendee = CalendarUser(recipient.email, recipient.name)
        attachments = []
        for notice in recipient.notices:
            session = notice.session
            ics = build_invitation(session, organizer=organizer, attendee=attendee, name=session.cohort.name,
                                   domain=site_domain(), base_url=config["BASE_URL"], now=now,
                                   timezone=session.cohort.timezone)
            attachments.append(Attachment(session_ics_filename(session, session.cohort.timezone),
                                          calendar_content_type(invitation_method(session)), ics.decode()))
        context = dict(name=recipient.name, notices=recipient.notices, facilitating=recipient.facilitating,
                       programme_name=config["PROGRAMME_NAME"],
                       links={n.session.id: absolute_url("programme.session_detail", session_id=n.session.id)
                              for n in recipient.notices})
        changed = "+".join(f"{n.session.id}:{n.session.sequence}" for n in recipient.notices)
        written += queue_email(key=f"session-changed:{changed}:{user_id}", recipient=recipient.email,
                               subject=_subject(recipient.notices), category="schedule",
                               body_text=render_template("programme/email/session_changed.txt", **context),
                               body_html=render_template("programme/email/session_changed.html", **context),
                               due_at=now, attachments=attachments)
    return written


def _latest_per_session(notices: Sequence[SessionNotice]) -> list[SessionNotice]:
    """A session changed twice in one block is one notice: its start before the first change, its state
    after the last. Ordered by start."""
    first_start: dict[int, SessionNotice] = {}
    for notice in notices:
        first_start.setdefault(notice.session.id, notice)
    return sorted(first_start.values(), key=lambda n: (n.session.starts_at, n.session.id))


def _recipients(notices: list[SessionNotice]) -> dict[int, _Recipient]:
    """Everyone a change concerns, by user id: the active participants of each session's cohort and the
    session's facilitators; accounts that are disabled hear nothing."""
    by_cohort: dict[int, list[SessionNotice]] = {}
    by_session = {n.session.id: n for n in notices}
    for notice in notices:
        by_cohort.setdefault(notice.session.cohort_id, []).append(notice)
    recipients: dict[int, _Recipient] = {}

    def concern(user_id: int, name: str, email: str, notice: SessionNotice) -> _Recipient:
        recipient = recipients.setdefault(user_id, _Recipient(name, email, [], set()))
        if notice not in recipient.notices:
            recipient.notices.append(notice)
        return recipient

    participants = db.session.execute(
        select(Enrolment.cohort_id, User.id, User.name, User.email).select_from(User)
        .join(Enrolment, Enrolment.user_id == User.id)
        .where(Enrolment.cohort_id.in_(list(by_cohort)), Enrolment.status == EnrolmentStatus.ACTIVE.value,
               User.is_disabled.is_(False)).order_by(User.id))
    for cohort_id, user_id, name, email in participants:
        for notice in by_cohort[cohort_id]:
            concern(user_id, name, email, notice)
    facilitators = db.session.execute(
        select(SessionFacilitator.session_id, User.id, User.name, User.email)
        .join(User, User.id == SessionFacilitator.user_id)
        .where(SessionFacilitator.session_id.in_(list(by_session)), User.is_disabled.is_(False)).order_by(User.id))
    for session_id, user_id, name, email in facilitators:
        concern(user_id, name, email, by_session[session_id]).facilitating.add(session_id)
    for recipient in recipients.values():
        recipient.notices.sort(key=lambda n: (n.session.starts_at, n.session.id))
    return recipients


def _subject(notices: list[SessionNotice]) -> str:
    if len(notices) > 1:
        return f"{_join([n.session.title for n in notices])} have changed"
    session = notices[0].session
    if notices[0].added:
        return f"New session: {session.title}"
    if notices[0].reinstated and not session.is_off:
        return f"{session.title} is back on"
    verb = {SessionStatus.CANCELLED: "cancelled", SessionStatus.POSTPONED: "postponed"}.get(session.status, "changed")
    return f"{session.title} has been {verb}"


def _join(words: list[str]) -> str:
    return words[0] if len(words) == 1 else f"{', '.join(words[:-1])} and {words[-1]}"
