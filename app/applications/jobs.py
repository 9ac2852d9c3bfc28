"""Application reminders: deadlines for drafts, offers about to lapse, line-manager links that expired."""

from __future__ import annotations

from datetime import datetime, timedelta

from flask import current_app, render_template
from sqlalchemy import select

from app.applications.models import Application, ApplicationStatus, SponsorApproval, SponsorDecision
from app.auth.models import User
from app.db import db
from app.notifications.services import CATCH_UP, queue_email
from app.programme.models import Cohort
from app.urls import absolute_url

HORIZON = timedelta(days=8)
DEADLINE_DAYS = (7, 1)
OFFER_LAPSE_DAYS = 3


def _queue(key: str, to: str, template: str, subject: str, due: datetime, now: datetime, **context) -> bool:
    context.setdefault("programme_name", current_app.config["PROGRAMME_NAME"])
    context.setdefault("settings", absolute_url("auth.settings"))
    return queue_email(key=key, recipient=to, subject=subject, category="reminder", due_at=max(due, now),
                       body_text=render_template(f"applications/email/{template}.txt", **context),
                       body_html=render_template(f"applications/email/{template}.html", **context),
                       expires_at=context.get("expires_at"))


def plan_application_reminders(now: datetime) -> int:
    written = 0
    # Drafts: 7 days and 1 day before the deadline.
    drafts = db.session.execute(
        select(Application, Cohort, User).join(Cohort, Cohort.id == Application.cohort_id)
        .join(User, User.id == Application.applicant_id)
        .where(Application.status == ApplicationStatus.DRAFT.value, Cohort.application_deadline_at > now,
               Cohort.application_deadline_at <= now + HORIZON + timedelta(days=7),
               User.wants_reminders.is_(True))).all()
    for application, cohort, user in drafts:
        for days in DEADLINE_DAYS:
            due = cohort.application_deadline_at - timedelta(days=days)
            if now - CATCH_UP <= due <= now + HORIZON:
                written += _queue(f"deadline-reminder:{application.id}:{days}", user.email, "deadline_reminder",
                                  f"{days} day{'s' if days != 1 else ''} left to submit your application", due, now,
                                  application=application, cohort=cohort, days=days,
                                  expires_at=cohort.application_deadline_at,
                                  link=absolute_url("applications.edit", application_id=application.id))
    # Offers: 3 days before they lapse (not optional: it needs an answer).
    offers = db.session.execute(
        select(Application, User).join(User, User.id == Application.applicant_id)
        .where(Application.status == ApplicationStatus.OFFERED.value, Application.offer_expires_at > now,
               Application.offer_expires_at <= now + HORIZON + timedelta(days=OFFER_LAPSE_DAYS))).all()
    for application, user in offers:
        due = application.offer_expires_at - timedelta(days=OFFER_LAPSE_DAYS)
        if due <= now + HORIZON:
            written += _queue(f"offer-reminder:{application.id}:{int(application.offer_expires_at.timestamp())}",
                              user.email, "offer_reminder", "Please answer your offer of a place", due, now,
                              application=application, expires_at=application.offer_expires_at,
                              link=absolute_url("applications.status", application_id=application.id))
    # Line-manager links that expired unanswered: tell the applicant how to send a new one.
    expired = db.session.execute(
        select(SponsorApproval, Application, User).join(Application, Application.id == SponsorApproval.application_id)
        .join(User, User.id == Application.applicant_id)
        .where(SponsorApproval.decision == SponsorDecision.PENDING.value, SponsorApproval.expires_at <= now,
               SponsorApproval.expires_at > now - timedelta(days=7),
               Application.status == ApplicationStatus.AWAITING_SPONSOR.value)).all()
    for approval, application, user in expired:
        written += _queue(f"sponsor-expired:{approval.id}", user.email, "sponsor_expired",
                          "Your line manager's link has expired", approval.expires_at, now,
                          application=application, approval=approval,
                          link=absolute_url("applications.status", application_id=application.id))
    return written
