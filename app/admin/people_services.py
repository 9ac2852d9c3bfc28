"""The team's people pages: finding accounts, one person's record, the actions on an account, their
personal data, and the audit log search. Services: plain arguments, flush only."""

from __future__ import annotations

from datetime import datetime, time

from sqlalchemy import func, or_, select

from app import audit, clock
from app.admin.personal_data import subject_access_zip
from app.admin.retention import erase_person
from app.audit import AuditEvent
from app.auth import services as accounts
from app.auth import two_step
from app.auth.models import StaffRole, User
from app.db import db
from app.errors import DomainError
from app.programme.models import Enrolment

PERSON_ACTIONS = ("role", "disable", "enable", "sign-out", "two-step-off", "erase")
ERASE_REASON_LENGTH = 200


def people_page(*, q: str, role: str, deletion_requested: bool, page: int,
                page_size: int) -> tuple[list[User], int, int]:
    """One page of accounts matching a name or email and a role; the total; how many asked for deletion."""
    query = select(User)
    if q:
        like = f"%{q.lower()}%"
        query = query.where(or_(func.lower(User.name).like(like), User.email.like(like)))
    if role in {r.value for r in StaffRole}:
        query = query.where(User.staff_role == role)
    if deletion_requested:
        query = query.where(User.deletion_requested_at.is_not(None), User.erased_at.is_(None))
    total = db.session.scalar(select(func.count()).select_from(query.subquery()))
    rows = db.session.scalars(query.order_by(func.lower(User.name), User.id)
                              .limit(page_size).offset((page - 1) * page_size)).all()
    requests = db.session.scalar(select(func.count()).select_from(User).where(
        User.deletion_requested_at.is_not(None), User.erased_at.is_(None)))
    return list(rows), total, requests


def enrolments_of(person: User) -> list[Enrolment]:
    return list(db.session.scalars(select(Enrolment).where(Enrolment.user_id == person.id)))


def recent_history(person: User, *, limit: int = 20) -> list[AuditEvent]:
    """What the person did and what was done to their account, newest first."""
    return list(db.session.scalars(select(AuditEvent).where(
        or_(AuditEvent.actor_id == person.id, (AuditEvent.target_type == "user") & (AuditEvent.target_id == person.id)))
        .order_by(AuditEvent.at.desc()).limit(limit)))


def act_on_person(*, actor: User, person: User, action: str, now: datetime, role: str = "",
                  confirm: str | None = None, reason: str = "") -> int:
    """One of the team's actions on an account (PERSON_ACTIONS), each audited by the service it calls:
    set the role, disable or enable, sign out everywhere, turn off two-step sign-in, or erase (confirmed
    by typing the person's email address exactly). Returns how many sign-ins ended for "sign-out", else 0."""
    if action == "role":
        accounts.set_role(actor=actor, person=person, role=role, now=now)
    elif action in ("disable", "enable"):
        accounts.set_disabled(actor=actor, person=person, disabled=action == "disable", now=now)
    elif action == "two-step-off":
        if person.id == actor.id:
            raise DomainError("Turn off your own two-step sign-in from your settings.")
        two_step.turn_off(actor=actor, user=person, code=None, now=now)
    elif action == "sign-out":
        return accounts.sign_out_everywhere(actor=actor, person=person, now=now)
    elif action == "erase":
        if confirm != person.email:
            raise DomainError("Type the person's email address exactly to confirm.")
        erase_person(actor=actor, person=person, now=now, reason=reason[:ERASE_REASON_LENGTH])
    else:
        raise ValueError(f"Unknown action on an account: {action}")
    return 0


def export_personal_data(*, actor: User, person: User, now: datetime) -> bytes:
    """Subject access: everything held about the person as a ZIP (JSON and their files), audited."""
    archive = subject_access_zip(person, now=now)
    audit.record(actor=actor, action="subject_access_export", target_type="user", target_id=person.id, now=now)
    db.session.flush()
    return archive


def audit_page(*, action: str, who: str, start: datetime | None, end: datetime | None,
               target: tuple[str, int] | None, page: int, page_size: int) -> tuple[list, int]:
    """One page of audit events (newest first) with their actors, and the total for the filters."""
    query = select(audit.AuditEvent, User).outerjoin(User, User.id == audit.AuditEvent.actor_id)
    if action:
        query = query.where(audit.AuditEvent.action == action)
    if who:
        like = f"%{who.lower()}%"
        query = query.where(or_(func.lower(User.name).like(like), User.email.like(like)))
    if start:
        query = query.where(audit.AuditEvent.at >= clock.local_instant(start.date(), time(0, 0)))
    if end:
        query = query.where(audit.AuditEvent.at <= clock.local_instant(end.date(), time(23, 59, 59)))
    if target:
        query = query.where(audit.AuditEvent.target_type == target[0], audit.AuditEvent.target_id == target[1])
    total = db.session.scalar(select(func.count()).select_from(query.subquery()))
    rows = db.session.execute(query.order_by(audit.AuditEvent.at.desc(), audit.AuditEvent.id.desc())
                              .limit(page_size).offset((page - 1) * page_size)).all()
    return list(rows), total


def audit_actions() -> list[str]:
    return list(db.session.scalars(select(audit.AuditEvent.action).distinct().order_by(audit.AuditEvent.action)))
