"""Session reminders: planned from the schedule, so a change re-plans them.

`plan_session_reminders(now)` writes outbox rows for reminders falling due within the planning
horizon: by default 7 days and 1 day before every session, and at 08:30 on the day for module
days (UK time, so the clock change is handled by the timezone); each cohort can change that or
turn it off (app.programme.reminder_rules). Keys hold the session's `sequence`, so a
rescheduled session gets fresh reminders while notify_session_change cancels the old ones; a
cancelled session, a withdrawn participant or someone who turned reminders off gets none. Each
row expires when its session starts, so a reminder delayed past the start is skipped.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from flask import current_app, render_template
from sqlalchemy import select

from app import clock
from app.auth.models import User
from app.db import db
from app.notifications.services import Attachment, queue_email
from app.programme.calendar import build_calendar, session_ics_filename
from app.programme.models import (
    Cohort,
    CohortStatus,
    Enrolment,
    EnrolmentStatus,
    ProgrammeSession,
    SessionKind,
    SessionStatus,
)
from app.programme.reminder_rules import RULES, RuleSetting, enabled_rules
from app.programme.template import WorkingDays
from app.urls import absolute_url, site_domain

HORIZON = timedelta(days=8)


def reminder_times(session: ProgrammeSession, tz: str, setting: RuleSetting | None = None) -> dict[str, datetime]:
    """When a session's reminders fall due under a cohort's setting (the default when none)."""
    setting = setting or RULES["session_reminders"].default
    times = {f"{days}d": on_a_working_day(session.starts_at - timedelta(days=days), tz) for days in setting.days}
    if session.kind == SessionKind.MODULE and setting.at is not None:
        times["morning"] = clock.local_instant(clock.to_local(session.starts_at, tz).date(), setting.at, tz)
    return times


def on_a_working_day(at: datetime, tz: str) -> datetime:
    """A reminder "N days before" that lands on a weekend or bank holiday goes on the working day
    before, at the same time of day (people read work email on working days)."""
    local = clock.to_local(at, tz)
    days = WorkingDays(local.date(), current_app.config["BANK_HOLIDAY_REGION"])
    day = local.date()
    while not days.is_working(day):
        day -= timedelta(days=1)
    return at if day == local.date() else clock.local_instant(day, local.time().replace(tzinfo=None), tz)


def _when(sent: datetime, starts: datetime, tz: str) -> str:
    """How the email names the day, from when it actually goes (a caught-up reminder says "today")."""
    days = (clock.to_local(starts, tz).date() - clock.to_local(sent, tz).date()).days
    return {0: "today", 1: "tomorrow"}.get(days, "next week" if days >= 6 else f"in {days} days")


def plan_session_reminders(now: datetime) -> int:
    """Write the session reminders due from now to the horizon. Idempotent. Returns rows written."""
    rules = enabled_rules("session_reminders")
    if not rules:
        return 0
    sessions = db.session.scalars(
        select(ProgrammeSession).join(Cohort)
        .where(ProgrammeSession.status == SessionStatus.SCHEDULED.value, ProgrammeSession.starts_at > now,
               ProgrammeSession.starts_at <= now + HORIZON + max(s.lead for s in rules.values()),
               Cohort.status != CohortStatus.COMPLETED.value, Cohort.id.in_(rules))
        .order_by(ProgrammeSession.starts_at)).all()
    written = 0
    for session in sessions:
        cohort = session.cohort
        setting = rules[cohort.id]
        due = {kind: at for kind, at in reminder_times(session, cohort.timezone, setting).items()
               if setting.earliest(now) <= at <= now + HORIZON and at < session.starts_at}
        if not due:
            continue
        people = db.session.execute(
            select(User.id, User.name, User.email).join(Enrolment, Enrolment.user_id == User.id)
            .where(Enrolment.cohort_id == cohort.id, Enrolment.status == EnrolmentStatus.ACTIVE.value,
                   User.is_disabled.is_(False), User.wants_reminders.is_(True))).all()
        if not people:
            continue
        ics = build_calendar([session], name=cohort.name, domain=site_domain(),
                             base_url=current_app.config["BASE_URL"], now=now).decode()
        attachment = Attachment(session_ics_filename(session, cohort.timezone), "text/calendar", ics)
        for kind, at in due.items():
            when = _when(max(at, now), session.starts_at, cohort.timezone)
            for user_id, name, email in people:
                context = dict(name=name, session=session, cohort=cohort, when=when,
                               link=absolute_url("programme.session_detail", session_id=session.id),
                               settings=absolute_url("auth.settings"),
                               programme_name=current_app.config["PROGRAMME_NAME"])
                written += queue_email(
                    key=f"session-reminder:{session.id}:{session.sequence}:{kind}:{user_id}{setting.key_suffix}",
                    recipient=email,
                    subject=f"{when.capitalize()}: {session.title}", category="reminder",
                    body_text=render_template("programme/email/session_reminder.txt", **context),
                    body_html=render_template("programme/email/session_reminder.html", **context),
                    due_at=max(at, now), expires_at=session.starts_at, attachments=[attachment], cohort_id=cohort.id)
    return written


def plan_preparation_reminders(now: datetime) -> int:
    """Before each module's first day (two weeks by default): what to prepare, from the module's content."""
    content = current_app.extensions["convene_content"]
    rules = enabled_rules("module_preparation")
    if not rules:
        return 0
    leads = [setting.lead for setting in rules.values()]
    sessions = db.session.scalars(
        select(ProgrammeSession).where(ProgrammeSession.kind == SessionKind.MODULE.value, ProgrammeSession.part == 1,
                                       ProgrammeSession.status == SessionStatus.SCHEDULED.value,
                                       ProgrammeSession.cohort_id.in_(rules),
                                       ProgrammeSession.starts_at > now + min(leads) - timedelta(hours=1),
                                       ProgrammeSession.starts_at <= now + max(leads) + HORIZON)).all()
    written = 0
    for session in sessions:
        setting = rules[session.cohort_id]
        due = on_a_working_day(session.starts_at - setting.lead, session.cohort.timezone)
        # Only what falls due from an hour ago (and not before the rule last changed) to the horizon.
        if not max(now - timedelta(hours=1), setting.earliest(now)) < due <= now + HORIZON:
            continue
        module = content.module(session.module.number)
        cohort = session.cohort
        people = db.session.execute(
            select(User.id, User.name, User.email).join(Enrolment, Enrolment.user_id == User.id)
            .where(Enrolment.cohort_id == cohort.id, Enrolment.status == EnrolmentStatus.ACTIVE.value,
                   User.is_disabled.is_(False), User.wants_reminders.is_(True))).all()
        for user_id, name, email in people:
            context = dict(name=name, session=session, cohort=cohort, module=module,
                           link=absolute_url("portal.module", cohort_id=cohort.id, number=module.number),
                           settings=absolute_url("auth.settings"), programme_name=current_app.config["PROGRAMME_NAME"])
            written += queue_email(
                key=f"preparation:{session.id}:{session.sequence}:{user_id}{setting.key_suffix}", recipient=email,
                category="reminder",
                subject=f"Preparing for module {module.number}: {module.title}",
                body_text=render_template("programme/email/preparation.txt", **context),
                body_html=render_template("programme/email/preparation.html", **context),
                due_at=max(due, now), expires_at=session.starts_at, cohort_id=cohort.id)
    return written
