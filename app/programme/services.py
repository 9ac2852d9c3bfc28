"""Cohorts and their schedule: the rules for creating, changing and cancelling sessions."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from flask import current_app, render_template
from sqlalchemy import func, select
from sqlalchemy.orm import joinedload, selectinload

from app import audit, clock
from app.auth.models import User
from app.content import Content
from app.db import db
from app.errors import Conflict, DomainError, PermissionDenied
from app.notifications.services import Attachment, cancel_pending, queue_email
from app.programme.calendar import build_calendar, session_ics_filename
from app.programme.models import (
    Cohort,
    CohortStatus,
    Enrolment,
    EnrolmentStatus,
    Programme,
    ProgrammeModule,
    ProgrammeSession,
    SessionChange,
    SessionChangeKind,
    SessionKind,
    SessionStatus,
)
from app.programme.signals import cohort_settings_changed, session_changed
from app.programme.template import WorkingDays, plan_year
from app.urls import absolute_url, site_domain


def _require_team(actor: User) -> None:
    if not actor.is_team:
        raise PermissionDenied("Only the programme team can change the schedule.")


def get_or_create_programme(name: str, slug: str = "cop-leadership") -> Programme:
    programme = db.session.scalar(select(Programme).where(Programme.slug == slug))
    if programme is None:
        programme = Programme(name=name, slug=slug)
        db.session.add(programme)
        db.session.flush()
    return programme


def create_cohort(*, actor: User, programme: Programme, name: str, starts_on: date, content: Content,
                  capacity: int = 28, timezone: str = "Europe/London",
                  applications_open_at: datetime | None = None,
                  application_deadline_at: datetime | None = None,
                  bank_holiday_region: str = "ENG") -> Cohort:
    """Create a cohort with its five modules and the whole year's schedule from the template."""
    _require_team(actor)
    name = name.strip()
    if not name:
        raise DomainError("Give the cohort a name.", field="name")
    try:
        ZoneInfo(timezone)
    except (ZoneInfoNotFoundError, ValueError):
        raise DomainError(f"{timezone!r} is not a known timezone.", field="timezone") from None
    if capacity < 1:
        raise DomainError("Capacity must be at least 1.", field="capacity")
    if applications_open_at and application_deadline_at and application_deadline_at <= applications_open_at:
        raise DomainError("The application deadline must be after applications open.",
                          field="application_deadline")
    if db.session.scalar(select(Cohort.id).where(Cohort.programme_id == programme.id, Cohort.name == name)):
        raise Conflict(f"There is already a cohort called {name}.", field="name")

    cohort = Cohort(programme=programme, name=name, starts_on=starts_on, capacity=capacity,
                    timezone=timezone, applications_open_at=applications_open_at,
                    application_deadline_at=application_deadline_at, status=CohortStatus.DRAFT.value)
    db.session.add(cohort)
    modules = {}
    for number, module_content in sorted(content.modules.items()):
        modules[number] = ProgrammeModule(cohort=cohort, number=number, content_slug=module_content.slug)
        db.session.add(modules[number])
    for planned in plan_year(starts_on, bank_holiday_region):
        module = modules.get(planned.module_number) if planned.module_number else None
        title = planned.title
        if module is not None:
            title = f"Module {planned.module_number}: {content.module(planned.module_number).title} (day {planned.part})"
        db.session.add(ProgrammeSession(
            cohort=cohort, kind=planned.kind.value, module=module, part=planned.part, title=title,
            starts_at=clock.local_instant(planned.day, planned.starts, timezone),
            ends_at=clock.local_instant(planned.day, planned.ends, timezone),
            venue="To be confirmed" if planned.kind == SessionKind.CELEBRATION else "",
        ))
    db.session.flush()
    return cohort


@dataclass
class CohortSettings:
    """What the team can change about a cohort once it exists."""

    name: str
    capacity: int
    applications_open_at: datetime | None
    application_deadline_at: datetime | None
    offer_response_days: int
    guest_capacity: int
    blind_review: bool


SETTING_LABELS = {"name": "Name", "capacity": "Places", "applications_open_at": "Applications open",
                  "application_deadline_at": "Application deadline", "offer_response_days": "Days to answer an offer",
                  "guest_capacity": "Guest places", "blind_review": "Blind review"}


