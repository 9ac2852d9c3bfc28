"""Cohorts and their schedule: the rules for creating, changing and cancelling sessions."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy import func, select

from app import clock
from app.auth.models import User
from app.content import Content
from app.db import db
from app.errors import Conflict, DomainError, PermissionDenied
from app.programme.models import (
    Cohort,
    CohortStatus,
    Enrolment,
    EnrolmentStatus,
    Programme,
    ProgrammeModule,
    ProgrammeSession,
    SessionKind,
    SessionStatus,
)
from app.programme.template import plan_year


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
    title = details.title.strip()
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


def update_session(*, actor: User, session: ProgrammeSession, details: SessionDetails) -> bool:
    """Change a session. Returns True when anything changed (and the ICS sequence was bumped)."""
    _require_team(actor)
    before = _snapshot(session)
    with db.session.no_autoflush:
        _apply(session, session.cohort, details)
    changed = _snapshot(session) != before
    if changed:
        session.sequence += 1
    db.session.flush()
    return changed


def _snapshot(session: ProgrammeSession) -> tuple:
    return (session.kind, session.module_id if session.module is None else session.module.id, session.part,
            session.title, session.description, session.starts_at, session.ends_at, session.join_url,
            session.venue, session.access_info)


def cancel_session(*, actor: User, session: ProgrammeSession) -> None:
    _require_team(actor)
    if session.is_cancelled:
        raise Conflict("This session is already cancelled.")
    session.status = SessionStatus.CANCELLED.value
    session.sequence += 1
    db.session.flush()


def reinstate_session(*, actor: User, session: ProgrammeSession) -> None:
    _require_team(actor)
    if not session.is_cancelled:
        raise Conflict("This session is not cancelled.")
    session.status = SessionStatus.SCHEDULED.value
    session.sequence += 1
    db.session.flush()


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
        .order_by(ProgrammeSession.starts_at, ProgrammeSession.id)
    ))


def upcoming_sessions(cohort_id: int, now: datetime, limit: int = 3) -> list[ProgrammeSession]:
    """The next sessions that have not ended, cancelled ones included so people see the change."""
    return list(db.session.scalars(
        select(ProgrammeSession).where(ProgrammeSession.cohort_id == cohort_id,
                                       ProgrammeSession.ends_at > now)
        .order_by(ProgrammeSession.starts_at, ProgrammeSession.id).limit(limit)
    ))


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
