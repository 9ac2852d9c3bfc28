"""Evaluation reminders: feedback after each session, and a monthly nudge to log CoP meetings.

Timings are the cohort's reminder rules (`feedback_request`, `cop_meetings`; defaults below).
Feedback: a request 1 hour after a session ends and one follow-up 3 days later, to participants
who were there (or where no register was taken) and have not answered; giving feedback cancels
the follow-up. Both expire when the feedback window closes. CoP meetings: every 30 days from the
cohort's start (a weekend moves to the Monday), at 09:00 UK time, participants whose community
has logged no meeting in the last 60 days are reminded; logging one cancels a pending reminder.
Keys end with the rule's revision, so a changed rule writes fresh rows.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta

from flask import current_app, render_template
from sqlalchemy import func, select

from app import clock
from app.auth.models import User
from app.communities.jobs import release_community_feedback
from app.communities.models import Community, CommunityMeeting, CommunityMembership, MeetingStatus, MembershipRole
from app.db import db
from app.evaluation import anonymity
from app.evaluation.feedback import FEEDBACK_WINDOW, invited, settings_for
from app.evaluation.models import ClosureReason, FeedbackClosure, FeedbackReceipt, SealedFeedback
from app.notifications.services import CATCH_UP, cancel_pending, cancel_pending_any, queue_email
from app.programme.models import Cohort, CohortStatus, Enrolment, EnrolmentStatus, ProgrammeSession, SessionStatus
from app.programme.reminder_rules import Rule, enabled_rules
from app.urls import absolute_url

HORIZON = timedelta(days=8)
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
                           expires_at=expires, cohort_id=context["cohort"].id,
                           body_text=render_template(f"evaluation/email/{template}.txt", **context),
                           body_html=render_template(f"evaluation/email/{template}.html", **context)))


def plan_feedback_requests(now: datetime) -> int:
    """Requests (and a follow-up) to everyone who could answer an ended session and has not.

    Keys carry the session's sequence, so a moved session's requests are new rows at its new end;
    its old ones were cancelled when it changed (`on_session_changed`). A pass also cancels pending
    requests of people the register now shows away, and of sessions whose feedback has closed.
    """
    rules = enabled_rules("feedback_request")
    if not rules:
        return 0
    longest = max(timedelta(hours=r.hours or 0) + r.lead for r in rules.values())
    sessions = db.session.scalars(
        select(ProgrammeSession)
        .where(ProgrammeSession.cohort_id.in_(rules), ProgrammeSession.status == SessionStatus.SCHEDULED.value,
               ProgrammeSession.ends_at >= now - CATCH_UP - longest, ProgrammeSession.ends_at <= now + HORIZON,
               ~ProgrammeSession.id.in_(select(FeedbackClosure.session_id)))
        .order_by(ProgrammeSession.ends_at)).all()
    may_answer = invited([s.id for s in sessions])
    written = 0
    for session in sessions:
        rule = rules[session.cohort_id]
        if not settings_for(session.cohort_id)[session.kind].enabled:
            continue
        request_at = session.ends_at + timedelta(hours=rule.hours or 0)
        due = {"request": request_at}
        if rule.days:
            due["follow-up"] = request_at + timedelta(days=rule.days[0])
        due = {kind: at for kind, at in due.items() if rule.earliest(now) <= at <= now + HORIZON}
        if not due:
            continue
        answered = set(db.session.scalars(select(FeedbackReceipt.enrolment_id).where(
            FeedbackReceipt.session_id == session.id)))
        link = absolute_url("evaluation.give", session_id=session.id)
        closes = session.ends_at + FEEDBACK_WINDOW
        people = _people(session.cohort_id)
        away = [user_id for enrolment_id, user_id, _n, _e in people if enrolment_id not in may_answer[session.id]]
        if session.ends_at <= now:  # the register is final once the session is over: their requests go
            cancel_pending_any([f"feedback-{kind}:{session.id}:{user_id}:" for user_id in away
                                for kind in ("request", "follow-up")])
        for enrolment_id, user_id, name, email in people:
            if enrolment_id in answered or user_id in away:
                continue
            for kind, at in due.items():
                subject = (f"How was {session.title}?" if kind == "request"
                           else f"A reminder: your feedback on {session.title}")
                written += _queue(f"feedback-{kind}:{session.id}:{user_id}:s{session.sequence}:{rule.revision}",
                                  email, subject, "feedback_request", at, closes, now, name=name, session=session,
                                  cohort=session.cohort, link=link, follow_up=kind == "follow-up", closes=closes)
    return written


def on_session_changed(session: ProgrammeSession, *, now: datetime, was_starting_at: datetime) -> None:
    """Subscribed to programme's `session_changed`: feedback requests planned for the session's old
    end (or for a session that will not happen) are cancelled; the next pass plans them again at
    its new end, and a cancelled session's held-back answers are released by `release_feedback`."""
    cancel_pending(f"feedback-request:{session.id}:")
    cancel_pending(f"feedback-follow-up:{session.id}:")


