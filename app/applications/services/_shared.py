"""Helpers the application services share: permission checks, status history, emails."""

from __future__ import annotations

from datetime import datetime

from flask import current_app, render_template
from sqlalchemy import select

from app.applications.models import (
    Application,
    ApplicationEvent,
    ApplicationStatus,
)
from app.auth.models import User
from app.db import db
from app.errors import PermissionDenied
from app.notifications.services import queue_email
from app.urls import absolute_url


def require_applicant(actor: User, application: Application) -> None:
    if actor.id != application.applicant_id:
        raise PermissionDenied("Only the applicant can change this application.")


def require_team(actor: User) -> None:
    if not actor.is_team:
        raise PermissionDenied("Only the programme team can do that.")


def change_status(application: Application, to: ApplicationStatus, *, actor: User | None, now: datetime,
                   note: str = "") -> None:
    application.events.append(ApplicationEvent(at=now, actor_id=getattr(actor, "id", None),
                                               from_status=application.status, to_status=to.value, note=note))
    application.status = to.value


def queue_applications_email(*, key: str, to: str, template: str, subject: str, now: datetime, due_at: datetime | None = None,
           category: str = "applications", **context) -> None:
    context.setdefault("programme_name", current_app.config["PROGRAMME_NAME"])
    application = context.get("application")
    queue_email(key=key, recipient=to, subject=subject,
                body_text=render_template(f"applications/email/{template}.txt", **context),
                body_html=render_template(f"applications/email/{template}.html", **context),
                due_at=due_at or now, category=category, cohort_id=application.cohort_id if application else None)



def notify_team_place_free(application: Application, *, now: datetime) -> None:
    team = db.session.scalars(select(User).where(User.staff_role == "team", User.is_disabled.is_(False))).all()
    for member in team:
        queue_applications_email(key=f"place-free:{application.id}:{member.id}:{application.status}", to=member.email,
               template="place_free", subject=f"A place is free in {application.cohort.name}", now=now,
               application=application, category="team",
               link=absolute_url("applications.selection", cohort_id=application.cohort_id))
