"""Reminders to a community's people before a planned meeting, by the reminder rules.

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
from app.communities.models import Community, CommunityMeeting, CommunityMembership, MeetingStatus
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


# This domain's reminder rules, registered with the programme's at start-up (create_app).
REMINDER_RULES = (
    Rule(RULE_KEY, "Community meeting coming up", "Each community's conveners and members",
         days=(2,), at=time(9, 0), days_text="before a planned meeting", at_text="at", max_offsets=2, max_day=14,
         cancel=cancel_meeting_reminders, order=85),
)
