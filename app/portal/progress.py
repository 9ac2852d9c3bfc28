"""A participant's own checklist: resources marked done, and their progress through each module.

Progress counts the resources of a module that the person can see now (released material and what
their cohort shared); nobody else sees it, and the team's pages do not report it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select

from app.auth.models import User
from app.db import db
from app.errors import PermissionDenied
from app.portal.models import Resource, ResourceProgress
from app.portal.services import visible_resources
from app.programme.access import is_participant_of
from app.programme.models import Cohort


@dataclass(frozen=True)
class ModuleProgress:
    done: int
    total: int

    @property
    def percent(self) -> int:
        return round(100 * self.done / self.total) if self.total else 0

    @property
    def summary(self) -> str:
        return f"{self.done} of {self.total} done"


def set_done(*, actor: User, resource: Resource, cohort: Cohort, done: bool, now: datetime) -> None:
    """Mark a resource done (or not done again) on the participant's own checklist."""
    if not is_participant_of(actor, cohort.id):
        raise PermissionDenied("Only participants keep a checklist of resources.")
    row = db.session.get(ResourceProgress, (resource.id, actor.id))
    if done and row is None:
        db.session.add(ResourceProgress(resource_id=resource.id, user_id=actor.id, done_at=now))
    elif not done and row is not None:
        db.session.delete(row)
    db.session.flush()


def done_ids(user: User, resource_ids) -> set[int]:
    """Which of these resources this person has marked done (one query)."""
    ids = list(resource_ids)
    if not ids:
        return set()
    return set(db.session.scalars(select(ResourceProgress.resource_id).where(
        ResourceProgress.user_id == user.id, ResourceProgress.resource_id.in_(ids))))


def module_progress(user: User, cohort: Cohort, now: datetime) -> dict[int, ModuleProgress]:
    """{module number: done of total} over the module resources this person can see now (one query)."""
    visible = visible_resources(user, cohort, now).where(Resource.module_number.is_not(None)).subquery()
    rows = db.session.execute(
        select(visible.c.module_number, func.count(visible.c.id), func.count(ResourceProgress.resource_id))
        .select_from(visible)
        .outerjoin(ResourceProgress, (ResourceProgress.resource_id == visible.c.id)
                   & (ResourceProgress.user_id == user.id))
        .group_by(visible.c.module_number)).all()
    return {number: ModuleProgress(done, total) for number, total, done in rows}


def progress_home_panel(user: User, cohort: Cohort, now: datetime) -> dict[int, ModuleProgress]:
    """A home-panel provider (`app.programme.home_panels`): the person's progress per module."""
    return module_progress(user, cohort, now)