def change_cohort_settings(*, actor: User, cohort: Cohort, settings: CohortSettings, now: datetime) -> dict:
    """Change a cohort's settings. Returns what changed ({setting: (before, after)}), audited.

    The domains built on the cohort check what they hold (places already offered, guests already
    coming) and tell the people affected (applicants when the deadline moves) through the
    `cohort_settings_changed` signal; a refusal from any of them undoes the whole change.
    """
    _require_team(actor)
    name = settings.name.strip()
    if not name:
        raise DomainError("Give the cohort a name.", field="name")
    if name != cohort.name and db.session.scalar(select(Cohort.id).where(
            Cohort.programme_id == cohort.programme_id, Cohort.name == name, Cohort.id != cohort.id)):
        raise Conflict(f"There is already a cohort called {name}.", field="name")
    if settings.capacity < 1:
        raise DomainError("Places must be at least 1.", field="capacity")
    if not 1 <= settings.offer_response_days <= 60:
        raise DomainError("Days to answer an offer must be from 1 to 60.", field="offer_response_days")
    if settings.guest_capacity < 0:
        raise DomainError("Guest places cannot be negative.", field="guest_capacity")
    opens, deadline = settings.applications_open_at, settings.application_deadline_at
    if (opens is None) != (deadline is None):
        raise DomainError("Give both the date applications open and the deadline, or neither.",
                          field="application_deadline" if deadline is None else "applications_open")
    if opens and deadline:
        if deadline <= opens:
            raise DomainError("The application deadline must be after applications open.",
                              field="application_deadline")
        if clock.to_local(deadline, cohort.timezone).date() >= cohort.starts_on:
            raise DomainError("The application deadline must be before the cohort starts.",
                              field="application_deadline")
        if deadline != cohort.application_deadline_at and deadline < now:
            raise DomainError("That deadline has already passed. To close applications today, give today's date.",
                              field="application_deadline")
    new = {"name": name, "capacity": settings.capacity, "applications_open_at": opens,
           "application_deadline_at": deadline, "offer_response_days": settings.offer_response_days,
           "guest_capacity": settings.guest_capacity, "blind_review": settings.blind_review}
    changes = {key: (getattr(cohort, key), value) for key, value in new.items() if getattr(cohort, key) != value}
    if not changes:
        return {}
    for key, (_before, after) in changes.items():
        setattr(cohort, key, after)
    db.session.flush()
    cohort_settings_changed.send(cohort, changes=changes, actor=actor, now=now)
    audit.record(actor=actor, action="cohort_settings_changed", target_type="cohort", target_id=cohort.id, now=now,
                 detail={key: [_plain(before), _plain(after)] for key, (before, after) in changes.items()})
    db.session.flush()
    return changes


def _plain(value):
    return value.isoformat() if isinstance(value, datetime) else value


@dataclass
class SessionDetails:
    """What the team types for a session, in the cohort's local time."""

    title: str
    kind: str
    day: date
    starts: time
    ends: time
    module_number: int | None = None
    part: int | None = None
    join_url: str = ""
    venue: str = ""
    access_info: str = ""
    description: str = ""


def _apply(session: ProgrammeSession, cohort: Cohort, details: SessionDetails) -> None:
    title = " ".join(details.title.split())  # one line: titles go into email subjects and calendars
    if not title:
        raise DomainError("Give the session a title.", field="title")
    try:
        kind = SessionKind(details.kind)
    except ValueError:
        raise DomainError("Choose what kind of session this is.", field="kind") from None
    if details.ends <= details.starts:
        raise DomainError("The session must end after it starts.", field="ends")
    join_url = details.join_url.strip()
    if join_url and not join_url.startswith("https://"):
        raise DomainError("A join link must start with https://", field="join_url")
    module = None
    part = None
    if kind == SessionKind.MODULE:
        if details.module_number not in range(1, 6):
            raise DomainError("Choose which module (1 to 5) this day belongs to.", field="module_number")
        if details.part not in (1, 2):
            raise DomainError("Choose day 1 or day 2 of the module.", field="part")
        module = next((m for m in cohort.modules if m.number == details.module_number), None)
        if module is None:
            raise DomainError(f"This cohort has no module {details.module_number}.", field="module_number")
        part = details.part
    session.kind = kind.value
    session.module = module
    session.part = part
    session.title = title
    session.description = details.description.strip()
    session.starts_at = clock.local_instant(details.day, details.starts, cohort.timezone)
    session.ends_at = clock.local_instant(details.day, details.ends, cohort.timezone)
    session.join_url = join_url
    session.venue = details.venue.strip()
    session.access_info = details.access_info.strip()