def release_feedback(now: datetime) -> int:
    """Job: release the held-back answers of every session whose feedback has closed by time or
    whose session was cancelled or marked as not held. Returns how many answers were released."""
    pending = db.session.execute(
        select(ProgrammeSession.id, ProgrammeSession.ends_at, ProgrammeSession.status)
        .where(ProgrammeSession.id.in_(select(SealedFeedback.session_id).distinct()))).all()
    released = 0
    for session_id, ends_at, status in pending:
        if status != SessionStatus.SCHEDULED:
            released += anonymity.release(session_id, now=now, reason=ClosureReason.SESSION_WITHDRAWN)
        elif now > ends_at + FEEDBACK_WINDOW:
            released += anonymity.release(session_id, now=now, reason=ClosureReason.WINDOW_ENDED)
    return released


def release_all_feedback(now: datetime) -> int:
    """Job and `flask feedback release`: held-back anonymous answers whose feedback has closed, of the
    programme's sessions and of community meetings."""
    return release_feedback(now) + release_community_feedback(now)


def cop_due_dates(starts_on: date, every_days: int, first: date, last: date) -> list[date]:
    """Every `every_days` from the cohort's start (a weekend moves to the Monday), between two dates."""
    dates = []
    k = max(1, (first - starts_on).days // every_days - 1)
    while (day := starts_on + timedelta(days=k * every_days)) <= last + timedelta(days=2):
        day += timedelta(days=(7 - day.weekday()) % 7 if day.weekday() >= 5 else 0)
        if first <= day <= last:
            dates.append(day)
        k += 1
    return dates


def plan_cop_reminders(now: datetime) -> int:
    rules = enabled_rules("cop_meetings")
    if not rules:
        return 0
    written = 0
    cohorts = db.session.scalars(select(Cohort).where(Cohort.id.in_(rules),
                                                      Cohort.status == CohortStatus.RUNNING.value)).all()
    for cohort in cohorts:
        rule = rules[cohort.id]
        tz = cohort.timezone
        first = clock.to_local(rule.earliest(now), tz).date()
        last = clock.to_local(now + HORIZON, tz).date()
        days = [d for d in cop_due_dates(cohort.starts_on, rule.every_days or 30, first, last)
                if rule.earliest(now) <= clock.local_instant(d, COP_REMINDER_AT, tz) <= now + HORIZON]
        last_session = db.session.scalar(select(func.max(ProgrammeSession.ends_at)).where(
            ProgrammeSession.cohort_id == cohort.id))
        days = [d for d in days if last_session is not None and clock.local_instant(d, COP_REMINDER_AT, tz) < last_session]
        if not days:
            continue
        quiet = timedelta(days=rule.days[0] if rule.days else 60)
        # Enrolments whose participant convenes a community of the cohort, with its last held meeting (or None).
        last_met = dict(db.session.execute(
            select(Enrolment.id, func.max(CommunityMeeting.meets_on))
            .join(CommunityMembership, (CommunityMembership.user_id == Enrolment.user_id)
                  & (CommunityMembership.role == MembershipRole.CONVENER.value))
            .join(Community, (Community.id == CommunityMembership.community_id) & (Community.cohort_id == cohort.id))
            .join(CommunityMeeting, (CommunityMeeting.community_id == Community.id)
                  & (CommunityMeeting.status == MeetingStatus.HELD.value), isouter=True)
            .where(Enrolment.cohort_id == cohort.id).group_by(Enrolment.id)).all())
        link = absolute_url("evaluation.my_community", cohort_id=cohort.id)
        people = _people(cohort.id)
        for day in days:
            due = clock.local_instant(day, COP_REMINDER_AT, tz)
            for enrolment_id, user_id, name, email in people:
                met = last_met.get(enrolment_id)
                if met is not None and met > day - quiet:
                    continue
                written += _queue(f"cop-meetings:{user_id}:{cohort.id}:{day.isoformat()}:{rule.revision}", email,
                                  "Log your community of practice's meetings", "cop_reminder", due,
                                  due + timedelta(days=14), now, name=name, cohort=cohort, link=link,
                                  described=enrolment_id in last_met, last_met=met, quiet_days=quiet.days)
    return written


def cancel_cop_reminders(cohort_id: int, _before, _after) -> int:
    """The cohort's CoP rule changed: cancel its pending reminders (the next pass plans them again)."""
    users = db.session.scalars(select(Enrolment.user_id).where(Enrolment.cohort_id == cohort_id))
    return cancel_pending_any([f"cop-meetings:{user_id}:{cohort_id}:" for user_id in users])


# This domain's reminder rules, registered with the programme's at start-up (create_app).
REMINDER_RULES = (
    Rule("feedback_request", "Feedback on a session", "Participants",
         hours=1, days=(3,), days_text="later, one follow-up if not given", max_offsets=1, max_day=14,
         session_keys=("feedback-request", "feedback-follow-up"), order=70),
    Rule("cop_meetings", "Log your community of practice meetings", "Participants",
         every_days=30, days=(60,), days_text="without a meeting logged (at 09:00 UK time; a weekend moves to the Monday)",
         max_offsets=1, max_day=365,
         cancel=cancel_cop_reminders, order=80),
)
