"""Who may see a cohort and its sessions: a participant only their own cohort's; staff every cohort.

Another cohort's objects answer 404, as if they did not exist. The role decorators these rules
sit beside are in app/permissions.py (the base layer, which knows nothing of cohorts).
"""

from __future__ import annotations

from flask import abort
from flask_login import current_user
from sqlalchemy import select

from app.auth.models import User
from app.db import db
from app.programme.models import Cohort, Enrolment, EnrolmentStatus, ProgrammeSession


def active_enrolment(user: User) -> Enrolment | None:
    """The person's current place: the most recent active enrolment."""
    if not getattr(user, "is_authenticated", False):
        return None
    return db.session.scalars(
        select(Enrolment).where(Enrolment.user_id == user.id,
                                Enrolment.status == EnrolmentStatus.ACTIVE.value)
        .order_by(Enrolment.enrolled_at.desc()).limit(1)
    ).first()


def enrolment_in(user: User, cohort_id: int) -> Enrolment | None:
    """The person's active place in this cohort, if they have one."""
    if not getattr(user, "is_authenticated", False):
        return None
    return db.session.scalar(
        select(Enrolment).where(Enrolment.user_id == user.id, Enrolment.cohort_id == cohort_id,
                                Enrolment.status == EnrolmentStatus.ACTIVE.value))


def is_participant_of(user: User, cohort_id: int) -> bool:
    return enrolment_in(user, cohort_id) is not None


def can_view_cohort(user: User, cohort: Cohort) -> bool:
    return getattr(user, "is_staff", False) or is_participant_of(user, cohort.id)


def viewable_cohort_or_404(cohort_id: int) -> Cohort:
    """The cohort, if the signed-in person may see it; otherwise 404, as if it did not exist."""
    cohort = db.get_or_404(Cohort, cohort_id)
    if not can_view_cohort(current_user, cohort):
        abort(404)
    return cohort


def can_view_session(user: User, session: ProgrammeSession) -> bool:
    return getattr(user, "is_staff", False) or is_participant_of(user, session.cohort_id)


def can_see_join_link(user: User, session: ProgrammeSession) -> bool:
    return can_view_session(user, session)


TEMPLATE_PREDICATES = {
    "can_view_session": can_view_session,
    "can_see_join_link": can_see_join_link,
}
