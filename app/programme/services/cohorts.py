"""Cohorts: creating one with its year's schedule, changing its settings, enrolling people."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy import select

from app import audit, clock
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
    ProgrammeTemplate,
    SessionKind,
)
from app.programme.services.templates import default_template, shape_of
from app.programme.signals import cohort_settings_changed
from app.programme.template import plan_year


def require_team(actor: User) -> None:
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
                  bank_holiday_region: str = "ENG", template: ProgrammeTemplate | None = None) -> Cohort:
    """Create a cohort with its modules and the whole year's schedule from a programme template (the
    default, the HIN year, unless another is given)."""
    require_team(actor)
    template = template or default_template()
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
                    application_deadline_at=application_deadline_at, status=CohortStatus.DRAFT.value,
                    template=template)
    db.session.add(cohort)
    modules = {}
    for number, module_content in sorted(content.modules.items()):
        if number > template.module_count:
            break
        modules[number] = ProgrammeModule(cohort=cohort, number=number, content_slug=module_content.slug)
        db.session.add(modules[number])
    for planned in plan_year(starts_on, bank_holiday_region, shape_of(template)):
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
    require_team(actor)
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
