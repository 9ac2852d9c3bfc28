"""Cohorts and their schedule: the rules for creating, changing and cancelling sessions."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from flask import current_app
from sqlalchemy import func, select
from sqlalchemy.orm import joinedload, selectinload

from app import audit, clock
from app.auth.models import User
from app.content import Content
from app.db import db
from app.errors import Conflict, DomainError, PermissionDenied
from app.programme.change_notices import notify_session_change, one_email_per_person
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
from app.programme.signals import cohort_settings_changed, session_calling_off
from app.programme.template import WorkingDays, plan_year


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
    apologies_excused: bool


SETTING_LABELS = {"name": "Name", "capacity": "Places", "applications_open_at": "Applications open",
                  "application_deadline_at": "Application deadline", "offer_response_days": "Days to answer an offer",
                  "guest_capacity": "Guest places", "blind_review": "Blind review",
                  "apologies_excused": "Apologies excused"}


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
           "guest_capacity": settings.guest_capacity, "blind_review": settings.blind_review,
           "apologies_excused": settings.apologies_excused}
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
    # The team has confirmed an unusual date: a weekend or bank holiday, or one day of a module moved
    # away from the other.
    keep_date: bool = False


def _instant(details: SessionDetails, at: time, field: str, tz: str) -> datetime:
    problem = clock.wall_clock_problem(details.day, at, tz)
    if problem == "missing":
        raise DomainError(f"{at:%H:%M} does not exist on {details.day:%-d %B %Y}: the clocks go forward an hour "
                          "that night. Choose a time after 02:00.", field=field)
    if problem == "ambiguous":
        raise DomainError(f"{at:%H:%M} happens twice on {details.day:%-d %B %Y}: the clocks go back an hour that "
                          "night. Choose a time after 02:00.", field=field)
    return clock.local_instant(details.day, at, tz)


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
    session.starts_at = _instant(details, details.starts, "starts", cohort.timezone)
    session.ends_at = _instant(details, details.ends, "ends", cohort.timezone)
    session.join_url = join_url
    session.venue = details.venue.strip()
    session.access_info = details.access_info.strip()


KEEP_HINT = "Choose another date, or tick \"Keep this date anyway\" if it is what you mean."


def _day_off(day: date) -> str | None:
    """Why a day is not a working day in the programme's bank holiday region, or None."""
    if day.weekday() >= 5:
        return f"{day:%-d %B %Y} is a {day:%A}"
    days = WorkingDays(day, current_app.config["BANK_HOLIDAY_REGION"])
    return None if days.is_working(day) else f"{day:%-d %B %Y} is a bank holiday"


def _module_coconsulting(cohort: Cohort, number: int) -> ProgrammeSession | None:
    """The co-consulting session that follows module `number` (the template plans one after each module,
    in order)."""
    sessions = sorted((s for s in cohort.sessions if s.kind == SessionKind.CO_CONSULTING), key=lambda s: s.id)
    return sessions[number - 1] if 0 < number <= len(sessions) else None


def _check_place_in_year(session: ProgrammeSession, cohort: Cohort, *, was_starting_at: datetime | None,
                         now: datetime, keep_date: bool, module_move: bool = False) -> None:
    """A session's new date must make sense in the year: not before the welcome, a module day before the
    co-consulting session that follows the module (refused); not in the past, not on a weekend or bank
    holiday, nor one day of a module moved away from the other (refused unless the team confirms with
    `keep_date`: recording when a session really took place is a past date on purpose). Unchanged dates
    are not checked again."""
    if was_starting_at is not None and session.starts_at == was_starting_at:
        return
    tz = cohort.timezone
    day = clock.to_local(session.starts_at, tz).date()
    if session.starts_at <= now and not keep_date:
        raise DomainError("That time has already passed, so nobody will be told. To record when it really took "
                          "place, tick \"Keep this date anyway\"; to record that it did not take place, use its "
                          "status page.", field="day")
    welcome = next((s for s in cohort.sessions if s.kind == SessionKind.WELCOME and s is not session), None)
    if welcome is not None and session.kind != SessionKind.WELCOME and session.starts_at < welcome.starts_at:
        raise DomainError(f"That is before the cohort's welcome on {clock.to_local(welcome.starts_at, tz):%-d %B %Y}."
                          " Every session comes after it.", field="day")
    why = _day_off(day)
    if why and not keep_date:
        raise DomainError(f"{why}. {KEEP_HINT}", field="day")
    if session.kind == SessionKind.MODULE and session.module is not None:
        number = session.module.number
        if not module_move and not keep_date and was_starting_at is not None:
            other = next((s for s in session.module.sessions if s is not session and s.part != session.part), None)
            if other is not None:
                first, second = sorted([session, other], key=lambda s: s.part or 0)
                first_day = clock.to_local(first.starts_at, tz).date()
                second_day = clock.to_local(second.starts_at, tz).date()
                expected = WorkingDays(first_day, current_app.config["BANK_HOLIDAY_REGION"]).on_or_after(
                    first_day + timedelta(days=1))
                if second_day != expected:
                    raise DomainError(f"The two days of Module {number} would no longer be consecutive working days. "
                                      "To move the module, use \"Move both days\" on the schedule. "
                                      f"{KEEP_HINT}", field="day")
        follow_up = _module_coconsulting(cohort, number)
        if follow_up is not None and not follow_up.is_off and session.ends_at >= follow_up.starts_at:
            raise DomainError(f"Module {number} would then come after its co-consulting session on "
                              f"{clock.to_local(follow_up.starts_at, tz):%-d %B %Y}, which follows the module. Move "
                              "that session first, or choose an earlier date.", field="day")
    if session.kind == SessionKind.CO_CONSULTING:
        ordered = sorted((s for s in cohort.sessions if s.kind == SessionKind.CO_CONSULTING), key=lambda s: s.id)
        number = ordered.index(session) + 1 if session in ordered else None
        module = next((m for m in cohort.modules if m.number == number), None)
        days = [s for s in (module.sessions if module else []) if not s.is_off]
        if days and session.starts_at <= max(s.ends_at for s in days):
            raise DomainError(f"Co-consulting session {number} follows Module {number}, whose last day is "
                              f"{clock.to_local(max(s.ends_at for s in days), tz):%-d %B %Y}. Choose a later date.",
                              field="day")


