"""Reminders to a community's people before a planned meeting, and feedback requests after one, by the
reminder rules; and the release of held-back anonymous feedback when a meeting's feedback closes.

A community of a cohort follows that cohort's setting of the rule; a community without a cohort
follows the rule's default. Only planned meetings with a start time are reminded of; changing the
meeting's time or status cancels what was written, and the next pass writes it again.
"""

from __future__ import annotations

from datetime import datetime, time, timedelta

from flask import current_app, render_template
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from app import clock
from app.communities.feedback_models import CommunityFeedbackReceipt
from app.communities.models import Community, CommunityMeeting, CommunityMembership, MeetingStatus
from app.communities.services import feedback
from app.db import db
from app.notifications.services import cancel_pending_any, queue_email
from app.programme.reminder_rules import RULES, Rule, rules_for
from app.urls import absolute_url

RULE_KEY = "community_meeting"
HORIZON = timedelta(days=8)
KEY_PREFIX = "community-meeting"


def plan_community_meeting_reminders(now: datetime) -> int:
    rule = RULES.get(RULE_KEY)
    if rule is None:
        return 0
    lead = timedelta(days=max(rule.max_day, 1))
    meetings = list(db.session.scalars(
        select(CommunityMeeting).where(CommunityMeeting.status == MeetingStatus.PLANNED.value,
                                       CommunityMeeting.starts_at.is_not(None), CommunityMeeting.starts_at > now,
                                       CommunityMeeting.starts_at <= now + HORIZON + lead)
        .options(selectinload(CommunityMeeting.community).selectinload(Community.memberships)
                 .selectinload(CommunityMembership.user))))
    settings = rules_for(m.community.cohort_id for m in meetings if m.community.cohort_id is not None)
    written = 0
    for meeting in meetings:
        community = meeting.community
        setting = settings[community.cohort_id][RULE_KEY] if community.cohort_id is not None else rule.default
        if not setting.enabled:
            continue
        day = clock.to_local(meeting.starts_at).date()
        for days in setting.days:
            due = clock.local_instant(day - timedelta(days=days), setting.at or time(9, 0))
            if due >= meeting.starts_at or not (setting.earliest(now) <= due <= now + HORIZON):
                continue
            for membership in community.memberships:
                user = membership.user
                if not user.wants_reminders or user.is_disabled:
                    continue
                context = dict(name=user.name, community=community, meeting=meeting,
                               link=absolute_url("communities.meeting", community_id=community.id,
                                                 meeting_id=meeting.id),
                               ics=absolute_url("communities.meeting_ics", community_id=community.id,
                                                meeting_id=meeting.id),
                               settings=absolute_url("auth.settings"),
                               programme_name=current_app.config["PROGRAMME_NAME"])
                written += queue_email(
                    key=f"{KEY_PREFIX}:{meeting.id}:{meeting.sequence}:{user.id}:{days}{setting.key_suffix}",
                    recipient=user.email, subject=f"Coming up: {community.name} meets on "
                                                  f"{clock.to_local(meeting.starts_at):%-d %B}",
                    category="reminder", body_text=render_template("communities/email/meeting_reminder.txt", **context),
                    body_html=render_template("communities/email/meeting_reminder.html", **context),
                    due_at=max(due, now), expires_at=meeting.starts_at, cohort_id=community.cohort_id)
    return written


def cancel_meeting_reminders(cohort_id: int, _before, _after) -> int:
    """The cohort's rule changed: cancel the pending reminders of its communities' meetings."""
    meeting_ids = db.session.scalars(select(CommunityMeeting.id).join(Community).where(Community.cohort_id == cohort_id))
    return cancel_pending_any([f"{KEY_PREFIX}:{meeting_id}:" for meeting_id in meeting_ids])


FEEDBACK_RULE_KEY = "community_feedback"


