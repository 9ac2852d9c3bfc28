"""Co-consulting reminders: the morning of each session (08:00 by default, per cohort), the process and who presents."""

from __future__ import annotations

from datetime import datetime, time, timedelta

from flask import current_app, render_template
from sqlalchemy import select

from app import clock
from app.db import db
from app.groups.models import CaseRota, CoConsultingGroup
from app.notifications.services import queue_email
from app.programme.models import Cohort, ProgrammeSession, SessionStatus
from app.programme.reminder_rules import Rule, rules_for
from app.urls import absolute_url

HORIZON = timedelta(days=8)


def plan_group_reminders(now: datetime) -> int:
    rows = db.session.execute(
        select(CaseRota, CoConsultingGroup, ProgrammeSession, Cohort)
        .join(CoConsultingGroup, CoConsultingGroup.id == CaseRota.group_id)
        .join(ProgrammeSession, ProgrammeSession.id == CaseRota.session_id)
        .join(Cohort, Cohort.id == CoConsultingGroup.cohort_id)
        .where(ProgrammeSession.status == SessionStatus.SCHEDULED.value, ProgrammeSession.starts_at > now,
               ProgrammeSession.starts_at <= now + HORIZON + timedelta(days=1))).all()
    steps = current_app.extensions["convene_content"].co_consulting_steps
    rules = rules_for(cohort.id for *_, cohort in rows)
    written = 0
    for rota, group, session, cohort in rows:
        setting = rules[cohort.id]["co_consulting_morning"]
        if not setting.enabled:
            continue
        due = clock.local_instant(clock.to_local(session.starts_at, cohort.timezone).date(), setting.at, cohort.timezone)
        if due >= session.starts_at or not (setting.earliest(now) <= due <= now + HORIZON):
            continue
        names = {m.enrolment_id: m.enrolment.user.name for m in group.memberships}
        for membership in group.memberships:
            user = membership.enrolment.user
            if not user.wants_reminders or user.is_disabled:
                continue
            context = dict(name=user.name, group=group, session=session, cohort=cohort, steps=steps,
                           presenter=names.get(rota.presenter_id, "to be agreed"),
                           timekeeper=names.get(rota.timekeeper_id, "to be agreed"),
                           link=absolute_url("groups.runner", group_id=group.id, session_id=session.id),
                           settings=absolute_url("auth.settings"), programme_name=current_app.config["PROGRAMME_NAME"])
            written += queue_email(
                key=f"group-reminder:{session.id}:{session.sequence}:{group.id}:{membership.enrolment_id}"
                    f"{setting.key_suffix}",
                recipient=user.email, subject=f"Today: {session.title} with {group.name}", category="reminder",
                body_text=render_template("groups/email/morning.txt", **context),
                body_html=render_template("groups/email/morning.html", **context),
                due_at=max(due, now), expires_at=session.starts_at, cohort_id=cohort.id)
    return written


# This domain's reminder rules, registered with the programme's at start-up (create_app).
REMINDER_RULES = (
    Rule("co_consulting_morning", "Co-consulting: the process and who presents", "Each co-consulting group",
         at=time(8, 0), at_text="on the morning of the session, at", session_keys=("group-reminder",), order=60),
)
