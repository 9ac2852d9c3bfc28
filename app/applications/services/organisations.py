"""Organisations applicants add: offered to others only once the programme team has accepted them.

An applicant who cannot find their organisation adds it; until the team accepts it (or merges it into
one already on the list, when it was a variant spelling), it appears only on the applications that
name it, so nobody else sees what one applicant typed.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, or_, select, update

from app import audit
from app.applications.models import Application
from app.applications.services._shared import require_team
from app.auth.models import Organisation, User
from app.db import db
from app.errors import Conflict, DomainError


def choosable_organisations(*, including: int | None = None) -> list[Organisation]:
    """The organisations an applicant can choose: accepted ones, and the one already on their application."""
    condition = Organisation.accepted_at.is_not(None)
    if including:
        condition = or_(condition, Organisation.id == including)
    return list(db.session.scalars(select(Organisation).where(condition).order_by(Organisation.name)))


@dataclass
class Waiting:
    organisation: Organisation
    applications: list[Application]


def organisations_waiting() -> list[Waiting]:
    """Organisations waiting for the team, each with the applications that name it."""
    organisations = db.session.scalars(select(Organisation).where(Organisation.accepted_at.is_(None))
                                       .order_by(Organisation.created_at, Organisation.id)).all()
    named: dict[int, list[Application]] = {o.id: [] for o in organisations}
    if named:
        for application in db.session.scalars(select(Application).where(Application.organisation_id.in_(named))
                                              .order_by(Application.id)):
            named[application.organisation_id].append(application)
    return [Waiting(o, named[o.id]) for o in organisations]


def organisations_waiting_count() -> int:
    return db.session.scalar(select(func.count()).select_from(Organisation).where(Organisation.accepted_at.is_(None)))


def accept_organisation(*, actor: User, organisation: Organisation, now: datetime) -> None:
    require_team(actor)
    if organisation.accepted_at is not None:
        raise Conflict(f"{organisation.name} is already on the list.")
    organisation.accepted_at = now
    audit.record(actor=actor, action="organisation_accepted", target_type="organisation", target_id=organisation.id,
                 detail={"name": organisation.name}, now=now)
    db.session.flush()


def merge_organisation(*, actor: User, organisation: Organisation, into: Organisation | None, now: datetime) -> None:
    """The organisation is another already on the list: its applications and people move there."""
    require_team(actor)
    if organisation.accepted_at is not None:
        raise Conflict(f"{organisation.name} is already on the list.")
    if into is None or into.accepted_at is None or into.id == organisation.id:
        raise DomainError("Choose the organisation on the list that this one is.", field="into")
    for model in (Application, User):
        db.session.execute(update(model).where(model.organisation_id == organisation.id)
                           .values(organisation_id=into.id).execution_options(synchronize_session=False))
    audit.record(actor=actor, action="organisation_merged", target_type="organisation", target_id=into.id,
                 detail={"name": organisation.name, "into": into.name}, now=now)
    db.session.delete(organisation)
    db.session.flush()
    db.session.expire_all()
