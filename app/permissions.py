"""Who may do what: route decorators and can_* predicates, used by views and templates alike.

Every view declares its rule with one of the decorators below; create_app refuses to serve an
endpoint that has none, and tests/test_access.py holds the expected answer for every route.
This module sits in the base layer: it knows people only by their roles. Rules that need a
cohort (a participant sees only their own cohort's things; another cohort's objects answer 404,
as if they did not exist) are in app/programme/access.py, above the programme's models.
"""

from __future__ import annotations

from functools import wraps

from flask import abort
from flask_login import current_user, login_required

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

def can_manage_schedule(user, cohort=None) -> bool:
    return getattr(user, "is_team", False)


def can_view_outbox(user) -> bool:
    return getattr(user, "is_team", False)


def can_view_application(user, application) -> bool:
    """The applicant and the programme team. Facilitators never see applications."""
    if not getattr(user, "is_authenticated", False):
        return False
    return user.is_team or application.applicant_id == user.id


def can_manage_applications(user) -> bool:
    return getattr(user, "is_team", False)


TEMPLATE_PREDICATES = {
    "can_manage_applications": can_manage_applications,
    "can_manage_schedule": can_manage_schedule,
    "can_view_outbox": can_view_outbox,
}
