"""The programme team's daily digest at 08:00 on working days."""

from __future__ import annotations

from datetime import datetime, time, timedelta

from flask import current_app, render_template
from sqlalchemy import func, select

from app import clock
from app.applications.models import Application, ApplicationStatus
from app.attendance.services import cohort_matrix
from app.auth.models import StaffRole, User
from app.db import db
from app.notifications.models import OutboxMessage, OutboxStatus
from app.notifications.services import queue_email
from app.programme.models import Cohort, CohortStatus
from app.programme.template import WorkingDays
from app.urls import absolute_url

DIGEST_AT = time(8, 0)


def plan_team_digest(now: datetime) -> int:
    """Queue today's digest for each team member once 08:00 (UK time) has passed on a working day."""
    today = clock.to_local(now).date()
    days = WorkingDays(today, current_app.config["BANK_HOLIDAY_REGION"])
    due = clock.local_instant(today, DIGEST_AT)
    if not days.is_working(today) or now < due or now > due + timedelta(hours=4):
        return 0
    previous = today - timedelta(days=1)
    while not days.is_working(previous):
        previous -= timedelta(days=1)
    since = clock.local_instant(previous, DIGEST_AT)
    new_applications = db.session.scalar(select(func.count()).select_from(Application).where(
        Application.submitted_at >= since, Application.submitted_at < due))
    waiting_for_sponsors = db.session.scalar(select(func.count()).select_from(Application).where(
        Application.status == ApplicationStatus.AWAITING_SPONSOR.value))
    failed = db.session.scalar(select(func.count()).select_from(OutboxMessage).where(
        OutboxMessage.status == OutboxStatus.FAILED.value))
    at_risk = []
    for cohort in db.session.scalars(select(Cohort).where(Cohort.status == CohortStatus.RUNNING.value)):
        at_risk += [(cohort.name, p.name, "; ".join(p.at_risk_reasons)) for p in cohort_matrix(cohort, now).at_risk]
    team = db.session.execute(select(User.id, User.name, User.email).where(
        User.staff_role == StaffRole.TEAM.value, User.is_disabled.is_(False))).all()
    context = dict(day=today, new_applications=new_applications, waiting_for_sponsors=waiting_for_sponsors,
                   failed=failed, at_risk=at_risk, link=absolute_url("admin.dashboard"),
                   outbox=absolute_url("admin.outbox", status="failed"), programme_name=current_app.config["PROGRAMME_NAME"])
    written = 0
    for user_id, name, email in team:
        written += queue_email(key=f"team-digest:{today.isoformat()}:{user_id}", recipient=email,
                               subject=f"Convene daily digest, {today.day} {today:%B}", category="digest",
                               body_text=render_template("admin/email/digest.txt", name=name, **context),
                               body_html=render_template("admin/email/digest.html", name=name, **context),
                               due_at=max(due, now))
    return written
