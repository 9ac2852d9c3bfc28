"""Evaluation reminders: feedback after each session, and a monthly nudge to log CoP meetings.

Feedback: a request 1 hour after a session ends and one follow-up 3 days later, to participants
who were there (or where no register was taken) and have not answered; giving feedback cancels
the follow-up. Both expire when the feedback window closes. CoP meetings: on the first Monday
of each month at 09:00 UK time, participants whose community has logged no meeting in the last
60 days are reminded; logging one cancels a pending reminder.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta

from flask import current_app, render_template
from sqlalchemy import func, select

from app import clock
from app.attendance.models import Attendance, AttendanceStatus
from app.auth.models import User
from app.db import db
from app.evaluation.feedback import FEEDBACK_WINDOW, settings_for
from app.evaluation.models import CommunityMeeting, FeedbackReceipt, ParticipantCommunity
from app.notifications.services import CATCH_UP, queue_email
from app.programme.models import Cohort, CohortStatus, Enrolment, EnrolmentStatus, ProgrammeSession, SessionStatus
from app.urls import absolute_url

HORIZON = timedelta(days=8)
REQUEST_AFTER = timedelta(hours=1)
FOLLOW_UP_AFTER = timedelta(days=3)
COP_QUIET_DAYS = 60
COP_REMINDER_AT = time(9, 0)


def _people(cohort_id: int):
    return db.session.execute(
        select(Enrolment.id, User.id, User.name, User.email).join(User, User.id == Enrolment.user_id)
        .where(Enrolment.cohort_id == cohort_id, Enrolment.status == EnrolmentStatus.ACTIVE.value,
               User.is_disabled.is_(False), User.wants_reminders.is_(True))).all()


def _queue(key: str, email: str, subject: str, template: str, due: datetime, expires: datetime | None,
           now: datetime, **context) -> int:
    context.update(programme_name=current_app.config["PROGRAMME_NAME"], settings=absolute_url("auth.settings"))
    return int(queue_email(key=key, recipient=email, subject=subject, category="reminder", due_at=max(due, now),
                           expires_at=expires,
                           body_text=render_template(f"evaluation/email/{template}.txt", **context),
                           body_html=render_template(f"evaluation/email/{template}.html", **context)))


def plan_feedback_requests(now: datetime) -> int:
    earliest = now - CATCH_UP - REQUEST_AFTER - FOLLOW_UP_AFTER
    sessions = db.session.scalars(
        select(ProgrammeSession).join(Cohort)
        .where(ProgrammeSession.status == SessionStatus.SCHEDULED.value, ProgrammeSession.ends_at >= earliest,
               ProgrammeSession.ends_at <= now + HORIZON, Cohort.status != CohortStatus.COMPLETED.value)
        .order_by(ProgrammeSession.ends_at)).all()
    written = 0
    for session in sessions:
        if not settings_for(session.cohort_id)[session.kind].enabled:
            continue
        due = {"request": session.ends_at + REQUEST_AFTER,
               "follow-up": session.ends_at + REQUEST_AFTER + FOLLOW_UP_AFTER}
        due = {kind: at for kind, at in due.items() if now - CATCH_UP <= at <= now + HORIZON}
        if not due:
            continue
        answered = set(db.session.scalars(select(FeedbackReceipt.enrolment_id).where(
            FeedbackReceipt.session_id == session.id)))
        away = set(db.session.scalars(select(Attendance.enrolment_id).where(
            Attendance.session_id == session.id,
            Attendance.status.in_([AttendanceStatus.ABSENT.value, AttendanceStatus.APOLOGIES.value]))))
        link = absolute_url("evaluation.give", session_id=session.id)
        closes = session.ends_at + FEEDBACK_WINDOW
        for enrolment_id, user_id, name, email in _people(session.cohort_id):
            if enrolment_id in answered or enrolment_id in away:
                continue
            for kind, at in due.items():
                subject = (f"How was {session.title}?" if kind == "request"
                           else f"A reminder: your feedback on {session.title}")
                written += _queue(f"feedback-{kind}:{session.id}:{user_id}", email, subject, "feedback_request", at,
                                  closes, now, name=name, session=session, cohort=session.cohort, link=link,
                                  follow_up=kind == "follow-up", closes=closes)
    return written


def first_monday(year: int, month: int) -> date:
    day = date(year, month, 1)
    return day + timedelta(days=(7 - day.weekday()) % 7)


def _cop_due_dates(now: datetime) -> list[date]:
    today = clock.to_local(now).date()
    dates = []
    for offset in (-1, 0, 1):
        month_index = today.year * 12 + today.month - 1 + offset
        dates.append(first_monday(month_index // 12, month_index % 12 + 1))
    return dates


def plan_cop_reminders(now: datetime) -> int:
    written = 0
    for day in _cop_due_dates(now):
        due = clock.local_instant(day, COP_REMINDER_AT)
        if not now - CATCH_UP <= due <= now + HORIZON:
            continue
        cohorts = db.session.scalars(select(Cohort).where(
            Cohort.status == CohortStatus.RUNNING.value, Cohort.starts_on <= day - timedelta(days=30))).all()
        for cohort in cohorts:
            last_session = db.session.scalar(select(func.max(ProgrammeSession.ends_at)).where(
                ProgrammeSession.cohort_id == cohort.id))
            if last_session is None or due > last_session:
                continue
            last_met = dict(db.session.execute(
                select(ParticipantCommunity.enrolment_id, func.max(CommunityMeeting.held_on))
                .join(CommunityMeeting, CommunityMeeting.community_id == ParticipantCommunity.id, isouter=True)
                .join(Enrolment, Enrolment.id == ParticipantCommunity.enrolment_id)
                .where(Enrolment.cohort_id == cohort.id).group_by(ParticipantCommunity.enrolment_id)).all())
            link = absolute_url("evaluation.my_community", cohort_id=cohort.id)
            for enrolment_id, user_id, name, email in _people(cohort.id):
                met = last_met.get(enrolment_id)
                if met is not None and met > day - timedelta(days=COP_QUIET_DAYS):
                    continue
                written += _queue(f"cop-meetings:{user_id}:{cohort.id}:{day.isoformat()}", email,
                                  "Log your community of practice's meetings", "cop_reminder", due,
                                  due + timedelta(days=14), now, name=name, cohort=cohort, link=link,
                                  described=enrolment_id in last_met, last_met=met)
    return written