def plan_community_feedback_requests(now: datetime) -> int:
    """A request (and one follow-up) to each person the register shows present at a meeting whose feedback
    is open and who has not answered. A request is written once per person (its key), however late the
    register was taken; someone the register no longer shows present has theirs withdrawn."""
    rule = RULES.get(FEEDBACK_RULE_KEY)
    if rule is None:
        return 0
    meetings = feedback.meetings_with_feedback_open(now)
    settings = rules_for(m.community.cohort_id for m in meetings if m.community.cohort_id is not None)
    forms = feedback.settings_by_community(m.community_id for m in meetings)
    members = {row.user_id: row.user for row in db.session.scalars(
        select(CommunityMembership).where(CommunityMembership.community_id.in_({m.community_id for m in meetings}
                                                                                or {-1}))
        .options(selectinload(CommunityMembership.user)))}
    answered = {(meeting_id, user_id) for meeting_id, user_id in db.session.execute(
        select(CommunityFeedbackReceipt.meeting_id, CommunityFeedbackReceipt.user_id)
        .where(CommunityFeedbackReceipt.meeting_id.in_([m.id for m in meetings] or [-1])))}
    written = 0
    for meeting in meetings:
        community = meeting.community
        setting = (settings[community.cohort_id][FEEDBACK_RULE_KEY] if community.cohort_id is not None
                   else rule.default)
        present = feedback.present_ids(meeting)
        away = [row.user_id for row in meeting.register if row.user_id not in present]
        if away:
            cancel_pending_any([f"{feedback.KEY_PREFIX}:{meeting.id}:{user_id}:" for user_id in away],
                               reason="the register no longer shows them present")
        if (not setting.enabled or not forms[meeting.community_id].is_enabled
                or feedback.window_state(meeting, now) != "open"):
            continue
        request_at = feedback.opens_at(meeting) + timedelta(hours=setting.hours or 0)
        due = {"request": request_at}
        if setting.days:
            due["follow-up"] = request_at + timedelta(days=setting.days[0])
        # Never a reminder due before the rule last changed (it was sent, or chosen not to be, then).
        due = {kind: at for kind, at in due.items()
               if at <= now + HORIZON and (setting.changed_at is None or at >= setting.changed_at)
               and (kind == "request" or at >= setting.earliest(now))}
        closes = feedback.closes_at(meeting)
        link = absolute_url("communities.give_feedback", community_id=community.id, meeting_id=meeting.id)
        for user_id in sorted(present):
            user = members.get(user_id)
            if user is None or (meeting.id, user_id) in answered or not user.wants_reminders or user.is_disabled:
                continue
            for kind, at in due.items():
                context = dict(name=user.name, community=community, meeting=meeting, link=link, closes=closes,
                               follow_up=kind == "follow-up", settings=absolute_url("auth.settings"),
                               programme_name=current_app.config["PROGRAMME_NAME"])
                subject = (f"How was the {community.name} meeting?" if kind == "request"
                           else f"A reminder: your feedback on the {community.name} meeting")
                written += queue_email(
                    key=f"{feedback.KEY_PREFIX}:{meeting.id}:{user_id}:{kind}{setting.key_suffix}",
                    recipient=user.email, subject=subject, category="reminder",
                    body_text=render_template("communities/email/feedback_request.txt", **context),
                    body_html=render_template("communities/email/feedback_request.html", **context),
                    due_at=max(at, now), expires_at=closes, cohort_id=community.cohort_id)
    return written


def cancel_feedback_requests(cohort_id: int, _before, _after) -> int:
    """The cohort's rule changed: cancel the pending feedback requests of its communities' meetings."""
    meeting_ids = db.session.scalars(select(CommunityMeeting.id).join(Community).where(Community.cohort_id == cohort_id))
    return cancel_pending_any([f"{feedback.KEY_PREFIX}:{meeting_id}:" for meeting_id in meeting_ids])


def release_community_feedback(now: datetime) -> int:
    """Job: write out the held-back anonymous answers of meetings whose feedback has closed."""
    return feedback.release_due(now)


# This domain's reminder rules, registered with the programme's at start-up (create_app).
REMINDER_RULES = (
    Rule(RULE_KEY, "Community meeting coming up", "Each community's conveners and members",
         days=(2,), at=time(9, 0), days_text="before a planned meeting", at_text="at", max_offsets=2, max_day=14,
         cancel=cancel_meeting_reminders, order=85),
    Rule(FEEDBACK_RULE_KEY, "Feedback on a community meeting", "People the register shows present",
         hours=1, days=(3,), days_text="later, one follow-up if not given", max_offsets=1, max_day=14,
         cancel=cancel_feedback_requests, order=86),
)