def add_session(*, actor: User, cohort: Cohort, details: SessionDetails, now: datetime | None = None
                ) -> ProgrammeSession:
    _require_team(actor)
    session = ProgrammeSession(status=SessionStatus.SCHEDULED.value, sequence=0)
    with db.session.no_autoflush:
        _apply(session, cohort, details)
        session.cohort = cohort
        _check_place_in_year(session, cohort, was_starting_at=None, now=now or clock.now(),
                             keep_date=details.keep_date)
    db.session.add(session)
    db.session.flush()
    notify_session_change(session, now=now or clock.now(), was_starting_at=session.starts_at, added=True)
    return session


def update_session(*, actor: User, session: ProgrammeSession, details: SessionDetails,
                   now: datetime | None = None, module_move: bool = False) -> bool:
    """Change a session. When anything changed, the ICS sequence is bumped and everyone is told."""
    _require_team(actor)
    before = _snapshot(session)
    old_start = session.starts_at
    now = now or clock.now()
    with db.session.no_autoflush:
        _apply(session, session.cohort, details)
        _check_place_in_year(session, session.cohort, was_starting_at=old_start, now=now,
                             keep_date=details.keep_date, module_move=module_move)
    changed = _snapshot(session) != before
    if changed:
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
              now: datetime, reason: str) -> int:
    """The session is not going ahead as scheduled: record why and when, and tell everyone. The domains
    holding records of the session (registers) may refuse first. Returns how many were emailed."""
    session_calling_off.send(session, status=status, now=now)
    session.status, session.status_reason = status.value, reason
    session.sequence += 1
    _record_change(session, kind, actor=actor, now=now, from_starts_at=session.starts_at, reason=reason)
    db.session.flush()
    return notify_session_change(session, now=now, was_starting_at=session.starts_at)


def _snapshot(session: ProgrammeSession) -> tuple:
    return (session.kind, session.module_id if session.module is None else session.module.id, session.part,
            session.title, session.description, session.starts_at, session.ends_at, session.join_url,
            session.venue, session.access_info)


def cancel_session(*, actor: User, session: ProgrammeSession, now: datetime | None = None, reason: str = "") -> int:
    """Cancel a session still to come; everyone is told. Returns how many were emailed. A session whose
    time has come is not cancelled: it either took place (its register says who came) or did not
    (record that, with why)."""
    _require_team(actor)
    now = now or clock.now()
    if session.is_cancelled:
        raise Conflict("This session is already cancelled.")
    if session.starts_at <= now:
        raise Conflict("This session's time has come, so it cannot be cancelled. If it did not take place, record "
                       "that from its status page, with why; if it did, its register stays as it is.")
    return _call_off(session, SessionStatus.CANCELLED, SessionChangeKind.CANCELLED, actor=actor, now=now,
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
    notify_session_change(session, now=now, was_starting_at=session.starts_at, reinstated=True)


def reschedule_module(*, actor: User, module: ProgrammeModule, first_day: date, now: datetime,
                      bank_holiday_region: str = "ENG", keep_date: bool = False) -> list[ProgrammeSession]:
    """Move both days of a module: day 1 to `first_day`, day 2 to the next working day, same times."""
    _require_team(actor)
    days = WorkingDays(first_day, bank_holiday_region)
    if not days.is_working(first_day):
        raise DomainError("The first day must be a working day (not a weekend or bank holiday).", field="first_day")
    second_day = days.on_or_after(first_day + timedelta(days=1))
    cohort = module.cohort
    moved = []
    with one_email_per_person(now=now):  # both days in one email to each person
        for session, day in zip(sorted(module.sessions, key=lambda s: s.part or 0), (first_day, second_day),
                                strict=False):
            local_start = clock.to_local(session.starts_at, cohort.timezone)
            local_end = clock.to_local(session.ends_at, cohort.timezone)
            details = SessionDetails(
                title=session.title, kind=session.kind, day=day, starts=local_start.time(), ends=local_end.time(),
                module_number=module.number, part=session.part, join_url=session.join_url, venue=session.venue,
                access_info=session.access_info, description=session.description, keep_date=keep_date)
            try:
                if update_session(actor=actor, session=session, details=details, now=now, module_move=True):
                    moved.append(session)
            except DomainError as error:
                raise DomainError(error.message, field="first_day") from None
    return moved


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
