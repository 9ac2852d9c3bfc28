"""Application reminders: deadlines for drafts, offers about to lapse, line-manager links that expired.

Timing is each cohort's (app.programme.reminder_rules): by default 7 days and 1 day before the
deadline, and 3 days before an offer lapses. Line-manager chasers are queued with the request
(they carry its link), in services/applying.py; `cancel_for_rule_change` cancels any of these
when the team changes a rule.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from flask import current_app, render_template
from sqlalchemy import func, or_, select

from app.applications.models import Application, ApplicationStatus, SponsorApproval, SponsorDecision
from app.auth.models import User
from app.db import db
from app.notifications.models import OutboxMessage, OutboxStatus
from app.notifications.services import cancel_pending_any, cancel_pending_keys, queue_email
from app.programme.models import Cohort
from app.programme.reminder_rules import Rule, RuleSetting, enabled_rules
from app.urls import absolute_url

HORIZON = timedelta(days=8)


def _queue(key: str, to: str, template: str, subject: str, due: datetime, now: datetime, *, optional: bool = False,
           **context) -> bool:
    """A reminder about an application. Only a draft's deadline reminder is optional (its owner can turn
    reminders off); an offer about to lapse or a line manager's expired link needs the person's answer."""
    context.setdefault("programme_name", current_app.config["PROGRAMME_NAME"])
    context.setdefault("settings", absolute_url("auth.settings"))
    return queue_email(key=key, recipient=to, subject=subject, category="reminder" if optional else "applications",
                       due_at=max(due, now), cohort_id=context["application"].cohort_id,
                       body_text=render_template(f"applications/email/{template}.txt", **context),
                       body_html=render_template(f"applications/email/{template}.html", **context),
                       expires_at=context.get("expires_at"))


def plan_application_reminders(now: datetime) -> int:
    written = 0
    # Drafts: before the deadline (7 days and 1 day by default).
    rules = enabled_rules("application_deadline")
    drafts = db.session.execute(
        select(Application, Cohort, User).join(Cohort, Cohort.id == Application.cohort_id)
        .join(User, User.id == Application.applicant_id)
        .where(Application.status == ApplicationStatus.DRAFT.value, Cohort.application_deadline_at > now,
               Cohort.id.in_(rules),
               Cohort.application_deadline_at <= now + HORIZON + max((s.lead for s in rules.values()),
                                                                     default=timedelta(0)),
               User.wants_reminders.is_(True))).all() if rules else []
    for application, cohort, user in drafts:
        setting = rules[cohort.id]
        for days in setting.days:
            due = cohort.application_deadline_at - timedelta(days=days)
            if setting.earliest(now) <= due <= now + HORIZON:
                # The key carries the deadline: when it moves, reminders for the new one are planned.
                written += _queue(f"deadline-reminder:{application.id}:{days}{setting.key_suffix}"
                                  f":{cohort.application_deadline_at:%Y%m%d%H%M}", user.email,
                                  "deadline_reminder",
                                  f"{days} day{'s' if days != 1 else ''} left to submit your application", due, now,
                                  optional=True,
                                  application=application, cohort=cohort, days=days,
                                  expires_at=cohort.application_deadline_at,
                                  link=absolute_url("applications.edit", application_id=application.id))
    # Offers: before they lapse, 3 days by default (not optional: it needs an answer).
    rules = enabled_rules("offer_lapse")
    offers = db.session.execute(
        select(Application, User).join(User, User.id == Application.applicant_id)
        .where(Application.status == ApplicationStatus.OFFERED.value, Application.offer_expires_at > now,
               Application.cohort_id.in_(rules),
               Application.offer_expires_at <= now + HORIZON + max((s.lead for s in rules.values()),
                                                                   default=timedelta(0)))).all() if rules else []
    reminded = _offers_reminded([application for application, _ in offers])
    for application, user in offers:
        setting = rules[application.cohort_id]
        due = application.offer_expires_at - setting.lead
        if due <= now + HORIZON and application.id not in reminded:
            written += _queue(f"{_offer_key(application)}{setting.key_suffix}", user.email, "offer_reminder", "Please answer your offer of a place", due, now,
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


def _offer_key(application: Application) -> str:
    return f"offer-reminder:{application.id}:{int(application.offer_expires_at.timestamp())}"


def _offers_reminded(applications: list[Application]) -> set[int]:
    """Offers already reminded about (under any version of the rule): a changed rule does not remind twice."""
    if not applications:
        return set()
    keys = {_offer_key(a): a.id for a in applications}
    sent = db.session.scalars(select(OutboxMessage.key).where(
        OutboxMessage.status == OutboxStatus.SENT.value,
        or_(*(func.substr(OutboxMessage.key, 1, len(k)) == k for k in keys)))).all()
    return {keys[key] for key in keys if any(s == key or s.startswith(key + ":") for s in sent)}


def cancel_for_rule_change(cohort_id: int, before: RuleSetting, after: RuleSetting) -> int:
    """A cohort's application rule changed: cancel its pending reminders that no longer fit.

    Deadline and offer reminders are all cancelled (the next planning pass writes them again under
    the new setting). Line-manager chasers carry their request's link, which is not stored, so they
    cannot be written again: those for days no longer on the list are cancelled, and new days apply
    to requests sent from now on.
    """
    if before.key == "sponsor_chaser":
        dropped = before.days if not after.enabled else tuple(d for d in before.days if d not in after.days)
        approvals = db.session.execute(
            select(SponsorApproval.id, SponsorApproval.token_hash).join(Application)
            .where(Application.cohort_id == cohort_id, SponsorApproval.decision == SponsorDecision.PENDING.value)).all()
        keys = [f"sponsor-chaser:{approval_id}:{token_hash[:12]}:{days}" for approval_id, token_hash in approvals
                for days in dropped]
        return cancel_pending_keys(keys)
    prefix, status = {"application_deadline": ("deadline-reminder", ApplicationStatus.DRAFT),
                      "offer_lapse": ("offer-reminder", ApplicationStatus.OFFERED)}[before.key]
    application_ids = db.session.scalars(select(Application.id).where(Application.cohort_id == cohort_id,
                                                                      Application.status == status.value))
    return cancel_pending_any([f"{prefix}:{application_id}:" for application_id in application_ids])


# This domain's reminder rules, registered with the programme's at start-up (create_app).
REMINDER_RULES = (
    Rule("application_deadline", "Application deadline approaching", "Applicants with a draft",
         days=(7, 1), days_text="before the application deadline", max_day=60,
         cancel=cancel_for_rule_change, order=10),
    Rule("sponsor_chaser", "Line manager sign-off pending", "Line managers who have not answered",
         days=(3, 7), days_text="after the request (while the link works)", max_day=30,
         cancel=cancel_for_rule_change, order=20),
    Rule("offer_lapse", "Accept your place", "Applicants with an offer",
         days=(3,), days_text="before the offer lapses", max_offsets=1, max_day=30,
         cancel=cancel_for_rule_change, order=30),
)