def add_session(*, actor: User, cohort: Cohort, details: SessionDetails) -> ProgrammeSession:
    _require_team(actor)
    session = ProgrammeSession(status=SessionStatus.SCHEDULED.value, sequence=0)
    _apply(session, cohort, details)
    session.cohort = cohort
    db.session.add(session)
    db.session.flush()
    return session


def update_session(*, actor: User, session: ProgrammeSession, details: SessionDetails,
                   now: datetime | None = None) -> bool:
    """Change a session. When anything changed, the ICS sequence is bumped and everyone is told."""
    _require_team(actor)
    before = _snapshot(session)
    old_start = session.starts_at
    with db.session.no_autoflush:
        _apply(session, session.cohort, details)
    changed = _snapshot(session) != before
    if changed:
        now = now or clock.now()
        session.sequence += 1
        if session.starts_at != old_start:
            _record_change(session, SessionChangeKind.MOVED, actor=actor, now=now, from_starts_at=old_start)
        db.session.flush()
        notify_session_change(session, now=now, was_starting_at=old_start)
    db.session.flush()
    return changed


def _record_change(session: ProgrammeSession, kind: SessionChangeKind, *, actor: User, now: datetime,
                   from_starts_at: datetime, reason: str = "") -> None:
    db.session.add(SessionChange(session_id=session.id, kind=kind.value, changed_at=now, from_starts_at=from_starts_at,
                                 to_starts_at=None if session.is_off else session.starts_at, reason=reason,
                                 actor_id=actor.id))


def session_history(session_ids: list[int]) -> dict[int, list[SessionChange]]:
    """Each session's changes, oldest first, in one query."""
    result: dict[int, list[SessionChange]] = {sid: [] for sid in session_ids}
    if session_ids:
        for change in db.session.scalars(select(SessionChange).where(SessionChange.session_id.in_(session_ids))
                                         .order_by(SessionChange.changed_at, SessionChange.id)):
            result[change.session_id].append(change)
    return result


def _reason(reason: str, what: str) -> str:
    reason = " ".join(reason.split())
    if not reason:
        raise DomainError(f"Say why {what}: participants and the report will read it.", field="reason")
    if len(reason) > 500:
        raise DomainError("Keep the reason to 500 characters.", field="reason")
    return reason


def postpone_session(*, actor: User, session: ProgrammeSession, reason: str, now: datetime) -> None:
    """Postpone a session with its new date to be confirmed: participants are told, calendars updated."""
    _require_team(actor)
    if session.status != SessionStatus.SCHEDULED:
        raise Conflict(f"This session cannot be postponed: it is {session.status_label.lower()}.")
    if session.ends_at <= now:
        raise Conflict("This session has already ended. If it did not take place, record that instead.")
    _call_off(session, SessionStatus.POSTPONED, SessionChangeKind.POSTPONED, actor=actor, now=now,
              reason=_reason(reason, "it is postponed"))


def set_new_date(*, actor: User, session: ProgrammeSession, day: date, starts: time, ends: time,
                 now: datetime) -> None:
    """Give a postponed session its new date: it is scheduled again and everyone is told."""
    _require_team(actor)
    if session.status != SessionStatus.POSTPONED:
        raise Conflict("Only a postponed session is given a new date; move a scheduled session instead.")
    if ends <= starts:
        raise DomainError("The session must end after it starts.", field="ends")
    was = session.starts_at
    new_start = clock.local_instant(day, starts, session.cohort.timezone)
    if new_start <= now:
        raise DomainError("Choose a date and time that have not passed yet.", field="day")
    session.starts_at = new_start
    session.ends_at = clock.local_instant(day, ends, session.cohort.timezone)
    session.status = SessionStatus.SCHEDULED.value
    session.sequence += 1
    _record_change(session, SessionChangeKind.DATED, actor=actor, now=now, from_starts_at=was,
                   reason=session.status_reason)
    db.session.flush()
    notify_session_change(session, now=now, was_starting_at=was)


