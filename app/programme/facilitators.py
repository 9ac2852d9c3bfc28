"""Who facilitates a session: the team assigns facilitators (or team members), who then see the session
among their own and are emailed its changes with the participants (see change_notices)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import joinedload

from app import audit
from app.auth.models import StaffRole, User
from app.db import db
from app.errors import DomainError, PermissionDenied
from app.programme.models import ProgrammeSession, SessionFacilitator


def possible_facilitators() -> list[User]:
    """Everyone who can be asked to facilitate: facilitators and the team, with working accounts."""
    return list(db.session.scalars(select(User).where(
        User.staff_role.in_([StaffRole.FACILITATOR.value, StaffRole.TEAM.value]), User.is_disabled.is_(False),
        User.erased_at.is_(None)).order_by(User.name, User.id)))


def assign_facilitators(*, actor: User, session: ProgrammeSession, user_ids: list[int], now: datetime) -> bool:
    """Set exactly who facilitates a session. Returns whether anything changed.

    Someone already assigned keeps their row (and when they were assigned); someone no longer on the
    list is removed. Only the team assigns, and only staff with working accounts can be chosen.
    """
    if not actor.is_team:
        raise PermissionDenied("Only the programme team can choose a session's facilitators.")
    allowed = {user.id for user in possible_facilitators()}
    wanted = set(user_ids)
    if wanted - allowed:
        raise DomainError("Choose facilitators from the list: only facilitators and the team can facilitate.",
                          field="facilitators")
    current = {row.user_id: row for row in session.facilitators}
    added, removed = sorted(wanted - current.keys()), sorted(current.keys() - wanted)
    for user_id in removed:
        session.facilitators.remove(current[user_id])
    for user_id in added:
        session.facilitators.append(SessionFacilitator(user_id=user_id, assigned_at=now))
    if added or removed:
        audit.record(actor=actor, action="session_facilitators_assigned", target_type="programme_session",
                     target_id=session.id, detail={"added": added, "removed": removed}, now=now)
    db.session.flush()
    return bool(added or removed)


def sessions_for_facilitator(user: User, now: datetime) -> list[ProgrammeSession]:
    """The sessions someone facilitates that have not ended yet, soonest first, with their cohorts.

    Sessions called off stay on the list (shown as such) until their time has passed, so a facilitator
    sees that a session they expected has been cancelled or postponed.
    """
    return list(db.session.scalars(
        select(ProgrammeSession).join(SessionFacilitator, SessionFacilitator.session_id == ProgrammeSession.id)
        .where(SessionFacilitator.user_id == user.id, ProgrammeSession.ends_at > now)
        .options(joinedload(ProgrammeSession.cohort))
        .order_by(ProgrammeSession.starts_at, ProgrammeSession.id)))
