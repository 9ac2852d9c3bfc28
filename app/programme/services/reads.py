"""Reads of cohorts and their schedule for the pages, the calendar feeds and the other domains."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import joinedload, selectinload

from app.auth.models import User
from app.db import db
from app.programme.models import (
    Cohort,
    CohortStatus,
    Enrolment,
    EnrolmentStatus,
    ProgrammeModule,
    ProgrammeSession,
    SessionChange,
    SessionKind,
)


def session_history(session_ids: list[int]) -> dict[int, list[SessionChange]]:
    """Each session's changes, oldest first, in one query."""
    result: dict[int, list[SessionChange]] = {sid: [] for sid in session_ids}
    if session_ids:
        for change in db.session.scalars(select(SessionChange).where(SessionChange.session_id.in_(session_ids))
                                         .order_by(SessionChange.changed_at, SessionChange.id)):
            result[change.session_id].append(change)
    return result


def cohort_sessions(cohort_id: int) -> list[ProgrammeSession]:
    return list(db.session.scalars(
        select(ProgrammeSession).where(ProgrammeSession.cohort_id == cohort_id)
        .options(joinedload(ProgrammeSession.module))  # pages show each session's module
        .order_by(ProgrammeSession.starts_at, ProgrammeSession.id)
    ))


@dataclass
class ParticipantYear:
    """A participant's year on their home page."""

    sessions: list[ProgrammeSession]  # every session of the cohort, in order
    upcoming: list[ProgrammeSession]  # the next few that have not ended, cancelled ones included so people see the change
    next_id: int | None  # the next session that is going ahead

    @property
    def next_session(self) -> ProgrammeSession | None:
        """The next session going ahead (or happening now): the card at the top of the home page."""
        return next((s for s in self.sessions if s.id == self.next_id), None)

    @property
    def shown_ids(self) -> list[int]:
        """The sessions the home page shows notes beside: the next few and the next going ahead."""
        ids = [s.id for s in self.upcoming]
        return ids if self.next_id is None or self.next_id in ids else [*ids, self.next_id]


def participant_place(user_id: int) -> Enrolment | None:
    """The person's current place with its cohort, in one query (the home page's first read).

    The same rule as `access.active_enrolment`: the most recent active enrolment.
    """
    return db.session.scalars(
        select(Enrolment).where(Enrolment.user_id == user_id, Enrolment.status == EnrolmentStatus.ACTIVE.value)
        .options(joinedload(Enrolment.cohort))
        .order_by(Enrolment.enrolled_at.desc()).limit(1)
    ).first()


def participant_year(cohort_id: int, now: datetime, upcoming: int = 3) -> ParticipantYear:
    sessions = cohort_sessions(cohort_id)
    to_come = [s for s in sessions if s.ends_at > now]
    return ParticipantYear(sessions=sessions, upcoming=to_come[:upcoming],
                           next_id=next((s.id for s in to_come if not s.is_off), None))


def sessions_by_module(sessions: list[ProgrammeSession]) -> dict[int, list[ProgrammeSession]]:
    """Module number -> its days, in the order given."""
    modules: dict[int, list[ProgrammeSession]] = {}
    for session in sessions:
        if session.kind == SessionKind.MODULE:
            modules.setdefault(session.module.number, []).append(session)
    return modules


def has_participants(cohort: Cohort) -> bool:
    """Whether anyone is enrolled in the cohort now (and so is told of a change to its schedule)."""
    return any(e.status == EnrolmentStatus.ACTIVE for e in cohort.enrolments)


def cohort_module(cohort: Cohort, number: int) -> ProgrammeModule | None:
    return next((m for m in cohort.modules if m.number == number), None)


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
