"""Who may do what: route decorators and can_* predicates, used by views and templates alike.

Every view declares its rule with one of the decorators below; create_app refuses to serve an
endpoint that has none, and tests/test_access.py holds the expected answer for every route.
Object rules: a participant sees only their own cohort's things; another cohort's objects
answer 404, as if they did not exist.
"""

from __future__ import annotations

from functools import wraps

from flask import abort
from flask_login import current_user, login_required
from sqlalchemy import select

from app.auth.models import User
from app.db import db
from app.programme.models import Cohort, Enrolment, EnrolmentStatus, ProgrammeSession

PUBLIC, SIGNED_IN, STAFF, TEAM = "public", "signed_in", "staff", "team"


def _mark(view, rule: str):
    view.access_rule = rule
    return view


def public(view):
    """Anyone, signed in or not."""
    return _mark(view, PUBLIC)


def signed_in(view):
    """Any signed-in person; object checks inside the view narrow it further."""
    return _mark(login_required(view), SIGNED_IN)


def _role_required(rule: str, allowed):
    def decorator(view):
        @wraps(view)
        def wrapped(*args, **kwargs):
            if not allowed(current_user):
                abort(403)
            return view(*args, **kwargs)

        return _mark(login_required(wrapped), rule)

    return decorator


staff_required = _role_required(STAFF, lambda user: user.is_staff)
team_required = _role_required(TEAM, lambda user: user.is_team)


# -- predicates ------------------------------------------------------------------------------

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


def can_manage_schedule(user: User, cohort: Cohort | None = None) -> bool:
    return getattr(user, "is_team", False)


def can_view_outbox(user: User) -> bool:
    return getattr(user, "is_team", False)


def can_view_application(user: User, application) -> bool:
    """The applicant and the programme team. Facilitators never see applications."""
    if not getattr(user, "is_authenticated", False):
        return False
    return user.is_team or application.applicant_id == user.id


def can_manage_applications(user: User) -> bool:
    return getattr(user, "is_team", False)


TEMPLATE_PREDICATES = {
    "can_manage_applications": can_manage_applications,
    "can_view_session": can_view_session,
    "can_see_join_link": can_see_join_link,
    "can_manage_schedule": can_manage_schedule,
    "can_view_outbox": can_view_outbox,
}
