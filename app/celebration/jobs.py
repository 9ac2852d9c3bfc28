"""Reminders to celebration guests, 7 days and 1 day before unless the cohort chose otherwise.
Planned from the schedule, so a reschedule (which cancels `guest-reminder:<session>:` rows) gets
fresh reminders at the new time."""

from __future__ import annotations

from datetime import datetime, timedelta

from flask import current_app, render_template
from sqlalchemy import select

from app.celebration.models import Guest, GuestStatus, Rsvp
from app.celebration.services import celebration_session
from app.db import db
from app.notifications.services import queue_email
from app.programme.reminder_rules import Rule, enabled_rules

HORIZON = timedelta(days=8)


def plan_guest_reminders(now: datetime) -> int:
    written = 0
    for cohort_id, setting in enabled_rules("guest_reminders").items():
        event = celebration_session(cohort_id)
        if event is None or event.starts_at <= now:
            continue
        due = {days: event.starts_at - timedelta(days=days) for days in setting.days}
        due = {days: at for days, at in due.items() if setting.earliest(now) <= at <= now + HORIZON}
        if not due:
            continue
        guests = db.session.scalars(select(Guest).where(Guest.cohort_id == cohort_id,
                                                        Guest.status == GuestStatus.INVITED.value,
                                                        Guest.rsvp != Rsvp.NO.value)).all()
        for guest in guests:
            inviter = guest.invited_by.user.name if guest.invited_by else "The programme team"
            for days, at in due.items():
                context = dict(guest=guest, event=event, inviter=inviter, days=days,
                               programme_name=current_app.config["PROGRAMME_NAME"])
                written += queue_email(
                    key=f"guest-reminder:{event.id}:{event.sequence}:{days}:{guest.id}{setting.key_suffix}",
                    recipient=guest.email,
                    subject=f"Reminder: {event.title} in {days} day{'s' if days != 1 else ''}", due_at=max(at, now),
                    expires_at=event.starts_at, category="guest_reminder",
                    body_text=render_template("celebration/email/reminder.txt", **context),
                    body_html=render_template("celebration/email/reminder.html", **context), cohort_id=cohort_id)
    return written


# This domain's reminder rules, registered with the programme's at start-up (create_app).
REMINDER_RULES = (
    Rule("guest_reminders", "Celebration reminder", "Invited guests",
         days=(7, 1), days_text="before the celebration event", max_day=30, session_keys=("guest-reminder",), order=90),
)
