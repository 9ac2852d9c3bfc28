"""What a change to a cohort's settings means for its applications.

Subscribed to programme's `cohort_settings_changed` at start-up: fewer places than are already
taken is refused; a moved deadline is told to everyone whose application still depends on it
(drafts, and those waiting for or turned down by a line manager), and their deadline reminders
are planned again for the new date.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select

from app.applications.models import Application, ApplicationStatus
from app.applications.services._shared import queue_applications_email
from app.applications.services.selection import places_taken
from app.auth.models import User
from app.db import db
from app.errors import Conflict
from app.notifications.services import cancel_pending_any
from app.programme.models import Cohort
from app.urls import absolute_url

# Applications whose next step has to happen before the deadline.
DEPENDS_ON_DEADLINE = (ApplicationStatus.DRAFT, ApplicationStatus.AWAITING_SPONSOR, ApplicationStatus.SPONSOR_DECLINED)


def on_cohort_settings_changed(cohort: Cohort, *, changes: dict, actor: User, now: datetime) -> None:
    if "capacity" in changes:
        taken = places_taken(cohort, now)
        if cohort.capacity < taken:
            raise Conflict(f"{taken} places are already accepted, offered or decided as offers, so the cohort "
                           f"needs at least {taken} places. Change those decisions first.", field="capacity")
    if "application_deadline_at" in changes:
        before, after = changes["application_deadline_at"]
        if before is not None and after is not None:
            _tell_deadline_moved(cohort, before=before, after=after, now=now)


def _tell_deadline_moved(cohort: Cohort, *, before: datetime, after: datetime, now: datetime) -> None:
    applications = db.session.scalars(select(Application).where(
        Application.cohort_id == cohort.id,
        Application.status.in_([s.value for s in DEPENDS_ON_DEADLINE])).order_by(Application.id)).all()
    cancel_pending_any([f"deadline-reminder:{a.id}:" for a in applications])
    for application in applications:
        queue_applications_email(
            key=f"deadline-moved:{application.id}:{after:%Y%m%d%H%M}", to=application.applicant.email,
            template="deadline_moved", subject=f"The application deadline for {cohort.name} has changed", now=now,
            application=application, cohort=cohort, before=before, after=after,
            link=absolute_url("applications.status", application_id=application.id))