def mark_not_held(*, actor: User, session: ProgrammeSession, reason: str, now: datetime) -> None:
    """Record that a session's time came and it did not take place (no email: it is in the past)."""
    _require_team(actor)
    if session.status != SessionStatus.SCHEDULED:
        raise Conflict(f"This session is {session.status_label.lower()} already.")
    if session.starts_at > now:
        raise Conflict("This session has not started yet: postpone or cancel it instead.")
    _call_off(session, SessionStatus.NOT_HELD, SessionChangeKind.NOT_HELD, actor=actor, now=now,
              reason=_reason(reason, "it did not take place"))


def _call_off(session: ProgrammeSession, status: SessionStatus, kind: SessionChangeKind, *, actor: User,
              now: datetime, reason: str) -> None:
    """The session is not going ahead as scheduled: record why and when, and tell everyone."""
    session.status, session.status_reason = status.value, reason
    session.sequence += 1
    _record_change(session, kind, actor=actor, now=now, from_starts_at=session.starts_at, reason=reason)
    db.session.flush()
    notify_session_change(session, now=now, was_starting_at=session.starts_at)


def _snapshot(session: ProgrammeSession) -> tuple:
    return (session.kind, session.module_id if session.module is None else session.module.id, session.part,
            session.title, session.description, session.starts_at, session.ends_at, session.join_url,
            session.venue, session.access_info)


def cancel_session(*, actor: User, session: ProgrammeSession, now: datetime | None = None, reason: str = "") -> None:
    _require_team(actor)
    if session.is_cancelled:
        raise Conflict("This session is already cancelled.")
    _call_off(session, SessionStatus.CANCELLED, SessionChangeKind.CANCELLED, actor=actor, now=now or clock.now(),
              reason=" ".join(reason.split())[:500])


def reinstate_session(*, actor: User, session: ProgrammeSession, now: datetime | None = None) -> None:
    """Undo a cancellation or a "did not take place"; a postponed session is given a new date instead."""
    _require_team(actor)
    if session.status not in (SessionStatus.CANCELLED, SessionStatus.NOT_HELD):
        raise Conflict("This session is not cancelled.")
    now = now or clock.now()
    session.status = SessionStatus.SCHEDULED.value
    session.status_reason = ""
    session.sequence += 1
    _record_change(session, SessionChangeKind.REINSTATED, actor=actor, now=now, from_starts_at=session.starts_at)
    db.session.flush()
    notify_session_change(session, now=now, was_starting_at=session.starts_at)


def reschedule_module(*, actor: User, module: ProgrammeModule, first_day: date, now: datetime,
                      bank_holiday_region: str = "ENG") -> list[ProgrammeSession]:
    """Move both days of a module: day 1 to `first_day`, day 2 to the next working day, same times."""
    _require_team(actor)
    days = WorkingDays(first_day, bank_holiday_region)
    if not days.is_working(first_day):
        raise DomainError("The first day must be a working day (not a weekend or bank holiday).", field="first_day")
    second_day = days.on_or_after(first_day + timedelta(days=1))
    cohort = module.cohort
    moved = []
    for session, day in zip(sorted(module.sessions, key=lambda s: s.part or 0), (first_day, second_day), strict=False):
        local_start = clock.to_local(session.starts_at, cohort.timezone)
        local_end = clock.to_local(session.ends_at, cohort.timezone)
        details = SessionDetails(
            title=session.title, kind=session.kind, day=day, starts=local_start.time(), ends=local_end.time(),
            module_number=module.number, part=session.part, join_url=session.join_url, venue=session.venue,
            access_info=session.access_info, description=session.description)
        if update_session(actor=actor, session=session, details=details, now=now):
            moved.append(session)
    return moved


