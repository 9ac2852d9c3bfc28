"""Reminders to celebration guests, 7 days and 1 day before. Planned from the schedule, so a
reschedule (which cancels `guest-reminder:<session>:` rows) gets fresh reminders at the new time."""

from __future__ import annotations

from datetime import datetime, timedelta

from flask import current_app, render_template
from sqlalchemy import select

from app.celebration.models import Guest, GuestStatus, Rsvp
from app.celebration.services import celebration_session
from app.db import db
from app.notifications.services import CATCH_UP, queue_email
from app.programme.models import Cohort, CohortStatus

GUEST_REMINDER_DAYS = (7, 1)
HORIZON = timedelta(days=8)


def plan_guest_reminders(now: datetime) -> int:
    written = 0
    for cohort in db.session.scalars(select(Cohort).where(Cohort.status != CohortStatus.COMPLETED.value)):
        event = celebration_session(cohort.id)
        if event is None or event.starts_at <= now:
            continue
        due = {days: event.starts_at - timedelta(days=days) for days in GUEST_REMINDER_DAYS}
        due = {days: at for days, at in due.items() if now - CATCH_UP <= at <= now + HORIZON}
        if not due:
            continue
        guests = db.session.scalars(select(Guest).where(Guest.cohort_id == cohort.id,
                                                        Guest.status == GuestStatus.INVITED.value,
                                                        Guest.rsvp != Rsvp.NO.value)).all()
        for guest in guests:
            inviter = guest.invited_by.user.name if guest.invited_by else "The programme team"
            for days, at in due.items():
                context = dict(guest=guest, event=event, inviter=inviter, days=days,
                               programme_name=current_app.config["PROGRAMME_NAME"])
                written += queue_email(
                    key=f"guest-reminder:{event.id}:{event.sequence}:{days}:{guest.id}", recipient=guest.email,
                    subject=f"Reminder: {event.title} in {days} day{'s' if days != 1 else ''}", due_at=max(at, now),
                    expires_at=event.starts_at, category="guest_reminder",
                    body_text=render_template("celebration/email/reminder.txt", **context),
                    body_html=render_template("celebration/email/reminder.html", **context))
    return written