def notify_session_change(session: ProgrammeSession, *, now: datetime, was_starting_at: datetime) -> int:
    """Email every participant the change with an updated calendar entry; re-plan its reminders."""
    # Reminders planned for the old time no longer fit; the reminder jobs plan them again.
    cancel_pending(f"session-reminder:{session.id}:")
    session_changed.send(session, now=now, was_starting_at=was_starting_at)
    if session.ends_at <= now:
        return 0
    config = current_app.config
    ics = build_calendar([session], name=session.cohort.name, domain=site_domain(), base_url=config["BASE_URL"], now=now)
    attachment = Attachment(session_ics_filename(session, session.cohort.timezone), "text/calendar", ics.decode())
    recipients = db.session.execute(
        select(User.id, User.name, User.email).join(Enrolment, Enrolment.user_id == User.id)
        .where(Enrolment.cohort_id == session.cohort_id, Enrolment.status == EnrolmentStatus.ACTIVE.value,
               User.is_disabled.is_(False))).all()
    context = dict(session=session, cohort=session.cohort, was_starting_at=was_starting_at,
                   link=absolute_url("programme.session_detail", session_id=session.id),
                   programme_name=config["PROGRAMME_NAME"])
    verb = {SessionStatus.CANCELLED: "cancelled", SessionStatus.POSTPONED: "postponed"}.get(session.status, "changed")
    for user_id, name, email in recipients:
        queue_email(key=f"session-changed:{session.id}:{session.sequence}:{user_id}", recipient=email,
                    subject=f"{session.title} has been {verb}", category="schedule",
                    body_text=render_template("programme/email/session_changed.txt", name=name, **context),
                    body_html=render_template("programme/email/session_changed.html", name=name, **context),
                    due_at=now, attachments=[attachment])
    return len(recipients)


def enrol(*, cohort: Cohort, user: User, now: datetime) -> Enrolment:
    existing = db.session.scalar(
        select(Enrolment).where(Enrolment.cohort_id == cohort.id, Enrolment.user_id == user.id)
    )
    if existing is not None:
        if existing.status == EnrolmentStatus.ACTIVE:
            return existing
        existing.status = EnrolmentStatus.ACTIVE.value
        existing.withdrawn_at = None
        db.session.flush()
        return existing
    enrolment = Enrolment(cohort=cohort, user=user, status=EnrolmentStatus.ACTIVE.value, enrolled_at=now)
    db.session.add(enrolment)
    db.session.flush()
    return enrolment


# -- reads ------------------------------------------------------------------------------------

def cohort_sessions(cohort_id: int) -> list[ProgrammeSession]:
    return list(db.session.scalars(
        select(ProgrammeSession).where(ProgrammeSession.cohort_id == cohort_id)
        .options(joinedload(ProgrammeSession.module))  # pages show each session's module
        .order_by(ProgrammeSession.starts_at, ProgrammeSession.id)
    ))


def upcoming_sessions(cohort_id: int, now: datetime, limit: int = 3) -> list[ProgrammeSession]:
    """The next sessions that have not ended, cancelled ones included so people see the change."""
    return list(db.session.scalars(
        select(ProgrammeSession).where(ProgrammeSession.cohort_id == cohort_id,
                                       ProgrammeSession.ends_at > now)
        .order_by(ProgrammeSession.starts_at, ProgrammeSession.id).limit(limit)
    ))


def calendar_sessions(user: User) -> list[ProgrammeSession]:
    """What a person's calendar feed holds: their cohort's sessions; staff see every live cohort's."""
    query = select(ProgrammeSession).order_by(ProgrammeSession.starts_at, ProgrammeSession.id)
    if user.is_staff:
        query = query.join(Cohort).where(Cohort.status != CohortStatus.COMPLETED.value)
    else:
        cohort_ids = select(Enrolment.cohort_id).where(Enrolment.user_id == user.id,
                                                       Enrolment.status == EnrolmentStatus.ACTIVE.value)
        query = query.where(ProgrammeSession.cohort_id.in_(cohort_ids))
    return list(db.session.scalars(query.options(selectinload(ProgrammeSession.cohort))))


def list_cohorts() -> list[Cohort]:
    return list(db.session.scalars(select(Cohort).order_by(Cohort.starts_on.desc(), Cohort.id.desc())))


def enrolment_counts() -> dict[int, int]:
    rows = db.session.execute(
        select(Enrolment.cohort_id, func.count()).where(Enrolment.status == EnrolmentStatus.ACTIVE.value)
        .group_by(Enrolment.cohort_id)
    ).all()
    return dict(rows)


def current_cohort(now: datetime) -> Cohort | None:
    """The cohort the public page talks about: the latest that has not finished."""
    return db.session.scalars(
        select(Cohort).where(Cohort.status != CohortStatus.COMPLETED.value)
        .order_by(Cohort.starts_on.desc()).limit(1)
    ).first()
